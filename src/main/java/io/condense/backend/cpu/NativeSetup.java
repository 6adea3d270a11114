package io.condense.backend.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Picks the native ND4J build before ND4J first loads: on x86-64 Linux CPUs with AVX-512F the
 * {@code -onednn-avx512} build of libnd4j (oneDNN convolutions, pooling and GEMM), otherwise the plain build.
 * An explicit {@code -Dorg.bytedeco.javacpp.platform.extension=...} (empty for the plain build) always wins.
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
        }
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
