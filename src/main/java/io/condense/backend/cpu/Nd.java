package io.condense.backend.cpu;

import io.condense.ir.DType;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Conversions between IR {@link Tensor}s and ND4J arrays, plus small helpers the kernels share. */
public final class Nd {
    static { NativeSetup.init(); }

    private Nd() {}

    public static DataType toNd(DType t) {
        return switch (t) {
            case FLOAT32 -> DataType.FLOAT;
            case FLOAT64 -> DataType.DOUBLE;
            case FLOAT16 -> DataType.HALF;
            case BFLOAT16 -> DataType.BFLOAT16;
            case INT8, INT4 -> DataType.BYTE;
            case UINT8, UINT4 -> DataType.UBYTE;
            case INT16 -> DataType.SHORT;
            case UINT16 -> DataType.UINT16;
            case INT32 -> DataType.INT;
            case INT64 -> DataType.LONG;
            case UINT32 -> DataType.UINT32;
            case UINT64 -> DataType.UINT64;
            case BOOL -> DataType.BOOL;
            case STRING -> throw new ModelException("string tensors are not supported by the CPU executor");
        };
    }

    public static DType fromNd(DataType t) {
        return switch (t) {
            case FLOAT -> DType.FLOAT32;
            case DOUBLE -> DType.FLOAT64;
            case HALF -> DType.FLOAT16;
            case BFLOAT16 -> DType.BFLOAT16;
            case BYTE -> DType.INT8;
            case UBYTE -> DType.UINT8;
            case SHORT -> DType.INT16;
            case UINT16 -> DType.UINT16;
            case INT -> DType.INT32;
            case LONG -> DType.INT64;
            case UINT32 -> DType.UINT32;
            case UINT64 -> DType.UINT64;
            case BOOL -> DType.BOOL;
            default -> throw new ModelException("unsupported ND4J type " + t);
        };
    }

    /** Copies a tensor into a new C-ordered ND4J array. INT4/UINT4 become BYTE/UBYTE, one value per element. */
    public static INDArray toNd(Tensor t) {
        DataType dt = toNd(t.dtype());
        long[] shape = t.shape();
        if (t.size() == 0) return Nd4j.create(dt, shape);
        INDArray a = Nd4j.createUninitialized(dt, shape, 'c');
        ByteBuffer bb = a.data().asNio().order(ByteOrder.nativeOrder());
        Object d = t.data();
        switch (t.dtype()) {
            case FLOAT32 -> bb.asFloatBuffer().put((float[]) d);
            case FLOAT64 -> bb.asDoubleBuffer().put((double[]) d);
            case FLOAT16, BFLOAT16, INT16, UINT16 -> bb.asShortBuffer().put((short[]) d);
            case INT8, UINT8, BOOL, INT4, UINT4 -> bb.put((byte[]) d);
            case INT32 -> bb.asIntBuffer().put((int[]) d);
            case INT64, UINT64 -> bb.asLongBuffer().put((long[]) d);
            case UINT32 -> {
                java.nio.IntBuffer ib = bb.asIntBuffer();
                for (long l : (long[]) d) ib.put((int) l);
            }
            case STRING -> throw new ModelException("string tensors are not supported by the CPU executor");
        }
        return a;
    }

    /** Copies an ND4J array out into a tensor of type {@code as} (INT4/UINT4 for 4-bit values held in bytes, else null). */
    public static Tensor toTensor(INDArray a, DType as) {
        DType dt = fromNd(a.dataType());
        if (as == DType.INT4 && dt == DType.INT8 || as == DType.UINT4 && dt == DType.UINT8) dt = as;
        long[] shape = a.shape();
        int n = (int) Tensor.checkedSize(shape);
        Object d = Tensor.allocate(dt, n);
        if (n > 0) {
            INDArray c = contiguous(a);
            ByteBuffer bb = c.data().asNio().order(ByteOrder.nativeOrder());
            bb.position((int) (c.offset() * c.data().getElementSize()));
            bb = bb.slice().order(ByteOrder.nativeOrder());
            switch (dt) {
                case FLOAT32 -> bb.asFloatBuffer().get((float[]) d);
                case FLOAT64 -> bb.asDoubleBuffer().get((double[]) d);
                case FLOAT16, BFLOAT16, INT16, UINT16 -> bb.asShortBuffer().get((short[]) d);
                case INT8, UINT8, BOOL, INT4, UINT4 -> bb.get((byte[]) d);
                case INT32 -> bb.asIntBuffer().get((int[]) d);
                case INT64, UINT64 -> bb.asLongBuffer().get((long[]) d);
                case UINT32 -> {
                    java.nio.IntBuffer ib = bb.asIntBuffer();
                    long[] l = (long[]) d;
                    for (int i = 0; i < n; i++) l[i] = ib.get(i) & 0xFFFFFFFFL;
                }
                case STRING -> throw new IllegalStateException();
            }
        }
        return Tensor.of(dt, shape, d);
    }

    /** {@code a} itself when it is a dense C-ordered array, else a C-ordered copy. */
    public static INDArray contiguous(INDArray a) {
        if (a.ordering() == 'c' && !a.isView() && a.length() == a.data().length()) return a;
        return a.dup('c');
    }

    /** Dense C-ordered float copy of the data (for kernels written as Java loops). */
    public static float[] floats(INDArray a) {
        INDArray c = a.dataType() == DataType.FLOAT ? contiguous(a) : a.castTo(DataType.FLOAT);
        return c.data().asFloat().length == c.length() ? c.data().asFloat() : c.dup('c').data().asFloat();
    }

    /** Dense C-ordered long values of an integer (or float, truncated) array. */
    public static long[] longs(INDArray a) {
        INDArray c = contiguous(a.dataType() == DataType.LONG ? a : a.castTo(DataType.LONG));
        return c.data().asLong();
    }

    /** A new float array of the given shape holding {@code data} (not copied by ND4J's factory: a fresh buffer). */
    public static INDArray of(float[] data, long[] shape) {
        if (shape.length == 0) return Nd4j.scalar(data[0]);
        return Nd4j.create(data, shape, 'c');
    }

    public static INDArray ofLongs(long[] data, long[] shape) {
        if (shape.length == 0) return Nd4j.scalar(data[0]);
        return Nd4j.createFromArray(data).reshape('c', shape);
    }
}
