package io.condense.backend.cuda;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds and loads the prebuilt fatbins of cuda-kernels/ (built by cuda-kernels/build.sh into target/cuda-kernels).
 * Looked up in: -Dcondense.cuda.kernels=DIR, $CONDENSE_CUDA_KERNELS, ./target/cuda-kernels, ./cuda-kernels-bin.
 * Without fatbins, the sources ({@code -Dcondense.cuda.sources=DIR} or ./cuda-kernels) are compiled with NVRTC
 * for the current device instead. Modules are loaded once per process into the current device's primary context.
 */
public final class CudaKernels {
    private CudaKernels() {}

    public static final List<String> MODULES = List.of("elementwise", "fakequant", "calib", "quant", "sparse24", "int8_gemm");
    private static final Map<String, CudaModule> LOADED = new HashMap<>();

    /** The directory holding the fatbins, or null when none of the candidates has elementwise.fatbin. */
    public static Path directory() {
        String p = System.getProperty("condense.cuda.kernels", System.getenv("CONDENSE_CUDA_KERNELS"));
        List<Path> candidates = p != null ? List.of(Path.of(p))
                : List.of(Path.of("target", "cuda-kernels"), Path.of("cuda-kernels-bin"));
        for (Path c : candidates) if (Files.isRegularFile(c.resolve("elementwise.fatbin"))) return c.toAbsolutePath();
        return null;
    }

    /** The directory holding the .cu sources (for NVRTC), or null. */
    public static Path sourceDirectory() {
        Path p = Path.of(System.getProperty("condense.cuda.sources", "cuda-kernels"));
        return Files.isRegularFile(p.resolve("elementwise.cu")) && Files.isRegularFile(p.resolve("common.cuh")) ? p.toAbsolutePath() : null;
    }

    /** Why the kernels cannot be used, or "" when fatbins (or sources for NVRTC) are found. */
    public static String missingReason() {
        return directory() != null || sourceDirectory() != null ? ""
                : "CUDA kernels not found (run cuda-kernels/build.sh, or set -Dcondense.cuda.kernels=DIR)";
    }

    /** Compiles cuda-kernels/{name}.cu with NVRTC for {@code device} (the run-time alternative to the fatbins). */
    public static byte[] compileWithNvrtc(String name, Path sources, CudaDevice device) {
        Path f = sources.resolve(name + ".cu");
        try {
            return Nvrtc.compileToCubin(name + ".cu", Files.readString(f), device.arch(), "--include-path=" + sources.toAbsolutePath());
        } catch (java.io.IOException e) {
            throw new CudaException("cannot read " + f + ": " + e.getMessage());
        }
    }

    public static synchronized CudaModule module(String name) {
        CudaModule m = LOADED.get(name);
        if (m == null) {
            Path dir = directory();
            if (dir != null) {
                Path f = dir.resolve(name + ".fatbin");
                if (!Files.isRegularFile(f)) throw new CudaException("CUDA kernel module " + f + " is missing");
                m = CudaModule.load(f);
            } else {
                Path src = sourceDirectory();
                if (src == null) throw new CudaException(missingReason());
                CudaRuntime.ensureContext();
                int[] dev = new int[1];
                CudaRuntime.check("cudaGetDevice", org.bytedeco.cuda.global.cudart.cudaGetDevice(dev));
                m = CudaModule.load(name + ".cu (NVRTC)", compileWithNvrtc(name, src, CudaRuntime.devices().get(dev[0])));
            }
            LOADED.put(name, m);
        }
        return m;
    }
}
