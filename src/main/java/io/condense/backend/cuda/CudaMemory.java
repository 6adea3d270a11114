package io.condense.backend.cuda;

import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;

/** Host/device copies. Synchronous helpers copy through JavaCPP native buffers; async ones need pinned memory. */
public final class CudaMemory {
    private CudaMemory() {}

    /** cudaMalloc/cudaFree as a {@link PoolAllocator.RawAllocator}. */
    public static final PoolAllocator.RawAllocator RAW = new PoolAllocator.RawAllocator() {
        @Override
        public long allocate(long bytes) {
            CudaRuntime.require();
            Pointer p = new Pointer();
            CudaRuntime.check("cudaMalloc(" + bytes + ")", cudart.cudaMalloc(p, bytes));
            return p.address();
        }

        @Override
        public void free(long address) { CudaRuntime.check("cudaFree", cudart.cudaFree(CudaRuntime.pointer(address))); }
    };

    public static void upload(DeviceBuffer dst, float[] src) {
        need(dst, 4L * src.length);
        try (FloatPointer h = new FloatPointer(src)) {
            CudaRuntime.check("cudaMemcpy H2D", cudart.cudaMemcpy(dst.pointer(), h, 4L * src.length, cudart.cudaMemcpyHostToDevice));
        }
    }

    public static void upload(DeviceBuffer dst, byte[] src) {
        need(dst, src.length);
        try (BytePointer h = new BytePointer(src)) {
            CudaRuntime.check("cudaMemcpy H2D", cudart.cudaMemcpy(dst.pointer(), h, src.length, cudart.cudaMemcpyHostToDevice));
        }
    }

    public static void upload(DeviceBuffer dst, int[] src) {
        need(dst, 4L * src.length);
        try (IntPointer h = new IntPointer(src)) {
            CudaRuntime.check("cudaMemcpy H2D", cudart.cudaMemcpy(dst.pointer(), h, 4L * src.length, cudart.cudaMemcpyHostToDevice));
        }
    }

    public static void download(float[] dst, DeviceBuffer src) {
        need(src, 4L * dst.length);
        try (FloatPointer h = new FloatPointer(dst.length)) {
            CudaRuntime.check("cudaMemcpy D2H", cudart.cudaMemcpy(h, src.pointer(), 4L * dst.length, cudart.cudaMemcpyDeviceToHost));
            h.get(dst);
        }
    }

    public static void download(byte[] dst, DeviceBuffer src) {
        need(src, dst.length);
        try (BytePointer h = new BytePointer(dst.length)) {
            CudaRuntime.check("cudaMemcpy D2H", cudart.cudaMemcpy(h, src.pointer(), dst.length, cudart.cudaMemcpyDeviceToHost));
            h.get(dst);
        }
    }

    public static void download(int[] dst, DeviceBuffer src) {
        need(src, 4L * dst.length);
        try (IntPointer h = new IntPointer(dst.length)) {
            CudaRuntime.check("cudaMemcpy D2H", cudart.cudaMemcpy(h, src.pointer(), 4L * dst.length, cudart.cudaMemcpyDeviceToHost));
            h.get(dst);
        }
    }

    /** Asynchronous copy from pinned host memory to the device on {@code stream}. */
    public static void uploadAsync(DeviceBuffer dst, PinnedBuffer src, long bytes, CudaStream stream) {
        need(dst, bytes);
        if (bytes > src.bytes()) throw new IllegalArgumentException("copy of " + bytes + " bytes from a " + src.bytes() + "-byte pinned buffer");
        CudaRuntime.check("cudaMemcpyAsync H2D", cudart.cudaMemcpyAsync(dst.pointer(), src.pointer().position(0), bytes,
                cudart.cudaMemcpyHostToDevice, stream.handle()));
    }

    /** Asynchronous copy from the device to pinned host memory; synchronize the stream before reading. */
    public static void downloadAsync(PinnedBuffer dst, DeviceBuffer src, long bytes, CudaStream stream) {
        need(src, bytes);
        if (bytes > dst.bytes()) throw new IllegalArgumentException("copy of " + bytes + " bytes into a " + dst.bytes() + "-byte pinned buffer");
        CudaRuntime.check("cudaMemcpyAsync D2H", cudart.cudaMemcpyAsync(dst.pointer().position(0), src.pointer(), bytes,
                cudart.cudaMemcpyDeviceToHost, stream.handle()));
    }

    public static void copy(DeviceBuffer dst, DeviceBuffer src, long bytes, CudaStream stream) {
        need(dst, bytes);
        need(src, bytes);
        CudaRuntime.check("cudaMemcpyAsync D2D", cudart.cudaMemcpyAsync(dst.pointer(), src.pointer(), bytes,
                cudart.cudaMemcpyDeviceToDevice, stream == null ? null : stream.handle()));
    }

    public static void fill(DeviceBuffer dst, int byteValue, long bytes) {
        need(dst, bytes);
        CudaRuntime.check("cudaMemset", cudart.cudaMemset(dst.pointer(), byteValue, bytes));
    }

    /** cudaMemsetAsync on {@code stream} (null = legacy default stream). */
    public static void fill(DeviceBuffer dst, int byteValue, long bytes, CudaStream stream) {
        need(dst, bytes);
        CudaRuntime.check("cudaMemsetAsync", cudart.cudaMemsetAsync(dst.pointer(), byteValue, bytes, stream == null ? null : stream.handle()));
    }

    private static void need(DeviceBuffer b, long bytes) {
        if (bytes > b.bytes()) throw new IllegalArgumentException("copy of " + bytes + " bytes with a " + b.bytes() + "-byte device buffer");
    }
}
