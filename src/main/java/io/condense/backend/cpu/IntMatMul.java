package io.condense.backend.cpu;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/**
 * Exact integer matrix products with numpy matmul semantics, (A - a_zero_point) x (B - b_zero_point) accumulated as
 * int32. The products run as ND4J GEMMs on zero-point-adjusted values: in float32 when the largest possible partial
 * sum is below 2^24 (every intermediate is then an exactly representable integer), else in float64 (exact below 2^53).
 */
final class IntMatMul {
    private IntMatMul() {}

    static final long FLOAT_EXACT = 1L << 24;

    /** The matmul output shape of operands shaped {@code a} and {@code b}. */
    static long[] outShape(OpContext ctx, long[] a, long[] b) {
        if (a.length == 0 || b.length == 0) throw ctx.error("matmul operands must have rank >= 1");
        long[] a2 = a.length == 1 ? new long[] {1, a[0]} : a;
        long[] b2 = b.length == 1 ? new long[] {b[0], 1} : b;
        if (a2[a2.length - 1] != b2[b2.length - 2]) {
            throw ctx.error("matmul shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not match");
        }
        long[] batch = Broadcast.shape(ctx, Arrays.copyOf(a2, a2.length - 2), Arrays.copyOf(b2, b2.length - 2));
        int r = batch.length;
        long[] out = Arrays.copyOf(batch, r + 2);
        out[r] = a2[a2.length - 2];
        out[r + 1] = b2[b2.length - 1];
        if (a.length == 1 && b.length == 1) return new long[0];
        if (a.length == 1) return removeAxis(out, r);
        if (b.length == 1) return removeAxis(out, r + 1);
        return out;
    }

    private static long[] removeAxis(long[] s, int ax) {
        long[] r = new long[s.length - 1];
        for (int i = 0, j = 0; i < s.length; i++) if (i != ax) r[j++] = s[i];
        return r;
    }

    /** Exact (a - az) @ (b - bz); az scalar or per row of a (M values), bz scalar or per column of b (N values). */
    static int[] matmul(OpContext ctx, INDArray a, INDArray az, INDArray b, INDArray bz) {
        long[] as = a.shape(), bs = b.shape();
        long[] a2 = as.length == 1 ? new long[] {1, as[0]} : as;
        long[] b2 = bs.length == 1 ? new long[] {bs[0], 1} : bs;
        outShape(ctx, as, bs);
        int m = (int) a2[a2.length - 2], k = (int) a2[a2.length - 1], n = (int) b2[b2.length - 1];
        int[] av = QuantKernels.ints(a), bv = QuantKernels.ints(b);
        int[] azv = az == null ? new int[] {0} : QuantKernels.ints(az);
        int[] bzv = bz == null ? new int[] {0} : QuantKernels.ints(bz);
        if (azv.length != 1 && azv.length != m) throw ctx.error("a_zero_point must be a scalar or have " + m + " values");
        if (bzv.length != 1 && bzv.length != n) throw ctx.error("b_zero_point must be a scalar or have " + n + " values");
        long maxA = 0;
        for (int i = 0; i < av.length; i++) {
            av[i] -= azv[azv.length == 1 ? 0 : (i / k) % m];
            maxA = Math.max(maxA, Math.abs((long) av[i]));
        }
        long[] colSum = new long[n];
        for (int i = 0; i < bv.length; i++) {
            int col = i % n;
            bv[i] -= bzv[bzv.length == 1 ? 0 : col];
            colSum[col] += Math.abs((long) bv[i]);
        }
        long maxCol = 0;
        for (long c : colSum) maxCol = Math.max(maxCol, c);
        boolean useFloat = maxA * maxCol < FLOAT_EXACT;
        long[] aBatch = Arrays.copyOf(a2, a2.length - 2), bBatch = Arrays.copyOf(b2, b2.length - 2);
        long[] batch = Broadcast.shape(ctx, aBatch, bBatch);
        int nb = 1;
        for (long d : batch) nb *= (int) d;
        int[] out = new int[nb * m * n];
        int bBatchCount = (int) Tensorish.size(bBatch);
        if (bBatchCount == 1) {
            // B shared by every batch: one GEMM of [batches*M, K] x [K, N].
            int rows = (int) Tensorish.size(aBatch) * m;
            int[] res = gemm(av, rows, k, bv, 0, n, useFloat);
            if (rows * n == out.length) return res;
            int[] ai = Broadcast.index(aBatch, batch);
            for (int i = 0; i < nb; i++) System.arraycopy(res, ai[i] * m * n, out, i * m * n, m * n);
            return out;
        }
        int[] ai = Broadcast.index(aBatch, batch), bi = Broadcast.index(bBatch, batch);
        for (int i = 0; i < nb; i++) {
            int[] aSlice = Arrays.copyOfRange(av, ai[i] * m * k, (ai[i] + 1) * m * k);
            int[] res = gemm(aSlice, m, k, bv, bi[i] * k * n, n, useFloat);
            System.arraycopy(res, 0, out, i * m * n, m * n);
        }
        return out;
    }

    /** [rows, k] x b[bOff .. bOff + k*n] as [k, n], exact. */
    static int[] gemm(int[] a, int rows, int k, int[] b, int bOff, int n, boolean useFloat) {
        INDArray am, bm;
        if (useFloat) {
            float[] af = new float[rows * k], bf = new float[k * n];
            for (int i = 0; i < af.length; i++) af[i] = a[i];
            for (int i = 0; i < bf.length; i++) bf[i] = b[bOff + i];
            am = Nd4j.create(af, new long[] {rows, k}, 'c');
            bm = Nd4j.create(bf, new long[] {k, n}, 'c');
        } else {
            double[] af = new double[rows * k], bf = new double[k * n];
            for (int i = 0; i < af.length; i++) af[i] = a[i];
            for (int i = 0; i < bf.length; i++) bf[i] = b[bOff + i];
            am = Nd4j.create(af, new long[] {rows, k}, 'c');
            bm = Nd4j.create(bf, new long[] {k, n}, 'c');
        }
        return toInts(am.mmul(bm));
    }

    /** Integer values of an exact float/double result, in C order. */
    static int[] toInts(INDArray r) {
        INDArray c = r.ordering() == 'c' ? Nd.contiguous(r) : r.dup('c');
        int[] out = new int[(int) c.length()];
        if (c.dataType() == DataType.FLOAT) {
            float[] f = c.data().asFloat();
            for (int i = 0; i < out.length; i++) out[i] = (int) Math.rint(f[i]);
        } else {
            double[] d = c.data().asDouble();
            for (int i = 0; i < out.length; i++) out[i] = (int) Math.rint(d[i]);
        }
        return out;
    }

    /** Tiny shape helpers. */
    static final class Tensorish {
        private Tensorish() {}

        static long size(long[] s) {
            long n = 1;
            for (long d : s) n *= d;
            return n;
        }
    }
}
