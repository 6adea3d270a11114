package io.condense.backend.cuda;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;

import java.util.ArrayList;
import java.util.List;

/**
 * Arguments of a kernel launch in declaration order, each in its own 8-byte slot, and the {@code void**} array
 * that cuLaunchKernel takes. The Java side must match the kernel's C signature exactly (pointer = 8 bytes,
 * int/float = 4 bytes, long long = 8 bytes); {@link #signature()} is for error messages and tests.
 */
public final class KernelArgs implements AutoCloseable {
    private enum Kind { PTR, I32, I64, F32 }

    private final List<Kind> kinds = new ArrayList<>();
    private final List<Object> values = new ArrayList<>();
    private BytePointer storage;
    private PointerPointer<?> array;

    public KernelArgs ptr(long address) { return add(Kind.PTR, address); }

    public KernelArgs ptr(DeviceBuffer b) { return add(Kind.PTR, b == null ? 0L : b.address()); }

    public KernelArgs i32(int v) { return add(Kind.I32, v); }

    public KernelArgs i64(long v) { return add(Kind.I64, v); }

    public KernelArgs f32(float v) { return add(Kind.F32, v); }

    private KernelArgs add(Kind k, Object v) {
        if (array != null) throw new IllegalStateException("arguments already packed");
        kinds.add(k);
        values.add(v);
        return this;
    }

    public int count() { return kinds.size(); }

    /** E.g. "(ptr, i32, f32)". */
    public String signature() {
        return "(" + String.join(", ", kinds.stream().map(k -> k.name().toLowerCase()).toList()) + ")";
    }

    /** The {@code void** kernelParams} for cuLaunchKernel (built once, freed by {@link #close()}). */
    public PointerPointer<?> pack() {
        if (array != null) return array;
        int n = kinds.size();
        storage = new BytePointer(Math.max(8L * n, 8));
        array = new PointerPointer<>(Math.max(n, 1));
        for (int i = 0; i < n; i++) {
            long off = 8L * i;
            switch (kinds.get(i)) {
                case PTR, I64 -> storage.putLong(off, (Long) values.get(i));
                case I32 -> storage.putInt(off, (Integer) values.get(i));
                case F32 -> storage.putFloat(off, (Float) values.get(i));
            }
            array.put(i, CudaRuntime.pointer(storage.address() + off));
        }
        return array;
    }

    @Override
    public void close() {
        if (array != null) array.close();
        if (storage != null) storage.close();
        array = null;
        storage = null;
    }
}
