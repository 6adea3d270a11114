package io.condense.backend.cuda;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The void** that cuLaunchKernel receives, built with JavaCPP (no CUDA needed): each entry points at its value. */
class KernelArgsTest {
    @Test
    void packsEachArgumentIntoItsOwnSlot() {
        try (KernelArgs a = new KernelArgs().ptr(0x7f00_1234_5678L).i32(-7).f32(1.5f).i64(1L << 40).ptr((DeviceBuffer) null)) {
            assertEquals("(ptr, i32, f32, i64, ptr)", a.signature());
            PointerPointer<?> pp = a.pack();
            Pointer[] p = new Pointer[5];
            for (int i = 0; i < 5; i++) p[i] = pp.get(i);
            for (int i = 1; i < 5; i++) assertEquals(p[0].address() + 8L * i, p[i].address(), "slot " + i);
            assertEquals(0x7f00_1234_5678L, new LongPointer(p[0]).get(0));
            assertEquals(-7, new IntPointer(p[1]).get(0));
            assertEquals(1.5f, new FloatPointer(p[2]).get(0));
            assertEquals(1L << 40, new LongPointer(p[3]).get(0));
            assertEquals(0L, new LongPointer(p[4]).get(0));
            assertTrue(pp == a.pack(), "packed once");
            assertThrows(IllegalStateException.class, () -> a.i32(1));
        }
    }

    @Test
    void deviceBufferReturnsToItsPoolOnce() {
        long[] next = {4096};
        try (PoolAllocator pool = new PoolAllocator(new PoolAllocator.RawAllocator() {
            @Override
            public long allocate(long bytes) { long r = next[0]; next[0] += bytes; return r; }

            @Override
            public void free(long address) {}
        })) {
            DeviceBuffer b = DeviceBuffer.pooled(pool, 1000);
            long addr = b.address();
            assertEquals(1000, b.bytes());
            b.close();
            b.close(); // idempotent
            assertThrows(IllegalStateException.class, b::address);
            assertEquals(1024, pool.stats().bytesCached());
            assertEquals(addr, DeviceBuffer.pooled(pool, 900).address());
        }
    }
}
