package io.condense.backend.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.BytePointer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A loaded CUDA module (fatbin, cubin or PTX image) through the driver API: cuModuleLoadData,
 * cuModuleGetFunction, cuLaunchKernel. Functions are looked up once and cached by name.
 */
public final class CudaModule implements AutoCloseable {
    private final String label;
    private final CUmod_st module;
    private final Map<String, CUfunc_st> functions = new HashMap<>();
    private boolean closed;

    private CudaModule(String label, CUmod_st module) {
        this.label = label;
        this.module = module;
    }

    /** Loads an image: fatbin/cubin bytes, or NUL-terminated PTX text (the driver JIT-compiles PTX). */
    public static CudaModule load(String label, byte[] image) {
        CudaRuntime.ensureContext();
        CUmod_st m = new CUmod_st();
        try (BytePointer p = nulTerminated(image)) {
            CudaRuntime.checkDriver("cuModuleLoadData(" + label + ")", cudart.cuModuleLoadData(m, p));
        }
        return new CudaModule(label, m);
    }

    /** The image in native memory with a NUL after it (PTX text must be NUL-terminated; harmless for binaries). */
    static BytePointer nulTerminated(byte[] image) {
        BytePointer p = new BytePointer(image.length + 1L);
        p.position(0).put(image);
        p.put((long) image.length, (byte) 0);
        return p.position(0);
    }

    public static CudaModule load(Path file) {
        try {
            return load(file.getFileName().toString(), Files.readAllBytes(file));
        } catch (IOException e) {
            throw new CudaException("cannot read CUDA module " + file + ": " + e.getMessage());
        }
    }

    /** Compiles CUDA C++ source with NVRTC for the current device and loads it. */
    public static CudaModule compile(String label, String source, CudaDevice device, String... options) {
        return load(label, Nvrtc.compileToCubin(label, source, device.arch(), options));
    }

    public synchronized CUfunc_st function(String name) {
        if (closed) throw new IllegalStateException("module " + label + " is closed");
        return functions.computeIfAbsent(name, n -> {
            CUfunc_st f = new CUfunc_st();
            CudaRuntime.checkDriver("cuModuleGetFunction(" + label + ", " + n + ")", cudart.cuModuleGetFunction(f, module, n));
            return f;
        });
    }

    /** Launches {@code kernel} with {@code cfg} on {@code stream} (null = legacy default stream). */
    public void launch(String kernel, LaunchConfig cfg, CudaStream stream, KernelArgs args) {
        CudaRuntime.ensureContext();
        CUfunc_st f = function(kernel);
        if (cfg.sharedBytes() > 48 * 1024) {
            CudaRuntime.checkDriver("cuFuncSetAttribute(" + kernel + ")", cudart.cuFuncSetAttribute(f,
                    cudart.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, cfg.sharedBytes()));
        }
        CudaRuntime.checkDriver("cuLaunchKernel(" + label + "." + kernel + args.signature() + ")",
                cudart.cuLaunchKernel(f, cfg.gridX(), cfg.gridY(), 1, cfg.block(), 1, 1, cfg.sharedBytes(),
                        stream == null ? null : stream.handle(), args.pack(), null));
        if (Boolean.getBoolean("condense.cuda.sync")) { // debugging: surface asynchronous faults at the launch that caused them
            CudaRuntime.check("cudaDeviceSynchronize after " + kernel, cudart.cudaDeviceSynchronize());
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        CudaRuntime.checkDriver("cuModuleUnload(" + label + ")", cudart.cuModuleUnload(module));
    }
}
