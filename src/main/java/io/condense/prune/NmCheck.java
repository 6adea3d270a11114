package io.condense.prune;

import io.condense.ir.Graph;
import io.condense.ir.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Verifies the N:M pattern of the weights of a (dense) model, per layer: in every group of {@code m} consecutive
 * input channels of one output (see {@link PrunableLayer}) at most {@code n} weights are non-zero. Also says whether
 * a layer is large enough to gain from sparse tensor cores: at least {@link #MIN_CHANNELS} input and output
 * channels, both multiples of 16 (the shapes cuSPARSELt and TensorRT accelerate; smaller layers are kernel-launch
 * and memory bound, where 2:4 gives nothing).
 */
public final class NmCheck {
    public static final int MIN_CHANNELS = 256;

    private NmCheck() {}

    /**
     * @param groups     N:M groups checked (0 when the input channels are not a multiple of m)
     * @param violations groups with more than n non-zeros
     * @param sparsity   zero fraction of the weight
     * @param tensorCoreEligible layer shape fits sparse tensor cores (see {@link #eligible})
     * @param reason     why not eligible (empty when eligible)
     */
    public record LayerCheck(String node, String op, String weight, int outChannels, int inChannels, long groups, long violations,
                             double sparsity, boolean tensorCoreEligible, String reason) {
        public boolean conforms() { return groups > 0 && violations == 0; }
    }

    public static List<LayerCheck> check(Graph g, int n, int m) {
        List<LayerCheck> out = new ArrayList<>();
        for (PrunableLayer l : PrunableLayer.find(g)) {
            Tensor t = g.initializers().get(l.weight());
            double[][] w = l.matrix(t);
            long groups = 0, bad = 0, zeros = 0;
            for (double[] row : w) for (double v : row) if (v == 0) zeros++;
            int stride = l.nmStride(), cin = l.inChannels();
            if (cin % m == 0) {
                for (double[] row : w) {
                    for (int blk = 0; blk < cin / m; blk++) {
                        for (int p = 0; p < stride; p++) {
                            int nz = 0;
                            for (int k = 0; k < m; k++) if (row[(blk * m + k) * stride + p] != 0) nz++;
                            groups++;
                            if (nz > n) bad++;
                        }
                    }
                }
            }
            String reason = eligible(l.rows(), cin);
            out.add(new LayerCheck(l.node(), l.op(), l.weight(), l.rows(), cin, groups, bad, (double) zeros / l.size(), reason.isEmpty(), reason));
        }
        return out;
    }

    /**
     * True when every group of {@code m} consecutive elements along {@code axis} of {@code w} (the reduction axis)
     * has at most {@code n} non-zeros. A reduction length that is not a multiple of {@code m} fails: TensorRT pads
     * such a tail and does not check it either, so this stays strict.
     */
    public static boolean conforms(Tensor w, int axis, int n, int m) {
        long[] s = w.shape();
        if (axis < 0 || axis >= s.length) return false;
        long k = s[axis];
        if (k < m || k % m != 0) return false;
        long inner = 1;
        for (int i = axis + 1; i < s.length; i++) inner *= s[i];
        long outer = w.size() / (k * inner);
        for (long o = 0; o < outer; o++) {
            for (long in = 0; in < inner; in++) {
                for (long g = 0; g < k; g += m) {
                    int nz = 0;
                    for (int j = 0; j < m; j++) if (w.getDouble((int) ((o * k + g + j) * inner + in)) != 0) nz++;
                    if (nz > n) return false;
                }
            }
        }
        return true;
    }

    /** Empty when a layer of these channel counts can gain from 2:4 sparse tensor cores, else why not. */
    public static String eligible(int outChannels, int inChannels) {
        List<String> why = new ArrayList<>();
        if (outChannels < MIN_CHANNELS) why.add(outChannels + " output channels < " + MIN_CHANNELS);
        if (inChannels < MIN_CHANNELS) why.add(inChannels + " input channels < " + MIN_CHANNELS);
        if (outChannels % 16 != 0) why.add(outChannels + " output channels not a multiple of 16");
        if (inChannels % 16 != 0) why.add(inChannels + " input channels not a multiple of 16");
        return String.join("; ", why);
    }

    /** A markdown table of the checks. */
    public static String markdown(List<LayerCheck> checks, int n, int m) {
        StringBuilder sb = new StringBuilder();
        sb.append("| layer | op | out x in | sparsity | ").append(n).append(':').append(m).append(" groups | violations | pattern | sparse tensor cores |\n");
        sb.append("|---|---|---|---|---|---|---|---|\n");
        for (LayerCheck c : checks) {
            sb.append(String.format(java.util.Locale.ROOT, "| %s | %s | %d x %d | %.3f | %d | %d | %s | %s |%n", c.node(), c.op(), c.outChannels(),
                    c.inChannels(), c.sparsity(), c.groups(), c.violations(),
                    c.groups() == 0 ? "n/a (channels not a multiple of " + m + ")" : c.conforms() ? "ok" : "VIOLATED",
                    c.tensorCoreEligible() ? "yes" : "no: " + c.reason()));
        }
        return sb.toString();
    }
}
