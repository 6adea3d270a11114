package io.condense.train;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Arrays;

/** {@link ArrayOps} on ND4J arrays (the CPU training backend). Never modifies its arguments. */
public final class Nd4jArrayOps implements ArrayOps<INDArray> {
    public static final Nd4jArrayOps INSTANCE = new Nd4jArrayOps();

    private Nd4jArrayOps() {}

    @Override public long[] shape(INDArray a) { return a.shape(); }

    @Override public boolean isFloating(INDArray a) { return a.dataType().isFPType(); }

    @Override public long[] longs(INDArray a) { return Arrays2.longs(a); }

    @Override public double[] doubles(INDArray a) {
        if (a.length() == 0) return new double[0];
        return a.castTo(DataType.DOUBLE).dup('c').data().asDouble();
    }

    private static long[] bshape(long[] a, long[] b) {
        int r = Math.max(a.length, b.length);
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            long x = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
            long y = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            if (x != y && x != 1 && y != 1) throw new IllegalArgumentException("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            out[i] = x == 1 ? y : x;
        }
        return out;
    }

    /** Both operands materialized at their common broadcast shape (ND4J's own broadcasting misses some rank mixes). */
    private INDArray[] both(INDArray a, INDArray b) {
        long[] s = bshape(a.shape(), b.shape());
        return new INDArray[] {broadcastTo(a, s), broadcastTo(b, s)};
    }

    @Override public INDArray add(INDArray a, INDArray b) { INDArray[] x = both(a, b); return x[0].add(x[1]); }

    @Override public INDArray sub(INDArray a, INDArray b) { INDArray[] x = both(a, b); return x[0].sub(x[1]); }

    @Override public INDArray mul(INDArray a, INDArray b) { INDArray[] x = both(a, b); return x[0].mul(x[1]); }

    @Override public INDArray div(INDArray a, INDArray b) { INDArray[] x = both(a, b); return x[0].div(x[1]); }

    @Override public INDArray pow(INDArray a, INDArray b) {
        INDArray[] x = both(a, b.dataType() == a.dataType() ? b : b.castTo(a.dataType()));
        return Transforms.pow(x[0], x[1], true);
    }

    @Override public INDArray neg(INDArray a) { return a.neg(); }

    @Override public INDArray mulScalar(INDArray a, double s) { return a.mul(s); }

    @Override public INDArray addScalar(INDArray a, double s) { return a.add(s); }

    @Override public INDArray powScalar(INDArray a, double p) {
        if (p == 1) return a.dup();
        if (p == 2) return a.mul(a);
        return Transforms.pow(a, p, true);
    }

    @Override public INDArray exp(INDArray a) { return Transforms.exp(a, true); }

    @Override public INDArray zeros(INDArray like, long[] shape) { return Nd4j.zeros(like.dataType(), shape); }

    @Override public INDArray sumTo(INDArray g, long[] shape) { return Arrays2.unbroadcast(g, shape); }

    @Override public INDArray sumKeep(INDArray a, int[] axes) {
        if (axes.length == 0) return a;
        return a.sum(true, axes);
    }

    @Override public INDArray broadcastTo(INDArray a, long[] shape) {
        if (Arrays.equals(a.shape(), shape)) return a;
        long[] s = a.shape();
        INDArray r = a;
        if (s.length < shape.length) {
            long[] p = new long[shape.length];
            Arrays.fill(p, 1);
            System.arraycopy(s, 0, p, shape.length - s.length, s.length);
            r = a.reshape('c', p);
        }
        if (Arrays.equals(r.shape(), shape)) return r;
        return r.broadcast(shape).dup('c');
    }

    @Override public INDArray reshape(INDArray a, long[] shape) {
        return (a.ordering() == 'c' && !a.isView() ? a : a.dup('c')).reshape('c', shape);
    }

    @Override public INDArray permute(INDArray a, int[] perm) { return a.permute(perm).dup('c'); }

    @Override public INDArray matmul(INDArray a, INDArray b, boolean ta, boolean tb) {
        long[] sa = a.shape(), sb = b.shape();
        if (sa.length < 2 || sb.length < 2) throw new IllegalArgumentException("matmul needs rank >= 2");
        long[] batch = bshape(Arrays.copyOf(sa, sa.length - 2), Arrays.copyOf(sb, sb.length - 2));
        long nb = Arrays2.product(batch, 0, batch.length);
        long ar = sa[sa.length - 2], ac = sa[sa.length - 1], br = sb[sb.length - 2], bc = sb[sb.length - 1];
        long m = ta ? ac : ar, n = tb ? br : bc;
        long[] ys = Arrays.copyOf(batch, batch.length + 2);
        ys[batch.length] = m;
        ys[batch.length + 1] = n;
        if (nb == 1) {
            INDArray a2 = reshape(a, new long[] {ar, ac}), b2 = reshape(b, new long[] {br, bc});
            INDArray y = (ta ? a2.transpose() : a2).mmul(tb ? b2.transpose() : b2);
            return y.reshape('c', ys);
        }
        INDArray a3 = reshape(broadcastTo(a, cat(batch, ar, ac)), new long[] {nb, ar, ac});
        INDArray b3 = reshape(broadcastTo(b, cat(batch, br, bc)), new long[] {nb, br, bc});
        return Nd4j.matmul(a3, b3, ta, tb, false).reshape('c', ys);
    }

    private static long[] cat(long[] batch, long r, long c) {
        long[] s = Arrays.copyOf(batch, batch.length + 2);
        s[batch.length] = r;
        s[batch.length + 1] = c;
        return s;
    }

    @Override public INDArray select(INDArray cond, INDArray a, INDArray b) {
        long[] s = bshape(bshape(cond.shape(), a.shape()), b.shape());
        INDArray m = broadcastTo(cond.dataType() == a.dataType() ? cond.neq(0).castTo(a.dataType()) : cond.castTo(DataType.LONG).neq(0).castTo(a.dataType()), s);
        return broadcastTo(a, s).mul(m).addi(broadcastTo(b, s).mul(m.rsub(1)));
    }

    @Override public INDArray sliceAxis(INDArray a, int axis, long from, long to) {
        INDArrayIndex[] idx = new INDArrayIndex[a.rank()];
        for (int j = 0; j < idx.length; j++) idx[j] = j == axis ? NDArrayIndex.interval(from, to) : NDArrayIndex.all();
        return a.get(idx).dup('c');
    }

    @Override public INDArray scatterAdd(INDArray g, long[] shape, long[] offsets) {
        long n = Arrays2.product(shape, 0, shape.length);
        if (g.length() != offsets.length) throw new IllegalArgumentException("scatterAdd: " + g.length() + " values, " + offsets.length + " offsets");
        if (g.dataType() == DataType.DOUBLE) {
            double[] v = g.dup('c').data().asDouble();
            double[] out = new double[(int) n];
            for (int i = 0; i < offsets.length; i++) out[(int) offsets[i]] += v[i];
            return shape.length == 0 ? Nd4j.scalar(out[0]) : Nd4j.create(out, shape, 'c');
        }
        float[] v = (g.dataType() == DataType.FLOAT ? g : g.castTo(DataType.FLOAT)).dup('c').data().asFloat();
        float[] out = new float[(int) n];
        for (int i = 0; i < offsets.length; i++) out[(int) offsets[i]] += v[i];
        INDArray r = shape.length == 0 ? Nd4j.scalar(out[0]) : Nd4j.create(out, shape, 'c');
        return r.dataType() == g.dataType() ? r : r.castTo(g.dataType());
    }
}
