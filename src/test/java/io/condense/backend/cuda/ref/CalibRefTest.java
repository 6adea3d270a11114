package io.condense.backend.cuda.ref;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class CalibRefTest {
    @Test
    void absMaxIgnoresNaN() {
        assertEquals(3.5f, CalibRef.absMax(new float[] {1f, -3.5f, Float.NaN, 2f}));
        assertEquals(0f, CalibRef.absMax(new float[0]));
        assertEquals(Float.POSITIVE_INFINITY, CalibRef.absMax(new float[] {1f, Float.NEGATIVE_INFINITY}));
    }

    @Test
    void absMaxPerChannel() {
        // [2, 3] with axis 1: columns are channels
        float[] x = {1, -5, 2, -4, 3, -0.5f};
        assertArrayEquals(new float[] {4, 5, 2}, CalibRef.absMaxPerChannel(x, ChannelLayout.of(new long[] {2, 3}, 1)));
        // axis 0: rows are channels
        assertArrayEquals(new float[] {5, 4}, CalibRef.absMaxPerChannel(x, ChannelLayout.of(new long[] {2, 3}, 0)));
    }

    @Test
    void histogramBinEdges() {
        // range 2048 -> bin width 1: bin = floor(|x|)
        long[] h = CalibRef.histogram(new float[] {0f, 0.999f, 1f, -1.5f, 2047.9f, 2048f, 1e9f, Float.NaN,
                Float.POSITIVE_INFINITY}, 2048f);
        assertEquals(2, h[0]);
        assertEquals(2, h[1]);
        assertEquals(4, h[2047]);
        long total = 0;
        for (long c : h) total += c;
        assertEquals(8, total); // NaN not counted
    }

    @Test
    void histogramMatchesDoubleBinningAwayFromEdges() {
        Random r = new Random(3);
        float[] x = new float[50000];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        float range = CalibRef.absMax(x);
        long[] h = CalibRef.histogram(x, range);
        long[] expect = new long[CalibRef.BINS];
        int skipped = 0;
        for (float v : x) {
            double b = Math.abs((double) v) / range * CalibRef.BINS;
            if (Math.abs(b - Math.rint(b)) < 1e-3 && b < CalibRef.BINS) { skipped++; continue; }
            expect[(int) Math.min(CalibRef.BINS - 1, Math.floor(b))]++;
        }
        long diff = 0;
        for (int i = 0; i < h.length; i++) diff += Math.abs(h[i] - expect[i]);
        assertEquals(true, diff <= skipped, "differences " + diff + " beyond the " + skipped + " edge cases");
        assertEquals(1, h[CalibRef.BINS - 1] >= 1 ? 1 : 0); // the max lands in the last bin
    }

    @Test
    void zeroRangePutsEverythingInBinZero() {
        long[] h = CalibRef.histogram(new float[] {0f, 0f, 0f}, 0f);
        assertEquals(3, h[0]);
    }
}
