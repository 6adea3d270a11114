package io.condense.prune;

import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.quant.Calibration;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Statistics of a layer's input over calibration data, in the columns of its weight matrix
 * ({@link PrunableLayer#matrix}): per column the sum of squares {@code sum_rows x_j^2} (Wanda's
 * {@code ||x_j||_2^2}) and optionally {@code X^T X} (the layer Hessian of SparseGPT/OBS, up to the factor 2/n).
 * Conv inputs are unfolded into patches (im2col: one row per output position); grouped Conv keeps one set per
 * group. Values are collected with {@link Calibration#probe} (a copy of the graph with the layer inputs as extra
 * outputs on the CPU backend).
 */
public final class LayerInputStats {
    public final PrunableLayer layer;
    public final int groups;
    /** [group][col]: sum over calibration rows of x^2. */
    public final double[][] sumSquares;
    /** [group][col][col]: X^T X, or null when not collected. */
    public final double[][][] xtx;
    /** Rows (samples x output positions) summed. */
    public long rows;

    LayerInputStats(PrunableLayer layer, boolean hessian) {
        this.layer = layer;
        this.groups = (int) Math.max(1, layer.group());
        int c = layer.cols();
        sumSquares = new double[groups][c];
        xtx = hessian ? new double[groups][c][c] : null;
    }

    /** Group of an output row (grouped Conv); 0 otherwise. */
    public int groupOf(int row) { return groups == 1 ? 0 : row / (layer.rows() / groups); }

    /** ||x_j||_2 per column for a group. */
    public double[] norms(int group) {
        double[] s = sumSquares[group], n = new double[s.length];
        for (int i = 0; i < s.length; i++) n[i] = Math.sqrt(s[i]);
        return n;
    }

    /**
     * @param maxRows rows (per layer) summed into the Hessian at most (0 = all); norms use every row
     */
    public static Map<String, LayerInputStats> collect(Graph g, List<PrunableLayer> layers, Iterable<Map<String, Tensor>> batches,
                                                       int maxBatches, boolean hessian, long maxRows, PrintStream progress) {
        Map<String, LayerInputStats> out = new LinkedHashMap<>();
        Map<String, Node> byName = new LinkedHashMap<>();
        for (Node n : g.nodes()) byName.put(n.name().isEmpty() ? n.output(0) : n.name(), n);
        List<String> acts = new ArrayList<>();
        for (PrunableLayer l : layers) {
            out.put(l.weight(), new LayerInputStats(l, hessian));
            if (!acts.contains(l.activation())) acts.add(l.activation());
        }
        Calibration.probe(g, acts, batches, maxBatches, progress, (nb, values) -> {
            for (LayerInputStats s : out.values()) {
                Tensor x = values.get(s.layer.activation());
                for (int gi = 0; gi < s.groups; gi++) {
                    INDArray rows = rows(s.layer, byName.get(s.layer.node()), x, gi);
                    s.add(gi, rows, maxRows);
                }
                s.rows += rowCount(s.layer, byName.get(s.layer.node()), x);
            }
        });
        return out;
    }

    private long hessRows;

    private void add(int gi, INDArray a, long maxRows) {
        double[] sq = a.mul(a).sum(0).toDoubleVector();
        for (int j = 0; j < sq.length; j++) sumSquares[gi][j] += sq[j];
        if (xtx == null) return;
        long take = a.size(0);
        if (maxRows > 0) take = Math.min(take, maxRows - hessRows);
        if (take <= 0) return;
        if (take < a.size(0)) a = a.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, take), org.nd4j.linalg.indexing.NDArrayIndex.all());
        double[] c = a.transpose().mmul(a).dup('c').data().asDouble();
        int k = sq.length;
        double[][] h = xtx[gi];
        for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) h[i][j] += c[i * k + j];
        if (gi == groups - 1) hessRows += take;
    }

    /** Hessian rows summed (<= {@link #rows} when capped). */
    public long hessianRows() { return hessRows; }

    private static long rowCount(PrunableLayer l, Node n, Tensor x) {
        if (!l.op().equals("Conv")) return l.transA() ? x.size() / x.dim(0) : x.size() / x.dim(x.rank() - 1);
        long[] o = convOut(l, n, x.shape());
        return x.dim(0) * o[0] * o[1];
    }

    /** The layer input as [rows][cols] (double) for one group. */
    static INDArray rows(PrunableLayer l, Node n, Tensor x, int gi) {
        double[] v = x.toDoubleArray();
        for (double d : v) if (!Double.isFinite(d)) throw new ModelException("calibration: input of " + l.node() + " has NaN/infinite values");
        int cols = l.cols();
        if (!l.op().equals("Conv")) {
            long[] sh = x.shape();
            if (l.transA()) return Nd4j.create(v, new long[] {sh[0], v.length / sh[0]}, DataType.DOUBLE).transpose().dup('c');
            if (sh[sh.length - 1] != cols) throw new ModelException(l.node() + ": input has " + sh[sh.length - 1] + " features, weight expects " + cols);
            return Nd4j.create(v, new long[] {v.length / cols, cols}, DataType.DOUBLE);
        }
        long[] sh = x.shape();
        if (sh.length != 4) throw new ModelException(l.node() + ": pruning statistics support 2-D Conv only, input is rank " + sh.length);
        int N = (int) sh[0], C = (int) sh[1], H = (int) sh[2], W = (int) sh[3];
        int cg = (int) l.shape()[1], kh = (int) l.shape()[2], kw = (int) l.shape()[3];
        long[] st = n.attrLongs("strides", new long[] {1, 1}), dl = n.attrLongs("dilations", new long[] {1, 1});
        long[] pads = pads(l, n, sh);
        long[] o = convOut(l, n, sh);
        int oh = (int) o[0], ow = (int) o[1];
        int p = N * oh * ow;
        double[] m = new double[p * cols];
        int c0 = gi * cg;
        int r = 0;
        for (int b = 0; b < N; b++) {
            for (int y = 0; y < oh; y++) {
                for (int xo = 0; xo < ow; xo++, r++) {
                    int base = r * cols;
                    for (int ci = 0; ci < cg; ci++) {
                        int plane = (b * C + c0 + ci) * H * W;
                        for (int ky = 0; ky < kh; ky++) {
                            int iy = (int) (y * st[0] - pads[0] + ky * dl[0]);
                            for (int kx = 0; kx < kw; kx++) {
                                int ix = (int) (xo * st[1] - pads[1] + kx * dl[1]);
                                if (iy >= 0 && iy < H && ix >= 0 && ix < W) m[base + (ci * kh + ky) * kw + kx] = v[plane + iy * W + ix];
                            }
                        }
                    }
                }
            }
        }
        return Nd4j.create(m, new long[] {p, cols}, DataType.DOUBLE);
    }

    private static long[] pads(PrunableLayer l, Node n, long[] xs) {
        long[] p = n.attrLongs("pads", new long[] {0, 0, 0, 0});
        String auto = n.attrString("auto_pad", "NOTSET");
        if (auto.equals("SAME_UPPER") || auto.equals("SAME_LOWER")) {
            long[] st = n.attrLongs("strides", new long[] {1, 1}), dl = n.attrLongs("dilations", new long[] {1, 1});
            long[] out = new long[4];
            for (int d = 0; d < 2; d++) {
                long in = xs[2 + d], k = (l.shape()[2 + d] - 1) * dl[d] + 1, o = (in + st[d] - 1) / st[d];
                long total = Math.max(0, (o - 1) * st[d] + k - in);
                long small = total / 2, big = total - small;
                out[d] = auto.equals("SAME_UPPER") ? small : big;
                out[d + 2] = auto.equals("SAME_UPPER") ? big : small;
            }
            return out;
        }
        return p;
    }

    private static long[] convOut(PrunableLayer l, Node n, long[] xs) {
        long[] st = n.attrLongs("strides", new long[] {1, 1}), dl = n.attrLongs("dilations", new long[] {1, 1});
        long[] p = pads(l, n, xs);
        long[] o = new long[2];
        for (int d = 0; d < 2; d++) {
            long k = (l.shape()[2 + d] - 1) * dl[d] + 1;
            o[d] = (xs[2 + d] + p[d] + p[d + 2] - k) / st[d] + 1;
        }
        return o;
    }
}
