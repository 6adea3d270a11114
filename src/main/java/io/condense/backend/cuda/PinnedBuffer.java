package io.condense.backend.cuda;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.cuda.global.cudart;

/** Page-locked host memory (cudaMallocHost), so that copies can run asynchronously at full PCIe speed. */
public final class PinnedBuffer implements AutoCloseable {
    private final BytePointer ptr;
    private final long bytes;
    private boolean closed;

    public PinnedBuffer(long bytes) {
        CudaRuntime.require();
        this.bytes = bytes;
        BytePointer p = new BytePointer();
        CudaRuntime.check("cudaMallocHost(" + bytes + ")", cudart.cudaMallocHost(p, Math.max(bytes, 1)));
        this.ptr = p.capacity(bytes);
    }

    public BytePointer pointer() {
        if (closed) throw new IllegalStateException("pinned buffer is closed");
        return ptr;
    }

    public long bytes() { return bytes; }

    public void put(float[] a) { pointer().position(0); new org.bytedeco.javacpp.FloatPointer(ptr).put(a); }

    public void get(float[] a) { new org.bytedeco.javacpp.FloatPointer(pointer()).get(a); }

    public void put(byte[] a) { pointer().position(0).put(a); }

    public void get(byte[] a) { pointer().position(0).get(a); }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        CudaRuntime.check("cudaFreeHost", cudart.cudaFreeHost(ptr));
    }
}
