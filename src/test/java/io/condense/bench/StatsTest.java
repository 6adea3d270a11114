package io.condense.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link Stats} against trtexec's rules (TensorRT samples/common/sampleReporting.cpp: findPercentile, findMedian,
 * findCoeffOfVariance), with values worked out by hand from those definitions.
 */
class StatsTest {
    static double[] range(int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = n - i; // descending: Stats must sort
        return v;
    }

    @Test
    void percentileIndexFollowsTrtexecFloatArithmetic() {
        // exclude = (int) ((1 - p/100) * n) in float; index = max(n - 1 - exclude, 0)
        assertEquals(89, Stats.percentileIndex(90f, 100));
        assertEquals(94, Stats.percentileIndex(95f, 100));
        // (1 - 0.99f) * 100 = 0.99999905f, truncated to 0: p99 of 100 samples is the largest (double arithmetic would give 98)
        assertEquals(99, Stats.percentileIndex(99f, 100));
        assertEquals(8, Stats.percentileIndex(90f, 10));   // (1 - 0.9f) * 10 = 1.0000002 -> 1
        assertEquals(9, Stats.percentileIndex(95f, 10));   // 0.5 -> 0
        assertEquals(9, Stats.percentileIndex(99f, 10));
        assertEquals(0, Stats.percentileIndex(0f, 10));    // exclude 10 -> max(-1, 0)
        assertEquals(9, Stats.percentileIndex(100f, 10));
        assertEquals(0, Stats.percentileIndex(50f, 1));
        assertEquals(990, Stats.percentileIndex(99f, 1000)); // (1 - 0.99f) * 1000 = 9.99999 -> 9
    }

    @Test
    void statsOfOneToHundred() {
        Stats s = Stats.of(range(100));
        assertEquals(100, s.n());
        assertEquals(1, s.minMs());
        assertEquals(100, s.maxMs());
        assertEquals(50.5, s.meanMs(), 1e-12);
        assertEquals(50.5, s.medianMs());
        assertEquals(90, s.p90Ms());
        assertEquals(95, s.p95Ms());
        assertEquals(100, s.p99Ms());
        // population std of 1..100 = sqrt((100^2 - 1) / 12) = 28.866070047722118
        assertEquals(28.866070047722118 / 50.5 * 100, s.cvPercent(), 1e-9);
    }

    @Test
    void oddMedianAndSmallCounts() {
        Stats s = Stats.of(new double[] {3, 1, 2});
        assertEquals(2, s.medianMs());
        assertEquals(3, s.p90Ms()); // (1 - 0.9f) * 3 = 0.3 -> 0 -> index 2
        Stats t = Stats.of(range(10));
        assertEquals(5.5, t.medianMs());
        assertEquals(9, t.p90Ms());
        assertEquals(10, t.p95Ms());
        assertEquals(10, t.p99Ms());
        Stats one = Stats.of(new double[] {4.25});
        assertEquals(4.25, one.medianMs());
        assertEquals(4.25, one.p99Ms());
        assertEquals(0, one.cvPercent());
    }

    @Test
    void coefficientOfVariationIsPopulationStdOverMean() {
        // mean 5, population variance 4 -> std 2 -> 40 %
        assertEquals(40.0, Stats.of(new double[] {2, 4, 4, 4, 5, 5, 7, 9}).cvPercent(), 1e-12);
        assertEquals(0.0, Stats.of(new double[] {7, 7, 7}).cvPercent());
    }

    @Test
    void rejectsBadInput() {
        assertThrows(IllegalArgumentException.class, () -> Stats.of(new double[0]));
        assertThrows(IllegalArgumentException.class, () -> Stats.percentile(101, new double[] {1}));
        assertEquals(Double.POSITIVE_INFINITY, Stats.percentile(50, new double[0]));
    }
}
