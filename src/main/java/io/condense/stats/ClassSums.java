package io.condense.stats;

import java.io.Serializable;

/**
 * Per-class feature sums and counts (class means for herding; class centroids), mergeable bit for bit.
 *
 * <p>Samples are grouped into chunks of {@link #CHUNK} consecutive global sample indices; a chunk's per-class partial
 * is summed in sample order in double, and partials are combined by {@link OrderedSum}. So the sums depend only on
 * (index, label, feature) of every sample, not on how the samples were split into partitions, provided each
 * chunk's samples are added together by one {@link #addChunk} call (partitions cut at multiples of {@link #CHUNK}).
 */
public final class ClassSums implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Samples per chunk. */
    public static final int CHUNK = 256;

    private final int dim;
    private final OrderedSum[] sums;
    private final long[] counts;

    public ClassSums(int classes, int dim) {
        this.dim = dim;
        sums = new OrderedSum[classes];
        for (int c = 0; c < classes; c++) sums[c] = new OrderedSum(dim);
        counts = new long[classes];
    }

    public int classes() { return sums.length; }

    public int dim() { return dim; }

    /**
     * Adds the samples of chunk {@code chunk} (global sample indices {@code [chunk * CHUNK, (chunk + 1) * CHUNK)}):
     * their labels and features, in index order.
     */
    public void addChunk(long chunk, int[] labels, float[][] features) {
        if (labels.length != features.length) throw new IllegalArgumentException("labels and features differ in length");
        if (labels.length > CHUNK) throw new IllegalArgumentException("a chunk holds at most " + CHUNK + " samples, got " + labels.length);
        double[][] part = new double[sums.length][];
        for (int i = 0; i < labels.length; i++) {
            int c = labels[i];
            if (c < 0 || c >= sums.length) throw new IllegalArgumentException("label " + c + " out of range [0, " + sums.length + ")");
            if (features[i].length != dim) throw new IllegalArgumentException("feature has " + features[i].length + " values, expected " + dim);
            if (part[c] == null) part[c] = new double[dim];
            for (int j = 0; j < dim; j++) part[c][j] += features[i][j];
            counts[c]++;
        }
        for (int c = 0; c < part.length; c++) if (part[c] != null) sums[c].add(chunk, part[c]);
    }

    /**
     * Adds samples with ascending global indices {@code ids} (labels, features in the same order), cutting them
     * into chunks by index: the single-process path of {@link #addChunk}.
     */
    public void addAll(long[] ids, int[] labels, float[][] features) {
        int i = 0;
        while (i < ids.length) {
            long chunk = ids[i] / CHUNK;
            int j = i;
            while (j < ids.length && ids[j] / CHUNK == chunk) {
                if (j > i && ids[j] <= ids[j - 1]) throw new IllegalArgumentException("sample indices must ascend");
                j++;
            }
            addChunk(chunk, java.util.Arrays.copyOfRange(labels, i, j), java.util.Arrays.copyOfRange(features, i, j));
            i = j;
        }
    }

    public ClassSums merge(ClassSums o) {
        if (o.sums.length != sums.length || o.dim != dim) throw new IllegalArgumentException("class sums differ in shape");
        for (int c = 0; c < sums.length; c++) {
            sums[c].merge(o.sums[c]);
            counts[c] += o.counts[c];
        }
        return this;
    }

    public long count(int c) { return counts[c]; }

    public double[] sum(int c) { return sums[c].total(); }

    /** The class mean (zeros for an empty class). */
    public double[] mean(int c) {
        double[] s = sum(c);
        if (counts[c] > 0) for (int j = 0; j < dim; j++) s[j] /= counts[c];
        return s;
    }
}
