package io.condense.backend.cuda;

import org.junit.jupiter.api.Assumptions;

/** Helpers for @Tag("gpu") tests: skip cleanly (with the reason) where there is no usable GPU. */
final class Gpu {
    private Gpu() {}

    static CudaDevice require() {
        CudaRuntime.Status s = CudaRuntime.status();
        Assumptions.assumeTrue(s.available(), () -> "no usable GPU: " + s.reason() + " (skipping GPU test)");
        CudaRuntime.use(0);
        return s.devices().get(0);
    }

    static CudaDevice requireKernels() {
        CudaDevice d = require();
        Assumptions.assumeTrue(CudaKernels.directory() != null, () -> CudaKernels.missingReason() + " (skipping GPU test)");
        return d;
    }

    static DeviceBuffer up(float[] a) {
        DeviceBuffer b = DeviceBuffer.allocate(4L * Math.max(a.length, 1));
        CudaMemory.upload(b, a);
        return b;
    }

    static DeviceBuffer up(int[] a) {
        DeviceBuffer b = DeviceBuffer.allocate(4L * Math.max(a.length, 1));
        CudaMemory.upload(b, a);
        return b;
    }

    static DeviceBuffer up(byte[] a) {
        DeviceBuffer b = DeviceBuffer.allocate(Math.max(a.length, 1));
        CudaMemory.upload(b, a);
        return b;
    }

    static DeviceBuffer up(short[] a) {
        byte[] raw = new byte[2 * a.length];
        java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).asShortBuffer().put(a);
        return up(raw);
    }

    /** A device buffer filled with 0xFF bytes (NaN floats, -1 ints): unwritten outputs show. */
    static DeviceBuffer poisoned(long bytes) {
        DeviceBuffer b = DeviceBuffer.allocate(Math.max(bytes, 1));
        CudaMemory.fill(b, 0xFF, Math.max(bytes, 1));
        return b;
    }

    static float[] floats(DeviceBuffer b, int n) {
        CudaRuntime.synchronize();
        float[] a = new float[n];
        CudaMemory.download(a, b);
        return a;
    }

    static int[] ints(DeviceBuffer b, int n) {
        CudaRuntime.synchronize();
        int[] a = new int[n];
        CudaMemory.download(a, b);
        return a;
    }

    static byte[] bytes(DeviceBuffer b, int n) {
        CudaRuntime.synchronize();
        byte[] a = new byte[n];
        CudaMemory.download(a, b);
        return a;
    }

    static short[] shorts(DeviceBuffer b, int n) {
        byte[] raw = bytes(b, 2 * n);
        short[] s = new short[n];
        java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(s);
        return s;
    }
}
