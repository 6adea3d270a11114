package io.condense.prune;

/**
 * L2: per weight {@code w^2} (the same order as L1 for unstructured pruning); a group's score is its L2 norm
 * {@code sqrt(sum w^2)} (Li et al. 2017 use L1, He et al.'s soft filter pruning L2).
 */
public final class L2Norm implements Importance {
    @Override public String name() { return "l2"; }

    @Override public Needs needs() { return Needs.WEIGHTS; }

    @Override
    public double[][] scores(PrunableLayer layer, double[][] w, ImportanceContext ctx) {
        double[][] s = new double[w.length][];
        for (int i = 0; i < w.length; i++) {
            s[i] = new double[w[i].length];
            for (int j = 0; j < w[i].length; j++) s[i][j] = w[i][j] * w[i][j];
        }
        return s;
    }

    @Override
    public double groupScore(double[] weightScores) {
        double s = 0;
        for (double v : weightScores) s += v;
        return Math.sqrt(s);
    }
}
