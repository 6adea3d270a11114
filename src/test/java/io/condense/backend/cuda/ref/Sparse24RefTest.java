package io.condense.backend.cuda.ref;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class Sparse24RefTest {
    @Test
    void keepsTheTwoLargestMagnitudes() {
        assertEquals(0b1010, Sparse24Ref.groupMask(0.1f, -3f, 2f, 5f) & 0b1010);
        assertEquals(0b1010, Sparse24Ref.groupMask(0.1f, -3f, 2f, 5f));
        assertEquals(0b0011, Sparse24Ref.groupMask(1f, 1f, 1f, 1f));       // ties: lower index
        assertEquals(0b0101, Sparse24Ref.groupMask(-2f, 1f, 2f, 1f));      // |-2| == |2|, both beat 1
        assertEquals(0b1100, Sparse24Ref.groupMask(0f, 0f, Float.NaN, -1f)); // NaN counts as largest
        assertEquals(0b0011, Sparse24Ref.groupMask(Float.NaN, Float.NaN, 1f, 2f));
    }

    @Test
    void everyGroupKeepsExactlyTwo() {
        Random r = new Random(5);
        for (int t = 0; t < 20000; t++) {
            float[] g = new float[4];
            for (int i = 0; i < 4; i++) g[i] = r.nextInt(5) == 0 ? (float) r.nextInt(3) : (float) r.nextGaussian();
            int m = Sparse24Ref.groupMask(g[0], g[1], g[2], g[3]);
            assertEquals(2, Integer.bitCount(m));
            // no dropped element is strictly larger than a kept one
            for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) {
                if ((m >> i & 1) == 1 && (m >> j & 1) == 0) assertEquals(true, Math.abs(g[i]) >= Math.abs(g[j]));
            }
        }
    }

    @Test
    void compressionLayoutAndRoundTrip() {
        float[] x = {0.1f, -3f, 2f, 5f, /* */ 9f, 0f, 0f, 1f};
        Sparse24Ref.Compressed c = Sparse24Ref.compress(x, 1, 8);
        assertArrayEquals(new float[] {-3f, 5f, 9f, 1f}, c.values());
        // group 0 keeps 1 and 3 -> nibble 1 | 3 << 2 = 0xD; group 1 keeps 0 and 3 -> 0 | 3 << 2 = 0xC
        assertArrayEquals(new short[] {(short) 0xCD}, c.meta());
        assertArrayEquals(Sparse24Ref.prune(x, 1, 8), Sparse24Ref.decompress(c));

        Random r = new Random(9);
        int rows = 7, cols = 40; // 10 groups per row: 3 meta words, the last one half used
        float[] y = new float[rows * cols];
        for (int i = 0; i < y.length; i++) y[i] = (float) r.nextGaussian();
        Sparse24Ref.Compressed cy = Sparse24Ref.compress(y, rows, cols);
        assertEquals(rows * 3, cy.meta().length);
        assertArrayEquals(Sparse24Ref.prune(y, rows, cols), Sparse24Ref.decompress(cy));
        assertThrows(IllegalArgumentException.class, () -> Sparse24Ref.mask(new float[6], 1, 6));
    }

    @Test
    void int8GatherFollowsTheMetadata() {
        float[] w = {0.1f, -3f, 2f, 5f, 9f, 0f, 0f, 1f};
        byte[] q = {1, -30, 20, 50, 90, 0, 0, 10};
        Sparse24Ref.Compressed c = Sparse24Ref.compress(w, 1, 8);
        assertArrayEquals(new byte[] {-30, 50, 90, 10}, Sparse24Ref.compressValues(q, c.meta(), 1, 8));
    }
}
