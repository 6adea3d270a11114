package io.condense.train;

import io.condense.ir.DType;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/** Conversions between IR tensors and ND4J arrays for the training engine, plus shape helpers. */
public final class Arrays2 {
    private Arrays2() {}

    /** Copies {@code t} into a C-ordered ND4J array; floating tensors become {@code floatType}, integers LONG. */
    public static INDArray toNd(Tensor t, DataType floatType) {
        long[] shape = t.shape();
        if (t.dtype().isFloating()) {
            INDArray a;
            if (t.dtype() == DType.FLOAT64) a = Nd4j.create(((double[]) t.data()).clone(), shape, 'c');
            else a = Nd4j.create(t.toFloatArray(), shape, 'c');
            if (shape.length == 0) a = Nd4j.scalar(DataType.DOUBLE, t.getDouble(0));
            return a.dataType() == floatType ? a : a.castTo(floatType);
        }
        if (t.dtype() == DType.STRING) throw new ModelException("string tensors cannot be used in training");
        long[] v = t.toLongArray();
        if (shape.length == 0) return Nd4j.scalar(v[0]);
        if (v.length == 0) return Nd4j.create(DataType.LONG, shape);
        return Nd4j.createFromArray(v).reshape('c', shape);
    }

    /** Copies an ND4J array into a tensor: FLOAT32 for floating arrays (or FLOAT64 when {@code keepDouble}), INT64 for integers, BOOL for booleans. */
    public static Tensor toTensor(INDArray a, boolean keepDouble) {
        long[] shape = a.shape();
        if (a.dataType().isFPType()) {
            if (keepDouble && a.dataType() == DataType.DOUBLE) return Tensor.of(a.dup('c').data().asDouble(), shape);
            INDArray f = a.dataType() == DataType.FLOAT ? a.dup('c') : a.castTo(DataType.FLOAT).dup('c');
            return Tensor.of(a.length() == 0 ? new float[0] : f.data().asFloat(), shape);
        }
        if (a.dataType() == DataType.BOOL) {
            long[] l = a.castTo(DataType.LONG).dup('c').data().asLong();
            byte[] b = new byte[l.length];
            for (int i = 0; i < l.length; i++) b[i] = (byte) (l[i] != 0 ? 1 : 0);
            return Tensor.of(DType.BOOL, shape, b);
        }
        return Tensor.of(a.length() == 0 ? new long[0] : a.castTo(DataType.LONG).dup('c').data().asLong(), shape);
    }

    /** Integer values of a small array (shapes, indices, axes). */
    public static long[] longs(INDArray a) {
        if (a.length() == 0) return new long[0];
        return a.castTo(DataType.LONG).dup('c').data().asLong();
    }

    public static long product(long[] shape, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) p *= shape[i];
        return p;
    }

    /** Sums {@code g} down to {@code shape} (reverses numpy broadcasting). */
    public static INDArray unbroadcast(INDArray g, long[] shape) {
        long[] gs = g.shape();
        if (Arrays.equals(gs, shape)) return g;
        int k = gs.length - shape.length;
        int[] dims = new int[gs.length];
        int n = 0;
        for (int i = 0; i < gs.length; i++) {
            if (i < k || (shape[i - k] == 1 && gs[i] != 1)) dims[n++] = i;
        }
        INDArray s = n == 0 ? g : g.sum(Arrays.copyOf(dims, n));
        return s.reshape('c', shape.length == 0 ? new long[0] : shape);
    }

    static int axis(long a, int rank, String what) {
        long r = a < 0 ? a + rank : a;
        if (r < 0 || r >= rank) throw new ModelException(what + ": axis " + a + " out of range for rank " + rank);
        return (int) r;
    }
}
