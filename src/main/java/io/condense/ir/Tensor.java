package io.condense.ir;

import java.util.Arrays;
import java.util.Objects;

/**
 * A constant tensor held on the Java heap: element type, concrete shape and data.
 *
 * <p>Storage is one primitive array, chosen by type so that every value is exact:
 * {@code float[]} for FLOAT32, {@code double[]} for FLOAT64, {@code short[]} holding the raw bits for
 * FLOAT16/BFLOAT16 and the values for INT16/UINT16, {@code byte[]} for INT8/UINT8/BOOL and for INT4/UINT4
 * (one element per byte, unpacked; packing happens on export), {@code int[]} for INT32,
 * {@code long[]} for INT64/UINT32/UINT64, and {@code String[]} for STRING.
 * Tensors are treated as immutable once built: never write into {@link #data()}.
 */
public final class Tensor {
    /** Largest element count a tensor may have (Java arrays are int-indexed). */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    private final DType dtype;
    private final long[] shape;
    private final Object data;

    private Tensor(DType dtype, long[] shape, Object data) {
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.shape = shape.clone();
        this.data = data;
        long n = checkedSize(shape);
        int len = java.lang.reflect.Array.getLength(data);
        if (len != n) {
            throw new ModelException("tensor of shape " + Arrays.toString(shape) + " needs " + n
                    + " elements but has " + len);
        }
        Class<?> want = storageClass(dtype);
        if (data.getClass() != want) {
            throw new IllegalArgumentException(dtype + " tensor needs " + want.getSimpleName() + " storage, got "
                    + data.getClass().getSimpleName());
        }
    }

    /** Wraps {@code data} (not copied) as a tensor of the given type and shape. */
    public static Tensor of(DType dtype, long[] shape, Object data) { return new Tensor(dtype, shape, data); }

    public static Tensor of(float[] data, long... shape) { return new Tensor(DType.FLOAT32, shape, data); }

    public static Tensor of(double[] data, long... shape) { return new Tensor(DType.FLOAT64, shape, data); }

    public static Tensor of(int[] data, long... shape) { return new Tensor(DType.INT32, shape, data); }

    public static Tensor of(long[] data, long... shape) { return new Tensor(DType.INT64, shape, data); }

    public static Tensor scalar(float v) { return of(new float[] {v}); }

    public static Tensor scalar(long v) { return of(new long[] {v}); }

    /** A zero-filled tensor. */
    public static Tensor zeros(DType dtype, long... shape) {
        return new Tensor(dtype, shape, allocate(dtype, (int) checkedSize(shape)));
    }

    /** Builds a tensor of any numeric type from doubles, rounding/saturating nothing (caller's values must fit). */
    public static Tensor fromDoubles(DType dtype, long[] shape, double[] values) {
        Tensor t = zeros(dtype, shape);
        for (int i = 0; i < values.length; i++) t.setDouble(i, values[i]);
        return t;
    }

    public static Object allocate(DType dtype, int n) {
        return switch (dtype) {
            case FLOAT32 -> new float[n];
            case FLOAT64 -> new double[n];
            case FLOAT16, BFLOAT16, INT16, UINT16 -> new short[n];
            case INT8, UINT8, BOOL, INT4, UINT4 -> new byte[n];
            case INT32 -> new int[n];
            case INT64, UINT32, UINT64 -> new long[n];
            case STRING -> new String[n];
        };
    }

    public static Class<?> storageClass(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> float[].class;
            case FLOAT64 -> double[].class;
            case FLOAT16, BFLOAT16, INT16, UINT16 -> short[].class;
            case INT8, UINT8, BOOL, INT4, UINT4 -> byte[].class;
            case INT32 -> int[].class;
            case INT64, UINT32, UINT64 -> long[].class;
            case STRING -> String[].class;
        };
    }

    /** Number of elements of {@code shape}, rejecting negative dims and sizes that cannot be held in memory. */
    public static long checkedSize(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new ModelException("negative dimension in shape " + Arrays.toString(shape));
            if (d != 0 && n > MAX_ELEMENTS / d) {
                throw new ModelException("tensor shape " + Arrays.toString(shape) + " is too large (over "
                        + MAX_ELEMENTS + " elements)");
            }
            n *= d;
        }
        return n;
    }

    public DType dtype() { return dtype; }

    public long[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    public long dim(int i) { return shape[i < 0 ? i + shape.length : i]; }

    public int size() { return java.lang.reflect.Array.getLength(data); }

    /** The backing array (see the class comment for its type). Do not modify. */
    public Object data() { return data; }

    public TensorType type() { return TensorType.of(dtype, shape); }

    /** Bytes this tensor takes in an ONNX file (4-bit types packed two per byte). */
    public long storageBytes() {
        if (dtype == DType.STRING) {
            long b = 0;
            for (String s : (String[]) data) b += s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            return b;
        }
        return dtype.storageBytes(size());
    }

    public double getDouble(int i) {
        return switch (dtype) {
            case FLOAT32 -> ((float[]) data)[i];
            case FLOAT64 -> ((double[]) data)[i];
            case FLOAT16 -> Half.toFloat(((short[]) data)[i]);
            case BFLOAT16 -> Half.bf16ToFloat(((short[]) data)[i]);
            case INT16 -> ((short[]) data)[i];
            case UINT16 -> ((short[]) data)[i] & 0xFFFF;
            case INT8, BOOL, INT4, UINT4 -> ((byte[]) data)[i];
            case UINT8 -> ((byte[]) data)[i] & 0xFF;
            case INT32 -> ((int[]) data)[i];
            case INT64, UINT32 -> ((long[]) data)[i];
            case UINT64 -> unsignedToDouble(((long[]) data)[i]);
            case STRING -> throw new UnsupportedOperationException("string tensor has no numeric value");
        };
    }

    public long getLong(int i) {
        return switch (dtype) {
            case INT64, UINT32, UINT64 -> ((long[]) data)[i];
            case INT32 -> ((int[]) data)[i];
            case INT16 -> ((short[]) data)[i];
            case UINT16 -> ((short[]) data)[i] & 0xFFFF;
            case INT8, BOOL, INT4, UINT4 -> ((byte[]) data)[i];
            case UINT8 -> ((byte[]) data)[i] & 0xFF;
            default -> (long) getDouble(i);
        };
    }

    /** Sets element {@code i}; the value must be representable (no saturation here). */
    public void setDouble(int i, double v) {
        switch (dtype) {
            case FLOAT32 -> ((float[]) data)[i] = (float) v;
            case FLOAT64 -> ((double[]) data)[i] = v;
            case FLOAT16 -> ((short[]) data)[i] = Half.fromFloat((float) v);
            case BFLOAT16 -> ((short[]) data)[i] = Half.floatToBf16((float) v);
            case INT16, UINT16 -> ((short[]) data)[i] = (short) (long) v;
            case INT8, UINT8, INT4, UINT4 -> ((byte[]) data)[i] = (byte) (long) v;
            case BOOL -> ((byte[]) data)[i] = (byte) (v != 0 ? 1 : 0);
            case INT32 -> ((int[]) data)[i] = (int) (long) v;
            case INT64, UINT32, UINT64 -> ((long[]) data)[i] = (long) v;
            case STRING -> throw new UnsupportedOperationException("string tensor");
        }
    }

    /** All elements as float (converting from any numeric type). */
    public float[] toFloatArray() {
        if (dtype == DType.FLOAT32) return ((float[]) data).clone();
        float[] out = new float[size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) getDouble(i);
        return out;
    }

    public double[] toDoubleArray() {
        double[] out = new double[size()];
        for (int i = 0; i < out.length; i++) out[i] = getDouble(i);
        return out;
    }

    /** All elements as long (integer types exact; floats truncated). */
    public long[] toLongArray() {
        if (dtype == DType.INT64) return ((long[]) data).clone();
        long[] out = new long[size()];
        for (int i = 0; i < out.length; i++) out[i] = getLong(i);
        return out;
    }

    public Tensor reshape(long... newShape) { return new Tensor(dtype, newShape, data); }

    private static double unsignedToDouble(long v) {
        double d = (double) (v >>> 1) * 2.0;
        return d + (v & 1);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Tensor(").append(type()).append(" ");
        int n = Math.min(size(), 8);
        sb.append('[');
        for (int i = 0; i < n; i++) {
            if (i > 0) sb.append(", ");
            sb.append(dtype == DType.STRING ? ((String[]) data)[i] : String.valueOf(getDouble(i)));
        }
        if (size() > n) sb.append(", ...");
        return sb.append("])").toString();
    }
}
