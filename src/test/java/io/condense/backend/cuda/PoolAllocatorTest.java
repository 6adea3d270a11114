package io.condense.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PoolAllocatorTest {
    /** A raw allocator with a capacity, handing out increasing fake addresses. */
    static final class FakeRaw implements PoolAllocator.RawAllocator {
        final Map<Long, Long> live = new HashMap<>();
        final long capacity;
        long next = 0x1000_0000L, used;

        FakeRaw(long capacity) { this.capacity = capacity; }

        @Override
        public long allocate(long bytes) {
            if (used + bytes > capacity) throw new CudaException("cudaMalloc(" + bytes + ")", 2, "cudaErrorMemoryAllocation");
            long a = next;
            next += bytes + 256;
            live.put(a, bytes);
            used += bytes;
            return a;
        }

        @Override
        public void free(long address) {
            Long b = live.remove(address);
            if (b == null) throw new AssertionError("double free " + address);
            used -= b;
        }
    }

    @Test
    void sizeClasses() {
        assertEquals(256, PoolAllocator.sizeClass(0));
        assertEquals(256, PoolAllocator.sizeClass(1));
        assertEquals(256, PoolAllocator.sizeClass(256));
        assertEquals(512, PoolAllocator.sizeClass(257));
        assertEquals(1 << 20, PoolAllocator.sizeClass((1 << 20) - 5));
        assertEquals(64L << 20, PoolAllocator.sizeClass(64L << 20));
        assertEquals(66L << 20, PoolAllocator.sizeClass((64L << 20) + 1)); // above 64 MiB: 2 MiB steps
        assertEquals(100L << 20, PoolAllocator.sizeClass(99L << 20 | 12345));
        assertThrows(IllegalArgumentException.class, () -> PoolAllocator.sizeClass(-1));
    }

    @Test
    void reusesFreedBlocksOfTheSameClass() {
        FakeRaw raw = new FakeRaw(1L << 30);
        try (PoolAllocator p = new PoolAllocator(raw)) {
            long a = p.allocate(1000);   // class 1024
            long b = p.allocate(3000);   // class 4096
            assertEquals(1024, p.blockSize(a));
            p.release(a);
            long c = p.allocate(700);    // class 1024 again: reuse a
            assertEquals(a, c);
            long d = p.allocate(2000);   // class 2048: new
            assertNotEquals(a, d);
            PoolAllocator.Stats s = p.stats();
            assertEquals(4, s.requests());
            assertEquals(1, s.hits());
            assertEquals(3, s.misses());
            assertEquals(3, s.rawAllocations());
            assertEquals(1024 + 4096 + 2048, s.bytesInUse());
            assertEquals(0, s.bytesCached());
            assertEquals(1024 + 4096 + 2048, s.peakBytesInUse());
            p.release(b);
            p.release(c);
            p.release(d);
            assertEquals(0, p.stats().bytesInUse());
            assertEquals(1024 + 4096 + 2048, p.stats().bytesCached());
            assertEquals(3, raw.live.size()); // cached, not freed
        }
        assertEquals(0, raw.live.size()); // close frees the cache
    }

    @Test
    void retriesAfterDroppingTheCacheWhenOutOfMemory() {
        FakeRaw raw = new FakeRaw(8192);
        try (PoolAllocator p = new PoolAllocator(raw)) {
            long a = p.allocate(4096);
            long b = p.allocate(4096);
            p.release(a);
            p.release(b);
            long c = p.allocate(8192); // needs the cached 8 KiB back
            assertEquals(1, p.stats().oomRetries());
            assertEquals(2, p.stats().rawFrees());
            assertEquals(8192, p.blockSize(c));
            CudaException e = assertThrows(CudaException.class, () -> p.allocate(256));
            assertTrue(e.getMessage().contains("cudaErrorMemoryAllocation"), e.getMessage());
        }
    }

    @Test
    void rejectsForeignAndDoubleRelease() {
        try (PoolAllocator p = new PoolAllocator(new FakeRaw(1 << 20))) {
            long a = p.allocate(10);
            p.release(a);
            assertThrows(IllegalArgumentException.class, () -> p.release(a));
            assertThrows(IllegalArgumentException.class, () -> p.release(12345));
        }
    }

    @Test
    void blocksReleasedAfterCloseAreFreed() {
        FakeRaw raw = new FakeRaw(1 << 20);
        PoolAllocator p = new PoolAllocator(raw);
        long a = p.allocate(100);
        p.close();
        assertEquals(1, raw.live.size());
        p.release(a);
        assertEquals(0, raw.live.size());
        assertThrows(IllegalStateException.class, () -> p.allocate(1));
    }
}
