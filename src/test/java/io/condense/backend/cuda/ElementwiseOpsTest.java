package io.condense.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ElementwiseOpsTest {
    @Test
    void broadcastStrides() {
        long[][] r = ElementwiseOps.broadcast(new long[] {2, 3, 4}, new long[] {4});
        assertArrayEquals(new long[] {2, 3, 4}, r[0]);
        assertArrayEquals(new long[] {12, 4, 1}, r[1]);
        assertArrayEquals(new long[] {0, 0, 1}, r[2]);
        r = ElementwiseOps.broadcast(new long[] {2, 1, 4}, new long[] {3, 1});
        assertArrayEquals(new long[] {2, 3, 4}, r[0]);
        assertArrayEquals(new long[] {4, 0, 1}, r[1]);
        assertArrayEquals(new long[] {0, 1, 0}, r[2]);
        r = ElementwiseOps.broadcast(new long[] {}, new long[] {5});
        assertArrayEquals(new long[] {5}, r[0]);
        assertArrayEquals(new long[] {0}, r[1]);
        assertThrows(IllegalArgumentException.class, () -> ElementwiseOps.broadcast(new long[] {2, 3}, new long[] {4}));
    }

    @Test
    void opCodesAreDistinct() {
        assertArrayEquals(new long[] {14}, new long[] {ElementwiseOps.UNARY.values().stream().distinct().count()});
        assertArrayEquals(new long[] {7}, new long[] {ElementwiseOps.BINARY.values().stream().distinct().count()});
    }
}
