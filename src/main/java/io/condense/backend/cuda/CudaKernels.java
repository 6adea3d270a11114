package io.condense.backend.cuda;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds and loads the prebuilt fatbins of cuda-kernels/ (built by cuda-kernels/build.sh into target/cuda-kernels).
 * Looked up in: -Dcondense.cuda.kernels=DIR, $CONDENSE_CUDA_KERNELS, ./target/cuda-kernels, ./cuda-kernels-bin.
 * Modules are loaded once per process into the current device's primary context.
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

    /** Why the kernels cannot be used, or "" when they are found. */
    public static String missingReason() {
        return directory() != null ? "" : "CUDA kernels not found (run cuda-kernels/build.sh, or set -Dcondense.cuda.kernels=DIR)";
    }

    public static synchronized CudaModule module(String name) {
        CudaModule m = LOADED.get(name);
        if (m == null) {
            Path dir = directory();
            if (dir == null) throw new CudaException(missingReason());
            Path f = dir.resolve(name + ".fatbin");
            if (!Files.isRegularFile(f)) throw new CudaException("CUDA kernel module " + f + " is missing");
            m = CudaModule.load(f);
            LOADED.put(name, m);
        }
        return m;
    }
}
