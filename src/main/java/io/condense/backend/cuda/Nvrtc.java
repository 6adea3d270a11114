package io.condense.backend.cuda;

import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/** Run-time compilation (NVRTC) of CUDA C++ to a cubin: the alternative to the prebuilt fatbins. */
public final class Nvrtc {
    private Nvrtc() {}

    /** Compiles {@code source} for {@code arch} ("sm_90"); throws {@link CudaException} with the compiler log on error. */
    public static byte[] compileToCubin(String name, String source, String arch, String... options) {
        try {
            Loader.load(nvrtc.class);
        } catch (Throwable t) {
            throw new CudaException("NVRTC is not available: " + CudaRuntime.explainLoadFailure(t));
        }
        _nvrtcProgram prog = new _nvrtcProgram();
        check("nvrtcCreateProgram", nvrtc.nvrtcCreateProgram(prog, new BytePointer(source), new BytePointer(name), 0,
                (PointerPointer<?>) null, (PointerPointer<?>) null));
        try {
            String[] opts = new String[options.length + 2];
            opts[0] = "--gpu-architecture=" + arch;
            opts[1] = "--std=c++17";
            System.arraycopy(options, 0, opts, 2, options.length);
            int rc;
            try (PointerPointer<BytePointer> o = new PointerPointer<>(opts)) {
                rc = nvrtc.nvrtcCompileProgram(prog, opts.length, o);
            }
            if (rc != 0) {
                throw new CudaException("NVRTC could not compile " + name + " for " + arch + ": "
                        + nvrtc.nvrtcGetErrorString(rc).getString() + "\n" + log(prog));
            }
            try (SizeTPointer size = new SizeTPointer(1)) {
                check("nvrtcGetCUBINSize", nvrtc.nvrtcGetCUBINSize(prog, size));
                byte[] cubin = new byte[(int) size.get()];
                check("nvrtcGetCUBIN", nvrtc.nvrtcGetCUBIN(prog, cubin));
                return cubin;
            }
        } finally {
            nvrtc.nvrtcDestroyProgram(prog);
        }
    }

    private static String log(_nvrtcProgram prog) {
        try (SizeTPointer size = new SizeTPointer(1)) {
            if (nvrtc.nvrtcGetProgramLogSize(prog, size) != 0) return "";
            byte[] b = new byte[(int) size.get()];
            nvrtc.nvrtcGetProgramLog(prog, b);
            int n = b.length > 0 && b[b.length - 1] == 0 ? b.length - 1 : b.length;
            return new String(b, 0, n, java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    private static void check(String call, int rc) {
        if (rc != 0) throw new CudaException(call, rc, nvrtc.nvrtcGetErrorString(rc).getString());
    }
}
