package io.condense.backend.cuda;

import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;

/**
 * A CUDA stream; {@link #close()} synchronizes and destroys it. {@code new CudaStream()} is non-blocking (no implicit
 * ordering with the legacy default stream); {@code new CudaStream(true)} is blocking, so plain cudaMemcpy calls
 * (legacy default stream) are ordered with the work queued on it.
 */
public final class CudaStream implements AutoCloseable {
    private final CUstream_st handle;
    private boolean closed;

    public CudaStream() { this(false); }

    public CudaStream(boolean blocking) {
        CudaRuntime.require();
        handle = new CUstream_st();
        CudaRuntime.check("cudaStreamCreateWithFlags", cudart.cudaStreamCreateWithFlags(handle,
                blocking ? cudart.cudaStreamDefault : cudart.cudaStreamNonBlocking));
    }

    public CUstream_st handle() {
        if (closed) throw new IllegalStateException("stream is closed");
        return handle;
    }

    public void synchronize() { CudaRuntime.check("cudaStreamSynchronize", cudart.cudaStreamSynchronize(handle())); }

    @Override
    public void close() {
        if (closed) return;
        try {
            CudaRuntime.check("cudaStreamSynchronize", cudart.cudaStreamSynchronize(handle));
        } finally {
            closed = true;
            CudaRuntime.check("cudaStreamDestroy", cudart.cudaStreamDestroy(handle));
        }
    }
}
