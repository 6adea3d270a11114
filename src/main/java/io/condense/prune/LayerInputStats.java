package io.condense.prune;

import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.quant.Calibration;
import io.condense.stats.LayerMoments;
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
    private final long hessRows;

    /** The statistics of {@code layer} from its accumulated moments, one per group. */
    public LayerInputStats(PrunableLayer layer, LayerMoments[] moments) {
        this.layer = layer;
        this.groups = (int) Math.max(1, layer.group());
        if (moments.length != groups) throw new IllegalArgumentException(layer.node() + ": " + moments.length + " moment sets for " + groups + " groups");
        boolean hessian = moments[0].hasHessian();
        sumSquares = new double[groups][];
        xtx = hessian ? new double[groups][][] : null;
        for (int gi = 0; gi < groups; gi++) {
            sumSquares[gi] = moments[gi].sumSquares();
            if (hessian) xtx[gi] = moments[gi].xtx();
        }
        rows = moments[0].rows();
        hessRows = moments[0].hessianRows();
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
        Map<String, LayerMoments[]> m = moments(g, layers, batches, maxBatches, hessian, maxRows, 0, progress);
        Map<String, LayerInputStats> out = new LinkedHashMap<>();
        for (PrunableLayer l : layers) out.put(l.weight(), new LayerInputStats(l, m.get(l.weight())));
        return out;
    }

    /**
     * The mergeable accumulation behind {@link #collect}: per layer weight, one {@link LayerMoments} per group,
     * each batch contributing one chunk keyed by {@code firstBatch} + its position in {@code batches}. Partitions of
     * the calibration batches (each given its global first batch index) merged with {@link LayerMoments#merge} equal
     * one call over all batches bit for bit, when {@code maxRows} is 0 (a row cap depends on the rows before).
     */
    public static Map<String, LayerMoments[]> moments(Graph g, List<PrunableLayer> layers, Iterable<Map<String, Tensor>> batches,
                                                      int maxBatches, boolean hessian, long maxRows, long firstBatch, PrintStream progress) {
        Map<String, LayerMoments[]> out = new LinkedHashMap<>();
        Map<String, PrunableLayer> byWeight = new LinkedHashMap<>();
        Map<String, Node> byName = new LinkedHashMap<>();
        for (Node n : g.nodes()) byName.put(n.name().isEmpty() ? n.output(0) : n.name(), n);
        List<String> acts = new ArrayList<>();
        for (PrunableLayer l : layers) {
            int groups = (int) Math.max(1, l.group());
            LayerMoments[] ms = new LayerMoments[groups];
            for (int gi = 0; gi < groups; gi++) ms[gi] = new LayerMoments(l.cols(), hessian);
            out.put(l.weight(), ms);
            byWeight.put(l.weight(), l);
            if (!acts.contains(l.activation())) acts.add(l.activation());
        }
        Calibration.probe(g, acts, batches, maxBatches, progress, (nb, values) -> {
            for (Map.Entry<String, LayerMoments[]> e : out.entrySet()) {
                PrunableLayer l = byWeight.get(e.getKey());
                LayerMoments[] ms = e.getValue();
                Tensor x = values.get(l.activation());
                long take = -1;
                if (maxRows > 0) take = Math.max(0, maxRows - ms[0].hessianRows());
                for (int gi = 0; gi < ms.length; gi++) ms[gi].add(firstBatch + nb, rows(l, byName.get(l.node()), x, gi), take);
            }
        });
        return out;
    }

    /** Hessian rows summed (<= {@link #rows} when capped). */
    public long hessianRows() { return hessRows; }

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
