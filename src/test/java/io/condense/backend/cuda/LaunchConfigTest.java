package io.condense.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LaunchConfigTest {
    @Test
    void ceilDiv() {
        assertEquals(0, LaunchConfig.ceilDiv(0, 256));
        assertEquals(1, LaunchConfig.ceilDiv(1, 256));
        assertEquals(1, LaunchConfig.ceilDiv(256, 256));
        assertEquals(2, LaunchConfig.ceilDiv(257, 256));
        assertEquals(Long.MAX_VALUE / 2 + 1, LaunchConfig.ceilDiv(Long.MAX_VALUE, 2));
        assertThrows(IllegalArgumentException.class, () -> LaunchConfig.ceilDiv(1, 0));
    }

    @Test
    void elementwiseCoversSmallInputsAndCapsLargeOnes() {
        // 1000 floats, 256 threads x 4 per thread: one block
        assertEquals(1, LaunchConfig.elementwise(1000, 256, 4, 132, 8).gridX());
        assertEquals(2, LaunchConfig.elementwise(1025, 256, 4, 132, 8).gridX());
        assertEquals(1, LaunchConfig.elementwise(0, 256, 1, 132, 8).gridX());
        // a billion elements: capped at 132 SMs x 8 blocks; the kernel grid-strides over the rest
        LaunchConfig big = LaunchConfig.elementwise(1L << 30, 256, 1, 132, 8);
        assertEquals(1056, big.gridX());
        assertEquals(1056L * 256, big.totalThreads());
    }

    @Test
    void perChannelAndTiles() {
        LaunchConfig c = LaunchConfig.perChannel(64, 100_000, 256, 32);
        assertEquals(32, c.gridX());
        assertEquals(64, c.gridY());
        assertEquals(65535, LaunchConfig.perChannel(1 << 20, 1, 256, 32).gridY()); // kernel wraps channels
        LaunchConfig t = LaunchConfig.tiles2d(1000, 4096, 64, 64, 256, 0);
        assertEquals(64, t.gridX());
        assertEquals(16, t.gridY());
        assertThrows(IllegalArgumentException.class, () -> LaunchConfig.tiles2d(64L * 70000, 64, 64, 64, 256, 0));
        assertThrows(IllegalArgumentException.class, () -> new LaunchConfig(1, 1, 2048, 0));
    }
}
