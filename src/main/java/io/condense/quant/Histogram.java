package io.condense.quant;

import java.util.Arrays;

/**
 * A histogram of |x| with {@code bins} equal bins over {@code [0, bins * 2^e)}, where the bin width {@code 2^e}
 * is the smallest power of two whose range covers the largest |x| seen so far.
 *
 * <p>Batch-size independence: when a larger value arrives the width doubles (possibly several times) and bins
 * merge in pairs. Because widths are powers of two, bin edges of a coarser grid are edges of every finer grid and
 * {@code |x| * 2^-e} is exact in double precision, so the final counts equal the counts of filling the final grid
 * directly: the histogram (and every threshold derived from it) depends only on the multiset of values seen,
 * not on how they were split into batches or in which order they came. The price is that the data occupy between
 * half and all of the bins (e.g. 1024..2048 of 2048).
 *
 * <p>Thresholds follow NVIDIA's pytorch-quantization (TensorRT's calibrators; checked against its code in
 * HistogramTest): {@link #percentileThreshold}, {@link #entropyThreshold} (KL divergence against a 128-level
 * quantized copy, candidates from bin 128 to the last non-empty bin, the bin-0 spike of ReLU outputs replaced by
 * bin 1's count) and {@link #mseThreshold}.
 */
public final class Histogram implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    private final long[] counts;
    private int exp = Integer.MIN_VALUE; // unset until the first non-zero value
    private long zeros; // values seen while exp is unset (all exactly 0)

    public Histogram(int bins) {
        if (bins < 2) throw new IllegalArgumentException("bins must be >= 2");
        counts = new long[bins];
    }

    public int bins() { return counts.length; }

    /** Width of one bin (0 before any non-zero value). */
    public double binWidth() { return exp == Integer.MIN_VALUE ? 0 : Math.scalb(1.0, exp); }

    /** A copy of the counts (zeros seen before the first non-zero value are in bin 0). */
    public long[] counts() {
        long[] c = counts.clone();
        c[0] += zeros;
        return c;
    }

    public long total() {
        long t = zeros;
        for (long c : counts) t += c;
        return t;
    }

    /** Adds |v| for {@code n} values of {@code v} from {@code off}; values must be finite. */
    public void add(float[] v, int off, int n) {
        double amax = 0;
        for (int i = off; i < off + n; i++) amax = Math.max(amax, Math.abs(v[i]));
        if (!Double.isFinite(amax)) throw new IllegalArgumentException("histogram values must be finite");
        if (amax > 0) growTo(amax);
        if (exp == Integer.MIN_VALUE) {
            zeros += n;
            return;
        }
        double inv = Math.scalb(1.0, -exp);
        int last = counts.length - 1;
        for (int i = off; i < off + n; i++) {
            int b = (int) (Math.abs((double) v[i]) * inv);
            counts[b > last ? last : b]++;
        }
    }

    public void add(float[] v) { add(v, 0, v.length); }

    /** Merges {@code o} into this histogram (same number of bins); the result is as if its values were added here. */
    public void merge(Histogram o) {
        if (o.counts.length != counts.length) throw new IllegalArgumentException("histograms differ in bins");
        if (o.exp != Integer.MIN_VALUE) {
            growToExp(Math.max(exp, o.exp));
            int shift = exp - o.exp;
            for (int i = 0; i < counts.length; i++) counts[shift >= 31 ? 0 : i >> shift] += o.counts[i];
        }
        zeros += o.zeros;
    }

    private void growTo(double amax) {
        int e = Math.getExponent(amax) - 31 + Integer.numberOfLeadingZeros(counts.length); // ~ amax / bins
        while (amax * Math.scalb(1.0, -e) >= counts.length) e++;
        while (amax * Math.scalb(1.0, -(e - 1)) < counts.length) e--;
        if (exp == Integer.MIN_VALUE || e > exp) growToExp(e);
    }

    private void growToExp(int e) {
        if (exp == Integer.MIN_VALUE) {
            exp = e;
            return;
        }
        if (e <= exp) return;
        int shift = e - exp;
        long[] old = counts.clone();
        Arrays.fill(counts, 0);
        for (int i = 0; i < old.length; i++) counts[shift >= 31 ? 0 : i >> shift] += old[i];
        exp = e;
    }

    /** Number of bins up to and including the last non-empty one. */
    public int usedBins() {
        for (int i = counts.length - 1; i >= 0; i--) if (counts[i] != 0) return i + 1;
        return 0;
    }

    /** Upper edge of the last non-empty bin (>= max |x|); 0 when everything was 0. */
    public double maxEdge() { return usedBins() * binWidth(); }

    /**
     * pytorch-quantization's percentile: the lower edge of the first bin where the cumulative share of values
     * reaches {@code pct} percent (the upper edge of bin 0 when that is bin 0, so the threshold stays positive).
     */
    public double percentileThreshold(double pct) {
        long[] c = counts();
        long total = total();
        if (total == 0 || binWidth() == 0) return 0;
        double target = pct / 100.0, cum = 0;
        for (int i = 0; i < c.length; i++) {
            cum += (double) c[i] / total;
            if (cum >= target) return Math.max(1, i) * binWidth();
        }
        return maxEdge();
    }

    /**
     * TensorRT entropy calibration: for each candidate threshold bin {@code i} (128 .. used bins) the reference
     * distribution P is bins [0, i) with the outliers (bins >= i) added to bin i-1; Q quantizes bins [0, i) into
     * {@code levels} chunks, spreading each chunk's mass evenly over its non-empty bins; the threshold is the upper
     * edge of the candidate with the smallest KL(P || Q) (the largest such candidate on ties).
     */
    public double entropyThreshold(int levels) {
        long[] h = counts();
        int used = usedBins();
        if (used == 0 || binWidth() == 0) return 0;
        if (used <= levels) return used * binWidth();
        if (h.length > 1) h[0] = h[1]; // the spike of zeros (ReLU) would dominate
        double[] suffix = new double[used + 1];
        for (int i = used - 1; i >= 0; i--) suffix[i] = suffix[i + 1] + h[i];
        double best = Double.POSITIVE_INFINITY;
        int bestI = used;
        double[] chunkSum = new double[levels];
        int[] chunkNz = new int[levels];
        for (int i = levels; i <= used; i++) {
            Arrays.fill(chunkSum, 0);
            Arrays.fill(chunkNz, 0);
            for (int j = 0; j < i; j++) {
                int k = (int) ((long) j * levels / i);
                chunkSum[k] += h[j];
                if (h[j] != 0) chunkNz[k]++;
            }
            double pTotal = suffix[0];
            double qTotal = 0;
            for (int k = 0; k < levels; k++) qTotal += chunkSum[k];
            double kl = 0;
            for (int j = 0; j < i; j++) {
                double p = h[j] + (j == i - 1 ? suffix[i] : 0);
                if (p == 0) continue;
                int k = (int) ((long) j * levels / i);
                double q = h[j] == 0 ? 0 : chunkSum[k] / chunkNz[k];
                if (q == 0) {
                    kl = Double.POSITIVE_INFINITY;
                    break;
                }
                double pn = p / pTotal, qn = q / qTotal;
                kl += pn * Math.log(pn / qn);
            }
            if (kl <= best) {
                best = kl;
                bestI = i;
            }
        }
        return bestI * binWidth();
    }

    /**
     * pytorch-quantization's MSE calibration: among the bin centres from bin 128 (or fewer when fewer bins are
     * used) to the last used bin, the amax whose symmetric fake quantization ({@code qmax} levels, scale
     * qmax / amax, round half even, clamp to +-qmax) of every bin centre has the smallest count-weighted squared
     * error (the first on ties).
     */
    public double mseThreshold(int qmax) {
        long[] h = counts();
        int used = usedBins();
        double w = binWidth();
        if (used == 0 || w == 0) return 0;
        double best = Double.POSITIVE_INFINITY;
        int bestI = used - 1;
        for (int i = Math.min(128, used - 1); i < used; i++) {
            double amax = (i + 0.5) * w, scale = qmax / amax, err = 0;
            for (int j = 0; j < used; j++) {
                if (h[j] == 0) continue;
                double c = (j + 0.5) * w;
                double q = Math.max(-qmax, Math.min(qmax, Math.rint(c * scale))) / scale;
                err += h[j] * (q - c) * (q - c);
            }
            if (err < best) {
                best = err;
                bestI = i;
            }
        }
        return (bestI + 0.5) * w;
    }

    /** A deep copy. */
    public Histogram copy() {
        Histogram h = ofCounts(counts, exp);
        h.zeros = zeros;
        return h;
    }

    /** A histogram with the given counts over bins of width {@code 2^exp} (e.g. to apply the thresholds to saved counts). */
    public static Histogram ofCounts(long[] counts, int exp) {
        Histogram h = new Histogram(counts.length);
        System.arraycopy(counts, 0, h.counts, 0, counts.length);
        h.exp = exp;
        return h;
    }
}
