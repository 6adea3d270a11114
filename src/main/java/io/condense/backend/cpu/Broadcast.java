package io.condense.backend.cpu;

import io.condense.ir.ModelException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/**
 * Numpy-style broadcasting and typed data access shared by the elementwise, shape and reduction kernels.
 * Java loops here are meant for integer/bool tensors and small data; float work goes through ND4J.
 */
final class Broadcast {
    private Broadcast() {}

    /** The numpy broadcast of the given shapes; throws a ModelException naming them when incompatible. */
    static long[] shape(OpContext c, long[]... shapes) {
        int r = 0;
        for (long[] s : shapes) r = Math.max(r, s.length);
        long[] out = new long[r];
        Arrays.fill(out, 1);
        for (long[] s : shapes) {
            for (int i = 0; i < s.length; i++) {
                int j = r - s.length + i;
                long d = s[i];
                if (d == out[j] || d == 1) continue;
                if (out[j] == 1) {
                    out[j] = d;
                } else {
                    StringBuilder sb = new StringBuilder();
                    for (long[] t : shapes) sb.append(sb.length() == 0 ? "" : " and ").append(Arrays.toString(t));
                    String msg = "shapes " + sb + " cannot be broadcast together";
                    throw c != null ? c.error(msg) : new ModelException(msg);
                }
            }
        }
        return out;
    }

    static long size(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** {@code shape} with leading ones added up to {@code rank}. */
    static long[] padLeft(long[] shape, int rank) {
        if (shape.length == rank) return shape;
        long[] p = new long[rank];
        Arrays.fill(p, 1);
        System.arraycopy(shape, 0, p, rank - shape.length, shape.length);
        return p;
    }

    /** {@code a} reshaped to the rank of {@code shape} and broadcast (materialized) to it; {@code a} itself if equal. */
    static INDArray to(INDArray a, long[] shape) {
        if (Arrays.equals(a.shape(), shape)) return a;
        INDArray r = a.shape().length == shape.length ? a : reshape(a, padLeft(a.shape(), shape.length));
        if (Arrays.equals(r.shape(), shape)) return r;
        if (size(shape) == 0) return Nd4j.create(a.dataType(), shape);
        if (r.length() == 1) return valueLike(r, shape);
        return r.broadcast(shape);
    }

    /** A new array of {@code shape} filled with the single value of {@code one}. */
    static INDArray valueLike(INDArray one, long[] shape) {
        DataType dt = one.dataType();
        if (shape.length == 0) return Nd.contiguous(one).reshape(shape).dup();
        if (isFloat(dt)) return Nd4j.createUninitialized(dt, shape, 'c').assign(one.getDouble(0));
        long v = longs(one)[0];
        long[] l = new long[(int) size(shape)];
        Arrays.fill(l, v);
        return fromLongs(l, shape, dt);
    }

    /** C-order reshape that tolerates scalars and empty arrays. */
    static INDArray reshape(INDArray a, long[] shape) {
        if (Arrays.equals(a.shape(), shape)) return a;
        if (a.length() == 0) return Nd4j.create(a.dataType(), shape);
        if (shape.length == 0) {
            INDArray c = Nd.contiguous(a);
            return c.reshape('c', shape);
        }
        return a.reshape('c', shape);
    }

    /**
     * For each element (C order) of an array of shape {@code out}, the linear index of the element of a
     * C-ordered array of shape {@code in} (right-aligned, broadcast) that it reads. Null when the shapes are equal.
     */
    static int[] offsets(long[] in, long[] out) {
        if (Arrays.equals(in, out)) return null;
        int r = out.length;
        int n = (int) size(out);
        long[] st = new long[r];
        long s = 1;
        for (int i = r - 1; i >= 0; i--) {
            int j = i - (r - in.length);
            long d = j >= 0 ? in[j] : 1;
            st[i] = d == 1 ? 0 : s;
            s *= d;
        }
        return walk(out, st, n);
    }

    /**
     * For each of the {@code n} elements (C order) of an array of shape {@code shape}, the sum over dims of its index
     * times {@code strides} (a stride of 0 repeats, e.g. a broadcast or reduced dim).
     */
    static int[] walk(long[] shape, long[] strides, int n) {
        int r = shape.length;
        int[] res = new int[n];
        long[] idx = new long[r];
        long off = 0;
        for (int k = 0; k < n; k++) {
            res[k] = (int) off;
            for (int i = r - 1; i >= 0; i--) {
                idx[i]++;
                off += strides[i];
                if (idx[i] < shape[i]) break;
                off -= strides[i] * shape[i];
                idx[i] = 0;
            }
        }
        return res;
    }

    static int at(int[] offsets, int k) { return offsets == null ? k : offsets[k]; }

    static boolean isFloat(DataType t) {
        return t == DataType.FLOAT || t == DataType.DOUBLE || t == DataType.HALF || t == DataType.BFLOAT16;
    }

    static boolean isHalf(DataType t) { return t == DataType.HALF || t == DataType.BFLOAT16; }

    /** Dense C-ordered doubles of {@code a} (any numeric or bool type). */
    static double[] doubles(INDArray a) {
        if (a.length() == 0) return new double[0];
        INDArray c = Nd.contiguous(a.dataType() == DataType.DOUBLE ? a : a.castTo(DataType.DOUBLE));
        return c.data().asDouble();
    }

    static float[] floats(INDArray a) {
        if (a.length() == 0) return new float[0];
        INDArray c = Nd.contiguous(a.dataType() == DataType.FLOAT ? a : a.castTo(DataType.FLOAT));
        return c.data().asFloat();
    }

    /** Dense C-ordered longs of {@code a} (integer or bool; floats are truncated). */
    static long[] longs(INDArray a) {
        if (a.length() == 0) return new long[0];
        if (a.dataType() == DataType.BOOL) {
            INDArray c = Nd.contiguous(a);
            byte[] b = new byte[(int) a.length()];
            c.data().asNio().get(b);
            long[] l = new long[b.length];
            for (int i = 0; i < b.length; i++) l[i] = b[i] != 0 ? 1 : 0;
            return l;
        }
        return Nd.longs(a);
    }

    /** A new array of type {@code dt} and {@code shape} holding the values (wrapped to the type's width for ints). */
    static INDArray fromLongs(long[] v, long[] shape, DataType dt) {
        if (v.length == 0) return Nd4j.create(dt, shape);
        INDArray a = shape.length == 0 ? Nd4j.scalar(v[0]) : Nd4j.createFromArray(v).reshape('c', shape);
        if (dt == DataType.LONG) return a;
        if (dt == DataType.INT) {
            int[] iv = new int[v.length];
            for (int i = 0; i < v.length; i++) iv[i] = (int) v[i];
            return shape.length == 0 ? Nd4j.scalar(iv[0]) : Nd4j.createFromArray(iv).reshape('c', shape);
        }
        if (dt == DataType.BOOL) {
            boolean[] bv = new boolean[v.length];
            for (int i = 0; i < v.length; i++) bv[i] = v[i] != 0;
            return bools(bv, shape);
        }
        return a.castTo(dt);
    }

    static INDArray bools(boolean[] v, long[] shape) {
        if (v.length == 0) return Nd4j.create(DataType.BOOL, shape);
        INDArray a = Nd4j.createFromArray(v);
        return shape.length == 0 ? a.reshape(new long[] {}) : a.reshape('c', shape);
    }

    static INDArray fromDoubles(double[] v, long[] shape, DataType dt) {
        if (v.length == 0) return Nd4j.create(dt, shape);
        INDArray a = shape.length == 0 ? Nd4j.scalar(v[0]) : Nd4j.createFromArray(v).reshape('c', shape);
        return dt == DataType.DOUBLE ? a : a.castTo(dt);
    }

    static INDArray fromFloats(float[] v, long[] shape, DataType dt) {
        if (v.length == 0) return Nd4j.create(dt, shape);
        INDArray a = Nd.of(v, shape);
        return dt == DataType.FLOAT ? a : a.castTo(dt);
    }

    /** Normalizes a possibly negative axis against {@code rank}; throws when out of range. */
    static int axis(OpContext c, long axis, int rank) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw c.error("axis " + axis + " is out of range for rank " + rank);
        return (int) a;
    }

    static long[] toLongs(int[] v) {
        long[] l = new long[v.length];
        for (int i = 0; i < v.length; i++) l[i] = v[i];
        return l;
    }

    static int[] toInts(long[] v) {
        int[] l = new int[v.length];
        for (int i = 0; i < v.length; i++) l[i] = (int) v[i];
        return l;
    }

    /** For each element of {@code out} (C order), the flat index of the element of {@code in} it reads. */
    static int[] index(long[] in, long[] out) {
        int r = out.length;
        int n = 1;
        for (long d : out) n *= (int) d;
        int[] idx = new int[n];
        if (Arrays.equals(in, out) || sizeOf(in) == n) {
            for (int i = 0; i < n; i++) idx[i] = i;
            return idx;
        }
        if (sizeOf(in) == 1) return idx;
        long[] stride = new long[r];
        long st = 1;
        for (int i = in.length - 1; i >= 0; i--) {
            int o = i + r - in.length;
            stride[o] = in[i] == 1 ? 0 : st;
            st *= in[i];
        }
        int inner = (int) out[r - 1];
        int innerStride = (int) stride[r - 1];
        int[] pos = new int[r];
        int base = 0;
        for (int i = 0; i < n; i += inner) {
            for (int k = 0; k < inner; k++) idx[i + k] = base + k * innerStride;
            for (int d = r - 2; d >= 0; d--) {
                pos[d]++;
                base += (int) stride[d];
                if (pos[d] < out[d]) break;
                base -= (int) (stride[d] * out[d]);
                pos[d] = 0;
            }
        }
        return idx;
    }

    private static long sizeOf(long[] s) {
        long n = 1;
        for (long d : s) n *= d;
        return n;
    }
}
