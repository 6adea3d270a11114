package io.condense.prune;

/** L1 magnitude {@code |w|} (Han et al. 2015); a group's score is its L1 norm. */
public final class Magnitude implements Importance {
    @Override public String name() { return "magnitude"; }

    @Override public Needs needs() { return Needs.WEIGHTS; }

    @Override
    public double[][] scores(PrunableLayer layer, double[][] w, ImportanceContext ctx) {
        double[][] s = new double[w.length][];
        for (int i = 0; i < w.length; i++) {
            s[i] = new double[w[i].length];
            for (int j = 0; j < w[i].length; j++) s[i][j] = Math.abs(w[i][j]);
        }
        return s;
    }
}
