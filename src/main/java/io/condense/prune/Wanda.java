package io.condense.prune;

/**
 * Wanda (Sun et al. 2023, "A Simple and Effective Pruning Approach for Large Language Models"):
 * {@code |w_ij| * ||x_j||_2}, the weight magnitude times the L2 norm of its input feature over the calibration
 * data. The paper compares weights per output (row); {@link MaskSelector} does that for {@code per-output}
 * granularity and also allows per-layer and N:M comparison groups.
 */
public final class Wanda implements Importance {
    @Override public String name() { return "wanda"; }

    @Override public Needs needs() { return Needs.CALIBRATION; }

    @Override
    public double[][] scores(PrunableLayer layer, double[][] w, ImportanceContext ctx) {
        LayerInputStats st = ctx.inputStats(layer);
        double[][] s = new double[w.length][];
        double[][] norms = new double[st.groups][];
        for (int g = 0; g < st.groups; g++) norms[g] = st.norms(g);
        for (int i = 0; i < w.length; i++) {
            double[] n = norms[st.groupOf(i)];
            s[i] = new double[w[i].length];
            for (int j = 0; j < w[i].length; j++) s[i][j] = Math.abs(w[i][j]) * n[j];
        }
        return s;
    }
}
