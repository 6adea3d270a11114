package io.condense.stats;

import java.io.Serializable;

/** Evaluation counts of a classifier: a confusion matrix (integer counts, so merging is exact). */
public final class Confusion implements Serializable {
    private static final long serialVersionUID = 1L;

    private final long[][] m;

    public Confusion(int classes) { m = new long[classes][classes]; }

    public int classes() { return m.length; }

    /** Adds predictions against labels. */
    public void add(int[] predicted, int[] labels) {
        if (predicted.length != labels.length) throw new IllegalArgumentException("predictions and labels differ in length");
        for (int i = 0; i < labels.length; i++) {
            int l = labels[i], p = predicted[i];
            if (l < 0 || l >= m.length) throw new IllegalArgumentException("label " + l + " out of range [0, " + m.length + ")");
            if (p < 0 || p >= m.length) throw new IllegalArgumentException("prediction " + p + " out of range [0, " + m.length + ")");
            m[l][p]++;
        }
    }

    public Confusion merge(Confusion o) {
        if (o.m.length != m.length) throw new IllegalArgumentException("confusion matrices differ in classes");
        for (int i = 0; i < m.length; i++) for (int j = 0; j < m.length; j++) m[i][j] += o.m[i][j];
        return this;
    }

    /** [label][prediction] counts (a copy). */
    public long[][] matrix() {
        long[][] c = new long[m.length][];
        for (int i = 0; i < m.length; i++) c[i] = m[i].clone();
        return c;
    }

    public long total() {
        long t = 0;
        for (long[] r : m) for (long v : r) t += v;
        return t;
    }

    public long correct() {
        long t = 0;
        for (int i = 0; i < m.length; i++) t += m[i][i];
        return t;
    }

    /** Top-1 accuracy (NaN when empty). */
    public double accuracy() {
        long t = total();
        return t == 0 ? Double.NaN : (double) correct() / t;
    }
}
