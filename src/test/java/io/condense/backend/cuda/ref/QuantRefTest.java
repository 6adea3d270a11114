package io.condense.backend.cuda.ref;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantRefTest {
    @Test
    void quantizeRoundsHalfEvenSaturatesAndMapsNaNToZeroPoint() {
        assertEquals(2, QuantRef.quantize(1.25f, 0.5f, 0, QRange.INT8));
        assertEquals(4, QuantRef.quantize(1.75f, 0.5f, 0, QRange.INT8));
        assertEquals(127, QuantRef.quantize(1e6f, 0.5f, 0, QRange.INT8));
        assertEquals(-128, QuantRef.quantize(-1e6f, 0.5f, 0, QRange.INT8));
        assertEquals(0, QuantRef.quantize(-1e6f, 0.5f, 10, QRange.UINT8));
        assertEquals(10, QuantRef.quantize(Float.NaN, 0.5f, 10, QRange.UINT8));
        assertEquals(7, QuantRef.quantize(100f, 1f, 0, QRange.INT4));
    }

    @Test
    void int4PackingLowNibbleFirst() {
        assertArrayEquals(new byte[] {(byte) 0xF1, 0x78}, QuantRef.packInt4(new byte[] {1, -1, -8, 7}));
        assertArrayEquals(new byte[] {0x21, 0x03}, QuantRef.packInt4(new byte[] {1, 2, 3})); // odd: high nibble 0
        Random r = new Random(1);
        for (int n : new int[] {1, 2, 7, 64, 1001}) {
            byte[] s = new byte[n], u = new byte[n];
            for (int i = 0; i < n; i++) {
                s[i] = (byte) (r.nextInt(16) - 8);
                u[i] = (byte) r.nextInt(16);
            }
            assertArrayEquals(s, QuantRef.unpackInt4(QuantRef.packInt4(s), n, true));
            assertArrayEquals(u, QuantRef.unpackInt4(QuantRef.packInt4(u), n, false));
        }
        assertThrows(IllegalArgumentException.class, () -> QuantRef.unpackInt4(new byte[1], 3, true));
    }

    @Test
    void perChannelRoundTripWithinHalfAStep() {
        Random r = new Random(2);
        long[] shape = {8, 4, 3, 3}; // conv weight [O, I, kh, kw], per output channel
        ChannelLayout l = ChannelLayout.of(shape, 0);
        float[] x = new float[8 * 36];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian() * (1 + i / 36);
        float[] scale = new float[8];
        for (int c = 0; c < 8; c++) {
            float m = 0;
            for (int j = 0; j < 36; j++) m = Math.max(m, Math.abs(x[c * 36 + j]));
            scale[c] = QuantRef.symmetricScale(m, QRange.INT8_SYMMETRIC);
        }
        byte[] q = QuantRef.quantizePerChannel(x, l, scale, null, QRange.INT8_SYMMETRIC);
        float[] y = QuantRef.dequantizePerChannel(q, l, scale, null, false);
        for (int i = 0; i < x.length; i++) {
            assertTrue(Math.abs(x[i] - y[i]) <= scale[i / 36] * 0.5f * (1 + 1e-6f), "element " + i);
        }
        // the abs-max element maps to exactly +-127
        for (int c = 0; c < 8; c++) {
            int max = 0;
            for (int j = 0; j < 36; j++) max = Math.max(max, Math.abs(q[c * 36 + j]));
            assertEquals(127, max);
        }
    }

    @Test
    void blockedScalesIndexByRowAndBlock() {
        // 2 x 5 with block 2: 3 blocks per row (the last one short)
        float[] x = {1, 2, 3, 4, 5, -1, -2, -3, -4, -5};
        float[] s = {1, 0.5f, 0.25f, 1, 0.5f, 0.25f};
        byte[] q = QuantRef.quantizeBlocked(x, 2, 5, 2, s, QRange.INT8);
        assertArrayEquals(new byte[] {1, 2, 6, 8, 20, -1, -2, -6, -8, -20}, q);
        assertArrayEquals(x, QuantRef.dequantizeBlocked(q, 2, 5, 2, s));
        assertEquals(3, QuantRef.blocksPerRow(5, 2));
        assertThrows(IllegalArgumentException.class, () -> QuantRef.quantizeBlocked(x, 2, 5, 2, new float[4], QRange.INT8));
    }

    @Test
    void unsignedDequantize() {
        float[] y = QuantRef.dequantizePerChannel(new byte[] {(byte) 255, 0, (byte) 128}, ChannelLayout.perTensor(3),
                new float[] {0.5f}, new int[] {128}, true);
        assertArrayEquals(new float[] {63.5f, -64f, 0f}, y);
    }
}
