package io.condense.backend.cpu;

import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.passes.Fusion;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.stream.IntStream;

/**
 * Sparse kernels for unstructured-pruned constant weights: MatMul / FusedMatMul (W [K, N]), Gemm (A [M, K] times
 * a constant B, bias C of N or 1 values) and 1x1 Conv / FusedConv (stride 1, no padding, group 1). Chosen when
 * the session opens if the weight's density is at most {@link #maxDensity()} (system property
 * {@code condense.sparse.maxDensity}, default 0.3; {@code condense.sparse=false} turns sparse kernels off) and
 * the weight has at least {@link #MIN_ELEMENTS} elements.
 *
 * <p>The weight is stored as CSR by output: output o reads {@code vals[j]} times input row {@code cols[j]} for
 * j in {@code [rowPtr[o], rowPtr[o+1])}. One kernel, {@link #spmm}, computes {@code Y[o, :] = sum_j vals[j] *
 * X[cols[j], :]} with a contiguous inner loop (auto-vectorized by the JIT), for MatMul on the transposed
 * activations and for a 1x1 Conv directly on each image's [C, H*W] planes. Outputs are split across the common
 * fork-join pool when the work is large. Results equal the dense kernels up to float summation order.
 */
final class SparseKernels {
    private SparseKernels() {}

    static final int MIN_ELEMENTS = 4096;
    /** Multiply-adds above which outputs are computed in parallel. */
    static final long PARALLEL_WORK = 1L << 17;

    static double maxDensity() {
        String p = System.getProperty("condense.sparse.maxDensity");
        return p == null ? 0.3 : Double.parseDouble(p);
    }

    static boolean enabled() { return !"false".equalsIgnoreCase(System.getProperty("condense.sparse", "true")); }

    /** CSR of a [rows, cols] matrix given row-major; {@code transpose} stores its transpose instead. */
    record Csr(int rows, int cols, int[] rowPtr, int[] colIdx, float[] vals) {
        static Csr of(float[] a, int r, int c, boolean transpose) {
            int outRows = transpose ? c : r, outCols = transpose ? r : c;
            int[] ptr = new int[outRows + 1];
            int nnz = 0;
            for (float v : a) if (v != 0) nnz++;
            int[] idx = new int[nnz];
            float[] val = new float[nnz];
            int j = 0;
            for (int o = 0; o < outRows; o++) {
                for (int i = 0; i < outCols; i++) {
                    float v = transpose ? a[i * c + o] : a[o * c + i];
                    if (v != 0) { idx[j] = i; val[j] = v; j++; }
                }
                ptr[o + 1] = j;
            }
            return new Csr(outRows, outCols, ptr, idx, val);
        }

        int nnz() { return vals.length; }
    }

    static double density(Tensor w) {
        float[] d = (float[]) w.data();
        long nz = 0;
        for (float v : d) if (v != 0) nz++;
        return d.length == 0 ? 1 : nz / (double) d.length;
    }

    /** A sparse kernel for {@code n} when its weight is sparse enough, else {@code k}. */
    static Kernel plan(Node n, Graph g, Kernel k) {
        if (!enabled()) return k;
        boolean fused = Fusion.DOMAIN.equals(n.domain());
        if (!fused && !n.domain().isEmpty()) return k;
        Tensor w = g.initializers().get(n.input(1));
        if (w == null || w.dtype() != DType.FLOAT32 || w.size() < MIN_ELEMENTS || density(w) > maxDensity()) return k;
        boolean relu = fused && "Relu".equals(n.attrString("activation", ""));
        String op = n.opType();
        if (op.equals("MatMul") || op.equals(Fusion.FUSED_MATMUL)) {
            if (w.rank() != 2) return k;
            float[] bias = fused ? vector(g, n.input(2), (int) w.dim(1)) : null;
            if (fused && n.hasInput(2) && bias == null) return k;
            return new MatMulK(Csr.of((float[]) w.data(), (int) w.dim(0), (int) w.dim(1), true), bias, 1f, relu, k);
        }
        if (op.equals("Gemm")) {
            if (w.rank() != 2 || n.attrLong("transA", 0) != 0) return k;
            boolean transB = n.attrLong("transB", 0) != 0;
            int nOut = (int) w.dim(transB ? 0 : 1);
            float alpha = n.attrFloat("alpha", 1f), beta = n.attrFloat("beta", 1f);
            float[] c = null;
            if (n.hasInput(2)) {
                Tensor ct = g.initializers().get(n.input(2));
                if (ct == null || ct.dtype() != DType.FLOAT32 || (ct.size() != nOut && ct.size() != 1) || (ct.rank() == 2 && ct.dim(0) != 1 && ct.size() != 1)) return k;
                float[] cd = (float[]) ct.data();
                c = new float[nOut];
                for (int i = 0; i < nOut; i++) c[i] = beta * cd[cd.length == 1 ? 0 : i];
            }
            return new MatMulK(Csr.of((float[]) w.data(), (int) w.dim(0), (int) w.dim(1), !transB), c, alpha, false, k);
        }
        if (op.equals("Conv") || op.equals(Fusion.FUSED_CONV)) {
            if (w.rank() != 4 || w.dim(2) != 1 || w.dim(3) != 1 || n.attrLong("group", 1) != 1) return k;
            for (String a : new String[] {"strides", "dilations"}) {
                long[] v = n.attrLongs(a, null);
                if (v != null) for (long x : v) if (x != 1) return k;
            }
            long[] pads = n.attrLongs("pads", null);
            if (pads != null) for (long x : pads) if (x != 0) return k;
            if (!n.attrString("auto_pad", "NOTSET").equals("NOTSET") && !n.attrString("auto_pad", "").equals("VALID")) return k;
            int cout = (int) w.dim(0), cin = (int) w.dim(1);
            float[] bias = vector(g, n.input(2), cout);
            if (n.hasInput(2) && bias == null) return k;
            return new ConvK(Csr.of((float[]) w.data(), cout, cin, false), bias, relu, k);
        }
        return k;
    }

    private static float[] vector(Graph g, String name, int n) {
        if (name == null || name.isEmpty()) return null;
        Tensor t = g.initializers().get(name);
        if (t == null || t.dtype() != DType.FLOAT32 || t.size() != n) return null;
        return ((float[]) t.data()).clone();
    }

    /**
     * {@code y[o * cols + i] = bias[o] + scale * sum_j vals[j] * x[colIdx[j] * cols + i]} for outputs
     * {@code [from, to)}; then ReLU if asked.
     */
    static void spmm(Csr w, float[] x, int xOff, int cols, float[] y, int yOff, float[] bias, float scale, boolean relu, int from, int to) {
        int[] ptr = w.rowPtr(), idx = w.colIdx();
        float[] val = w.vals();
        for (int o = from; o < to; o++) {
            int yo = yOff + o * cols;
            float b = bias == null ? 0f : bias[o];
            if (cols == 1) {
                float s = 0;
                for (int j = ptr[o]; j < ptr[o + 1]; j++) s += val[j] * x[xOff + idx[j]];
                s = s * scale + b;
                y[yo] = relu && s < 0 ? 0 : s;
                continue;
            }
            java.util.Arrays.fill(y, yo, yo + cols, 0f);
            for (int j = ptr[o]; j < ptr[o + 1]; j++) {
                float v = val[j];
                int xo = xOff + idx[j] * cols;
                for (int i = 0; i < cols; i++) y[yo + i] += v * x[xo + i];
            }
            for (int i = 0; i < cols; i++) {
                float s = y[yo + i] * scale + b;
                y[yo + i] = relu && s < 0 ? 0 : s;
            }
        }
    }

    static void spmmParallel(Csr w, float[] x, int xOff, int cols, float[] y, int yOff, float[] bias, float scale, boolean relu) {
        long work = (long) w.nnz() * cols;
        int rows = w.rows();
        if (work < PARALLEL_WORK || rows < 2) {
            spmm(w, x, xOff, cols, y, yOff, bias, scale, relu, 0, rows);
            return;
        }
        int parts = Math.min(rows, 4 * Runtime.getRuntime().availableProcessors());
        IntStream.range(0, parts).parallel().forEach(p ->
                spmm(w, x, xOff, cols, y, yOff, bias, scale, relu, (int) ((long) rows * p / parts), (int) ((long) rows * (p + 1) / parts)));
    }

    private static INDArray wrap(float[] data, long[] shape) {
        INDArray a = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
        a.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().put(data);
        return a;
    }

    /** x [..., K] times a sparse W^T (N rows of K): y [..., N]. */
    static final class MatMulK implements Kernel {
        final Csr wt;
        private final float[] bias;
        private final float alpha;
        private final boolean relu;
        private final Kernel dense;

        MatMulK(Csr wt, float[] bias, float alpha, boolean relu, Kernel dense) {
            this.wt = wt; this.bias = bias; this.alpha = alpha; this.relu = relu; this.dense = dense;
        }

        @Override
        public INDArray[] run(OpContext c) {
            INDArray a = c.in(0);
            int k = wt.cols(), n = wt.rows();
            if (a.dataType() != DataType.FLOAT || a.rank() < 1 || a.size(-1) != k || (c.node().opType().equals("Gemm") && a.rank() != 2)) {
                return dense.run(c);
            }
            int m = (int) (a.length() / Math.max(1, k));
            float[] x = ConvOps.floatsOf(a);
            float[] xt = m == 1 ? x : new float[x.length];
            if (m > 1) for (int r = 0; r < m; r++) for (int i = 0; i < k; i++) xt[i * m + r] = x[r * k + i];
            float[] yt = new float[n * m];
            spmmParallel(wt, xt, 0, m, yt, 0, bias, alpha, relu);
            float[] y = m == 1 ? yt : new float[yt.length];
            if (m > 1) for (int o = 0; o < n; o++) for (int r = 0; r < m; r++) y[r * n + o] = yt[o * m + r];
            long[] shape = a.shape().clone();
            shape[shape.length - 1] = n;
            return OpContext.one(wrap(y, shape));
        }
    }

    /** 1x1 convolution [B, Cin, H, W] -> [B, Cout, H, W] with a sparse [Cout, Cin] weight. */
    static final class ConvK implements Kernel {
        final Csr w;
        private final float[] bias;
        private final boolean relu;
        private final Kernel dense;

        ConvK(Csr w, float[] bias, boolean relu, Kernel dense) {
            this.w = w; this.bias = bias; this.relu = relu; this.dense = dense;
        }

        @Override
        public INDArray[] run(OpContext c) {
            INDArray x = c.in(0);
            if (x.dataType() != DataType.FLOAT || x.rank() < 3 || x.size(1) != w.cols()) return dense.run(c);
            int b = (int) x.size(0), cin = w.cols(), cout = w.rows();
            int hw = (int) (x.length() / Math.max(1, (long) b * cin));
            float[] xd = ConvOps.floatsOf(x);
            float[] y = new float[b * cout * hw];
            for (int i = 0; i < b; i++) spmmParallel(w, xd, i * cin * hw, hw, y, i * cout * hw, bias, 1f, relu);
            long[] shape = x.shape().clone();
            shape[1] = cout;
            return OpContext.one(wrap(y, shape));
        }
    }
}
