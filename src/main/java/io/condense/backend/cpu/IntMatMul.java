package io.condense.backend.cpu;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import io.condense.ir.Node;

import java.lang.ref.WeakReference;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Exact integer matrix products with numpy matmul semantics, (A - a_zero_point) x (B - b_zero_point) accumulated as
 * int32. The products run as ND4J GEMMs on zero-point-adjusted values: in float32 when the largest possible partial
 * sum is below 2^24 (every intermediate is then an exactly representable integer), else in float64 (exact below 2^53).
 * Where the CPU has VNNI, uint8 x int8 products with 2-D B and one zero point per operand run instead through
 * oneDNN's integer GEMM ({@link DnnlGemm}), exact in int32 and several times faster than the float GEMM.
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

    /**
     * MatMulInteger's int32 result as a new INT32 array: through oneDNN's VNNI GEMM straight into the array's
     * memory when {@link #dnnlRows} applies, else {@link #matmul}.
     */
    static INDArray matmulArray(OpContext ctx, INDArray a, INDArray az, INDArray b, INDArray bz) {
        long[] shape = outShape(ctx, a.shape(), b.shape());
        INDArray r = dnnlRows(ctx, a, az, b, bz);
        if (r != null) return r.reshape('c', shape);
        return QuantKernels.intsOut(matmul(ctx, a, az, b, bz), shape, io.condense.ir.DType.INT32);
    }

    /**
     * (a - az) x (b - bz) as a new INT32 [rows of a, N] array computed by oneDNN, or null where that path does not
     * apply: it needs a VNNI CPU ({@link DnnlGemm#available}), dense uint8 A of rank >= 2 with a scalar zero point,
     * 2-D int8 B (shared by every batch) with one zero point for all columns.
     */
    static INDArray dnnlRows(OpContext ctx, INDArray a, INDArray az, INDArray b, INDArray bz) {
        if (!dnnlApplies(a, az, b)) return null;
        INDArray c = Nd4j.createUninitialized(DataType.INT, new long[] {a.length() / b.size(0), b.size(1)}, 'c');
        return dnnlInto(ctx, a, az, b, bz, c) ? c : null;
    }

    /** The shape conditions of {@link #dnnlRows} (B's zero points are checked when it runs). */
    static boolean dnnlApplies(INDArray a, INDArray az, INDArray b) {
        if (!DnnlGemm.available() || a.dataType() != DataType.UBYTE || b.dataType() != DataType.BYTE) return false;
        if (a.rank() < 2 || b.rank() != 2 || (az != null && az.length() != 1)) return false;
        long k = b.size(0), n = b.size(1);
        if (a.size(-1) != k || k == 0 || n == 0 || a.length() == 0) return false;
        long rows = a.length() / k;
        return rows * Math.max(k, n) <= Integer.MAX_VALUE && k * n <= Integer.MAX_VALUE;
    }

    /**
     * Writes the int32 rows of (a - az) x (b - bz) into the dense 4-byte-element array {@code c} (INT32, or a FLOAT
     * array the caller converts in place) through oneDNN; false (nothing written) where {@link #dnnlRows} does not
     * apply.
     */
    static boolean dnnlInto(OpContext ctx, INDArray a, INDArray az, INDArray b, INDArray bz, INDArray c) {
        if (!dnnlApplies(a, az, b)) return false;
        long k = b.size(0), n = b.size(1), rows = a.length() / k;
        if (c.length() != rows * n || c.data().getElementSize() != 4 || c.isView()) return false;
        NativeB nb = nativeB(ctx, b, bz, (int) n);
        if (nb.s8 == null) return false;
        INDArray ad = Nd.contiguous(a);
        if (!DnnlGemm.denseUint8(ad)) return false;
        int ao = az == null ? 0 : QuantKernels.ints(az)[0];
        DnnlGemm.u8s8s32(ad.data().addressPointer(), 0, ao, nb.s8, nb.zero, c.data().addressPointer(), (int) rows, (int) k, (int) n);
        return true;
    }

    /** B's int8 values in native memory for oneDNN and its one zero point (s8 null: the zero points differ). */
    private static final class NativeB {
        final WeakReference<INDArray> b, bz;
        final org.bytedeco.javacpp.BytePointer s8;
        final int zero;

        NativeB(INDArray b, INDArray bz, org.bytedeco.javacpp.BytePointer s8, int zero) {
            this.b = new WeakReference<>(b);
            this.bz = bz == null ? null : new WeakReference<>(bz);
            this.s8 = s8;
            this.zero = zero;
        }
    }

    /** NativeB per node, reused while B and its zero point are the same arrays (no int[] copy of B is made). */
    private static final Map<Node, NativeB> NATIVE = Collections.synchronizedMap(new WeakHashMap<>());

    private static NativeB nativeB(OpContext ctx, INDArray b, INDArray bz, int n) {
        NativeB p = NATIVE.get(ctx.node());
        if (p != null && p.b.get() == b && (p.bz == null ? bz == null : p.bz.get() == bz)) return p;
        int[] bzv = bz == null ? new int[] {0} : QuantKernels.ints(bz);
        if (bzv.length != 1 && bzv.length != n) throw ctx.error("b_zero_point must be a scalar or have " + n + " values");
        boolean uniform = true;
        for (int z : bzv) uniform &= z == bzv[0];
        p = new NativeB(b, bz, uniform ? DnnlGemm.nativeBytes((byte[]) Nd.toTensor(b, null).data()) : null, bzv[0]);
        NATIVE.put(ctx.node(), p);
        return p;
    }

    /** Exact (a - az) @ (b - bz); az scalar or per row of a (M values), bz scalar or per column of b (N values). */
    static int[] matmul(OpContext ctx, INDArray a, INDArray az, INDArray b, INDArray bz) {
        long[] as = a.shape(), bs = b.shape();
        long[] a2 = as.length == 1 ? new long[] {1, as[0]} : as;
        long[] b2 = bs.length == 1 ? new long[] {bs[0], 1} : bs;
        outShape(ctx, as, bs);
        int m = (int) a2[a2.length - 2], k = (int) a2[a2.length - 1], n = (int) b2[b2.length - 1];
        int[] av = QuantKernels.ints(a);
        int[] azv = az == null ? new int[] {0} : QuantKernels.ints(az);
        if (azv.length != 1 && azv.length != m) throw ctx.error("a_zero_point must be a scalar or have " + m + " values");
        PreparedB pb = prepareB(ctx, b, bz, n);
        int[] bv = pb.bv;
        long maxA = 0;
        for (int i = 0; i < av.length; i++) {
            av[i] -= azv[azv.length == 1 ? 0 : (i / k) % m];
            maxA = Math.max(maxA, Math.abs((long) av[i]));
        }
        long maxCol = pb.maxCol;
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
            int[] res = toInts(product(matrix(av, 0, rows, k, useFloat), pb.matrix(k, n, useFloat)));
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
        return toInts(product(matrix(a, 0, rows, k, useFloat), matrix(b, bOff, k, n, useFloat)));
    }

    /** A new C-ordered [rows, cols] float matrix holding {@code f} (one bulk copy into native memory). */
    static INDArray wrap(float[] f, int rows, int cols) {
        INDArray a = Nd4j.createUninitialized(DataType.FLOAT, new long[] {rows, cols}, 'c');
        a.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().put(f, 0, rows * cols);
        return a;
    }

    static INDArray wrap(double[] d, int rows, int cols) {
        INDArray a = Nd4j.createUninitialized(DataType.DOUBLE, new long[] {rows, cols}, 'c');
        a.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asDoubleBuffer().put(d, 0, rows * cols);
        return a;
    }

    /** v[off .. off + rows*cols] as a C-ordered float (or double) matrix. */
    static INDArray matrix(int[] v, int off, int rows, int cols, boolean useFloat) {
        if (useFloat) {
            float[] f = new float[rows * cols];
            for (int i = 0; i < f.length; i++) f[i] = v[off + i];
            return wrap(f, rows, cols);
        }
        double[] d = new double[rows * cols];
        for (int i = 0; i < d.length; i++) d[i] = v[off + i];
        return wrap(d, rows, cols);
    }

    /** B with its zero point subtracted, the largest column sum of magnitudes, and (for 2-D B) its GEMM matrices. */
    private static final class PreparedB {
        final WeakReference<INDArray> b, bz;
        final int[] bv;
        final long maxCol;
        INDArray f, d;

        PreparedB(INDArray b, INDArray bz, int[] bv, long maxCol) {
            this.b = new WeakReference<>(b);
            this.bz = bz == null ? null : new WeakReference<>(bz);
            this.bv = bv;
            this.maxCol = maxCol;
        }

        synchronized INDArray matrix(int k, int n, boolean useFloat) {
            if (useFloat) return f != null ? f : (f = IntMatMul.matrix(bv, 0, k, n, true));
            return d != null ? d : (d = IntMatMul.matrix(bv, 0, k, n, false));
        }
    }

    /** Prepared B per node, reused while B and its zero point are the same arrays (initializers are). */
    private static final Map<Node, PreparedB> CACHE = Collections.synchronizedMap(new WeakHashMap<>());

    private static PreparedB prepareB(OpContext ctx, INDArray b, INDArray bz, int n) {
        PreparedB p = CACHE.get(ctx.node());
        if (p != null && p.b.get() == b && (p.bz == null ? bz == null : p.bz.get() == bz)) return p;
        int[] bv = QuantKernels.ints(b);
        int[] bzv = bz == null ? new int[] {0} : QuantKernels.ints(bz);
        if (bzv.length != 1 && bzv.length != n) throw ctx.error("b_zero_point must be a scalar or have " + n + " values");
        long[] colSum = new long[n];
        for (int i = 0; i < bv.length; i++) {
            int col = i % n;
            bv[i] -= bzv[bzv.length == 1 ? 0 : col];
            colSum[col] += Math.abs((long) bv[i]);
        }
        long maxCol = 0;
        for (long c : colSum) maxCol = Math.max(maxCol, c);
        p = new PreparedB(b, bz, bv, maxCol);
        CACHE.put(ctx.node(), p);
        return p;
    }

    /** a x b as a new C-ordered array, through BLAS gemm (much cheaper per call than INDArray.mmul). */
    static INDArray product(INDArray a, INDArray b) {
        INDArray c = Nd4j.createUninitialized(a.dataType(), new long[] {a.size(0), b.size(1)}, 'c');
        return Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
    }

    /** Copies the whole-number values of a fresh C-ordered float/double GEMM result into {@code out[off..]}. */
    static void copyInts(INDArray r, int[] out, int off) {
        int n = (int) r.length();
        java.nio.ByteBuffer bb = r.data().asNio().order(java.nio.ByteOrder.nativeOrder());
        if (r.dataType() == DataType.FLOAT) {
            java.nio.FloatBuffer f = bb.asFloatBuffer();
            for (int i = 0; i < n; i++) out[off + i] = (int) f.get(i);
        } else {
            java.nio.DoubleBuffer d = bb.asDoubleBuffer();
            for (int i = 0; i < n; i++) out[off + i] = (int) d.get(i);
        }
    }

    /**
     * Scatters a fresh C-ordered [rows, batch * len] GEMM result into out: row r, image b goes to
     * {@code out[off + b * batchStride + r * len ..]}.
     */
    static void copyInts(INDArray r, int rows, int batch, int len, int[] out, int off, int batchStride) {
        java.nio.ByteBuffer bb = r.data().asNio().order(java.nio.ByteOrder.nativeOrder());
        int ld = batch * len;
        if (r.dataType() == DataType.FLOAT) {
            java.nio.FloatBuffer f = bb.asFloatBuffer();
            for (int row = 0; row < rows; row++) {
                for (int b = 0; b < batch; b++) {
                    int src = row * ld + b * len, dst = off + b * batchStride + row * len;
                    for (int i = 0; i < len; i++) out[dst + i] = (int) f.get(src + i);
                }
            }
        } else {
            java.nio.DoubleBuffer d = bb.asDoubleBuffer();
            for (int row = 0; row < rows; row++) {
                for (int b = 0; b < batch; b++) {
                    int src = row * ld + b * len, dst = off + b * batchStride + row * len;
                    for (int i = 0; i < len; i++) out[dst + i] = (int) d.get(src + i);
                }
            }
        }
    }

    /** Integer values of an exact float/double result (whole numbers, so the cast is exact), in C order. */
    static int[] toInts(INDArray r) {
        INDArray c = r.ordering() == 'c' ? Nd.contiguous(r) : r.dup('c');
        int[] out = new int[(int) c.length()];
        if (c.dataType() == DataType.FLOAT) {
            float[] f = c.data().asFloat();
            for (int i = 0; i < out.length; i++) out[i] = (int) f[i];
        } else {
            double[] d = c.data().asDouble();
            for (int i = 0; i < out.length; i++) out[i] = (int) d[i];
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
