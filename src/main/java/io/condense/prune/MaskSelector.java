package io.condense.prune;

import java.util.Arrays;
import java.util.List;

/**
 * Turns importance scores into keep masks ({@code true} = keep). Ties are broken by position (the earlier weight is
 * pruned first), so masks are deterministic.
 */
public final class MaskSelector {
    private MaskSelector() {}

    /** Prune the {@code round(sparsity * size)} lowest scores of the whole matrix. */
    public static boolean[][] layer(double[][] s, double sparsity) { return global(java.util.Collections.<double[][]>singletonList(s), sparsity).get(0); }

    /** Prune the {@code round(sparsity * cols)} lowest scores of every row. */
    public static boolean[][] perOutput(double[][] s, double sparsity) {
        boolean[][] keep = new boolean[s.length][];
        for (int r = 0; r < s.length; r++) keep[r] = layer(new double[][] {s[r]}, sparsity)[0];
        return keep;
    }

    /** Whether a layer's input channels split into whole groups of {@code m}. */
    public static boolean nmApplicable(PrunableLayer l, int m) { return l.inChannels() % m == 0; }

    /**
     * N:M: in every group of {@code m} input channels of one output (columns {@code c, c+stride, ...}, see
     * {@link PrunableLayer}) keep the {@code n} highest scores.
     */
    public static boolean[][] nm(double[][] s, int n, int m, int stride) {
        int rows = s.length, cols = s[0].length;
        if ((cols / stride) % m != 0) throw new IllegalArgumentException(cols / stride + " input channels are not a multiple of " + m);
        boolean[][] keep = full(rows, cols);
        int[] members = new int[m];
        for (int r = 0; r < rows; r++) {
            for (int blk = 0; blk < cols / stride / m; blk++) {
                for (int p = 0; p < stride; p++) {
                    for (int t = 0; t < m; t++) members[t] = (blk * m + t) * stride + p;
                    prune(s[r], keep[r], members, m - n);
                }
            }
        }
        return keep;
    }

    private static void prune(double[] s, boolean[] keep, int[] members, int drop) {
        Integer[] o = new Integer[members.length];
        for (int i = 0; i < o.length; i++) o[i] = members[i];
        Arrays.sort(o, (a, b) -> {
            int c = Double.compare(s[a], s[b]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        for (int i = 0; i < drop; i++) keep[o[i]] = false;
    }

    /**
     * One threshold over all layers: the {@code round(sparsity * total)} lowest scores of all matrices together are
     * pruned. Returns one mask per input matrix.
     */
    public static List<boolean[][]> global(List<double[][]> scores, double sparsity) {
        long total = 0;
        for (double[][] s : scores) total += (long) s.length * s[0].length;
        double[] all = new double[(int) total];
        int p = 0;
        for (double[][] s : scores) for (double[] row : s) for (double v : row) all[p++] = v;
        long k = Math.round(sparsity * total);
        double[] sorted = all.clone();
        Arrays.sort(sorted);
        // prune scores below the threshold, and just enough at the threshold (in order) to hit k exactly
        double thr = k <= 0 ? Double.NEGATIVE_INFINITY : sorted[(int) Math.min(k, total) - 1];
        long below = 0;
        for (double v : all) if (v < thr) below++;
        long atThr = Math.max(0, k - below);
        List<boolean[][]> out = new java.util.ArrayList<>();
        for (double[][] s : scores) {
            boolean[][] keep = full(s.length, s[0].length);
            for (int r = 0; r < s.length; r++) {
                for (int c = 0; c < s[r].length; c++) {
                    double v = s[r][c];
                    if (k <= 0) continue;
                    if (v < thr) keep[r][c] = false;
                    else if (v == thr && atThr > 0) {
                        keep[r][c] = false;
                        atThr--;
                    }
                }
            }
            out.add(keep);
        }
        return out;
    }

    static boolean[][] full(int rows, int cols) {
        boolean[][] k = new boolean[rows][cols];
        for (boolean[] r : k) Arrays.fill(r, true);
        return k;
    }

    /** Fraction of false entries. */
    public static double sparsity(boolean[][] keep) {
        long z = 0, t = 0;
        for (boolean[] r : keep) {
            for (boolean b : r) if (!b) z++;
            t += r.length;
        }
        return t == 0 ? 0 : (double) z / t;
    }
}
