package io.condense.bench;

import java.util.Arrays;

/**
 * Latency statistics with trtexec's definitions (TensorRT samples/common/sampleReporting.cpp): the median of the
 * sorted times (mean of the two middle ones for an even count); percentile p is the element at index
 * {@code max(n - 1 - (int) ((1 - p / 100) * n), 0)} of the ascending times, computed in float as trtexec does (so
 * p99 of 100 samples is the largest); the coefficient of variation is the population standard deviation over the
 * mean, in percent.
 *
 * @param n          samples
 * @param minMs      smallest
 * @param maxMs      largest
 * @param meanMs     arithmetic mean
 * @param medianMs   median
 * @param p90Ms      90th percentile (trtexec rule)
 * @param p95Ms      95th percentile
 * @param p99Ms      99th percentile
 * @param cvPercent  coefficient of variation, 100 * stddev / mean
 */
public record Stats(int n, double minMs, double maxMs, double meanMs, double medianMs, double p90Ms, double p95Ms,
                    double p99Ms, double cvPercent) {

    /** Statistics of the given times (milliseconds, any order; not modified). */
    public static Stats of(double[] ms) {
        if (ms.length == 0) throw new IllegalArgumentException("no samples");
        double[] s = ms.clone();
        Arrays.sort(s);
        double sum = 0;
        for (double v : s) sum += v;
        double mean = sum / s.length;
        return new Stats(s.length, s[0], s[s.length - 1], mean, median(s), percentile(90, s), percentile(95, s),
                percentile(99, s), coefficientOfVariation(s, mean));
    }

    /** trtexec's percentile of ascending {@code sorted} times; {@code p} in [0, 100]. */
    public static double percentile(double p, double[] sorted) {
        if (!(p >= 0 && p <= 100)) throw new IllegalArgumentException("percentile is not in [0, 100]: " + p);
        if (sorted.length == 0) return Double.POSITIVE_INFINITY;
        return sorted[percentileIndex((float) p, sorted.length)];
    }

    /** The index trtexec reads for percentile {@code p} of {@code n} ascending samples (float arithmetic as in C++). */
    public static int percentileIndex(float p, int n) {
        int exclude = (int) ((1 - p / 100f) * n);
        return Math.max(n - 1 - exclude, 0);
    }

    /** Median of ascending {@code sorted} times. */
    public static double median(double[] sorted) {
        if (sorted.length == 0) return Double.POSITIVE_INFINITY;
        int m = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }

    /** 100 * population standard deviation / mean. */
    public static double coefficientOfVariation(double[] v, double mean) {
        double acc = 0;
        for (double x : v) acc += (x - mean) * (x - mean);
        return Math.sqrt(acc / v.length) / mean * 100;
    }
}
