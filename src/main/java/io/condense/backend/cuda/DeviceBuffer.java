package io.condense.backend.cuda;

import org.bytedeco.javacpp.Pointer;

/**
 * A block of device memory. From {@link #allocate(long)} (plain cudaMalloc) or from a {@link PoolAllocator}
 * via {@link #pooled(PoolAllocator, long)}; {@link #close()} frees it or returns it to the pool. Idempotent.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final long address;
    private final long bytes;
    private final PoolAllocator pool;
    private boolean closed;

    private DeviceBuffer(long address, long bytes, PoolAllocator pool) {
        this.address = address;
        this.bytes = bytes;
        this.pool = pool;
    }

    /** cudaMalloc of {@code bytes} on the current device. */
    public static DeviceBuffer allocate(long bytes) {
        return new DeviceBuffer(CudaMemory.RAW.allocate(Math.max(bytes, 1)), bytes, null);
    }

    public static DeviceBuffer pooled(PoolAllocator pool, long bytes) {
        return new DeviceBuffer(pool.allocate(bytes), bytes, pool);
    }

    /** Raw device address. */
    public long address() {
        if (closed) throw new IllegalStateException("device buffer is closed");
        return address;
    }

    /** Requested size in bytes (the block may be larger). */
    public long bytes() { return bytes; }

    public Pointer pointer() { return CudaRuntime.pointer(address()); }

    public boolean isClosed() { return closed; }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (pool != null) pool.release(address);
        else CudaMemory.RAW.free(address);
    }
}
