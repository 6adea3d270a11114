package io.condense.backend.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Picks the native ND4J build before ND4J first loads: on x86-64 Linux CPUs with AVX-512F the
 * {@code -onednn-avx512} build of libnd4j (oneDNN convolutions, pooling and GEMM), otherwise the plain build.
 * An explicit {@code -Dorg.bytedeco.javacpp.platform.extension=...} (empty for the plain build) always wins.
 *
 * <p>{@code -Dcondense.cpu.threads=N} caps libnd4j's OpenMP and helper threads at N (default: ND4J's choice, one per
 * core). On a machine shared with other busy processes, N=1 avoids OpenMP threads stalling at barriers while a
 * sibling thread is descheduled (measured: a 3x3 conv at 2 ms with 1 thread vs ~100 ms with 2 on a loaded 2-core box).
 */
public final class NativeSetup {
    static final String EXTENSION_PROPERTY = "org.bytedeco.javacpp.platform.extension";
    static final String ONEDNN = "-onednn-avx512";

    private static volatile boolean done;

    private NativeSetup() {}

    /** Idempotent; call from static initializers of classes that touch ND4J first. */
    public static void init() {
        if (done) return;
        synchronized (NativeSetup.class) {
            if (done) return;
            done = true;
            try {
                if (System.getProperty(EXTENSION_PROPERTY) == null && avx512() && onednnOnClasspath()) {
                    System.setProperty(EXTENSION_PROPERTY, ONEDNN);
                }
            } catch (SecurityException ignored) {
                // keep the plain build
            }
            int threads = Integer.getInteger("condense.cpu.threads", 0);
            if (threads > 0) setThreads(threads);
        }
    }

    /** Caps libnd4j's op, OpenMP and helper threads and OpenBLAS's own pool at {@code n} (process-wide). */
    public static void setThreads(int n) {
        if (n <= 0) throw new IllegalArgumentException("threads must be positive, got " + n);
        init();
        // the ND4J backend must be up before NativeOpsHolder is touched
        org.nd4j.linalg.factory.Nd4j.getEnvironment().setMaxThreads(n);
        org.nd4j.linalg.factory.Nd4j.getEnvironment().setMaxMasterThreads(n);
        org.nd4j.nativeblas.NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(n);
        org.nd4j.linalg.factory.Nd4j.factory().blas().setMaxThreads(n); // OpenBLAS's own threads
    }

    private static volatile Boolean onednn;

    /** Whether the loaded libnd4j was built with oneDNN (loads ND4J if needed). */
    public static boolean onednnLoaded() {
        Boolean b = onednn;
        if (b == null) {
            init();
            try {
                org.nd4j.linalg.factory.Nd4j.getExecutioner();
                b = org.nd4j.nativeblas.NativeOpsHolder.getInstance().getDeviceNativeOps().buildInfo().contains("HAVE_ONEDNN");
            } catch (RuntimeException | LinkageError e) {
                b = false;
            }
            onednn = b;
        }
        return b;
    }

    /** The platform extension in force (empty for the plain build). */
    public static String extension() { return System.getProperty(EXTENSION_PROPERTY, ""); }

    static boolean avx512() {
        String os = System.getProperty("os.name", "").toLowerCase();
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) return false;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) return (" " + line + " ").contains(" avx512f ");
            }
        } catch (IOException | RuntimeException e) {
            return false;
        }
        return false;
    }

    /** Both the oneDNN libnd4j build and libdnnl must be on the class path, else loading would fail. */
    static boolean onednnOnClasspath() {
        ClassLoader cl = NativeSetup.class.getClassLoader();
        return cl.getResource("org/nd4j/linalg/cpu/nativecpu/bindings/linux-x86_64" + ONEDNN + "/libjnind4jcpu.so") != null
                && cl.getResource("org/bytedeco/dnnl/linux-x86_64/libdnnl.so.2") != null;
    }
}
