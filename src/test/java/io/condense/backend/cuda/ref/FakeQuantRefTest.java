package io.condense.backend.cuda.ref;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FakeQuantRefTest {
    @Test
    void roundsHalfToEvenAndSaturates() {
        // scale 0.5 is exact in binary, so x / s is exact and the ties are real ties
        float[] x = {1.25f, 1.75f, -1.25f, 0.25f, 0.75f, 100f, -100f, 63.5f};
        float[] y = FakeQuantRef.forward(x, ChannelLayout.perTensor(x.length), new float[] {0.5f}, null, QRange.INT8);
        // 2.5 -> 2, 3.5 -> 4, -2.5 -> -2, 0.5 -> 0, 1.5 -> 2, 200 -> 127, -200 -> -128, 127 -> 127
        assertArrayEquals(new float[] {1.0f, 2.0f, -1.0f, 0f, 1.0f, 63.5f, -64f, 63.5f}, y);
    }

    @Test
    void int4WithZeroPoint() {
        float[] x = {-3f, 0f, 1f, 2.5f, 9f};
        // uint4, s = 0.5, z = 6: grid = rint(2x) + 6 in [0, 15]
        float[] y = FakeQuantRef.forward(x, ChannelLayout.perTensor(5), new float[] {0.5f}, new int[] {6}, QRange.UINT4);
        // -6+6=0 -> 0 -> -3 ; 6 -> 0 ; 8 -> 1 ; 5+6=11 -> 2.5 ; 18+6=24 -> 15 -> 4.5
        assertArrayEquals(new float[] {-3f, 0f, 1f, 2.5f, 4.5f}, y);
        float[] yi = FakeQuantRef.forward(new float[] {-5f, 5f}, ChannelLayout.perTensor(2), new float[] {0.5f}, null, QRange.INT4);
        assertArrayEquals(new float[] {-4f, 3.5f}, yi);
    }

    @Test
    void nanPropagatesAndInfSaturates() {
        float[] y = FakeQuantRef.forward(new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY},
                ChannelLayout.perTensor(3), new float[] {0.1f}, null, QRange.INT8);
        assertTrue(Float.isNaN(y[0]));
        assertEquals(127 * 0.1f, y[1]);
        assertEquals(-128 * 0.1f, y[2]);
    }

    @Test
    void perChannelUsesTheChannelScale() {
        // shape [2, 3, 2], axis 1: channel of element i = (i / 2) % 3
        long[] shape = {2, 3, 2};
        ChannelLayout l = ChannelLayout.of(shape, 1);
        assertEquals(new ChannelLayout(2, 3, 2), l);
        float[] s = {1f, 0.5f, 0.25f};
        float[] x = new float[12];
        for (int i = 0; i < 12; i++) x[i] = 0.3f * i - 1.1f;
        float[] y = FakeQuantRef.forward(x, l, s, null, QRange.INT8);
        for (int i = 0; i < 12; i++) {
            float sc = s[(i / 2) % 3];
            assertEquals(Math.rint((double) x[i] / sc) * sc, y[i], 1e-6, "element " + i);
        }
    }

    @Test
    void matchesDoublePrecisionAwayFromTies() {
        Random r = new Random(7);
        for (int t = 0; t < 10000; t++) {
            float s = 0.01f + r.nextFloat();
            float x = (float) (r.nextGaussian() * 100 * s);
            double v = (double) x / s;
            if (Math.abs(v - Math.floor(v) - 0.5) < 1e-4) continue;
            double q = Math.max(-128, Math.min(127, Math.rint(v)));
            assertEquals(q * s, FakeQuantRef.fakeQuant(x, s, 0, QRange.INT8), Math.abs(q * s) * 1e-6 + 1e-7);
        }
    }

    @Test
    void steMasksOutOfRange() {
        float[] x = {0f, 127f, 127.4f, 127.6f, -128.4f, -128.6f, Float.NaN};
        float[] dy = {1, 2, 3, 4, 5, 6, 7};
        float[] dx = FakeQuantRef.backwardSte(x, dy, ChannelLayout.perTensor(7), new float[] {1f}, null, QRange.INT8);
        assertArrayEquals(new float[] {1, 2, 3, 0, 5, 0, 0}, dx);
    }

    @Test
    void lsqGradientMatchesThePaper() {
        // s = 1, int4 [-8, 7]: inside -> rint(x) - x, above -> 7, below -> -8
        float[] x = {0.3f, 10f, -10f, 2.5f};
        float[] dy = {1f, 1f, 2f, 1f};
        float[][] g = FakeQuantRef.backwardLsq(x, dy, ChannelLayout.perTensor(4), new float[] {1f}, null, QRange.INT4, 0.5f);
        assertArrayEquals(new float[] {1f, 0f, 0f, 1f}, g[0]);
        // (0 - 0.3) + 7 + 2 * (-8) + (2 - 2.5) = -9.8, times 0.5
        assertEquals(-4.9f, g[1][0], 1e-6);
        assertEquals((float) (1 / Math.sqrt(100 * 7.0)), FakeQuantRef.lsqGradScale(100, QRange.INT4), 1e-9);
    }

    @Test
    void lsqPerChannelSumsEachChannel() {
        ChannelLayout l = new ChannelLayout(1, 2, 2); // [c0, c0, c1, c1]
        float[][] g = FakeQuantRef.backwardLsq(new float[] {200f, 200f, 0.25f, 0.25f}, new float[] {1, 1, 1, 1}, l,
                new float[] {1f, 1f}, null, QRange.INT8, 1f);
        assertArrayEquals(new float[] {0f, 0f, 1f, 1f}, g[0]);
        assertArrayEquals(new float[] {254f, -0.5f}, g[1], 1e-6f); // 2 x (qmax - 0); 2 x (rint(0.25) - 0.25)
    }
}
