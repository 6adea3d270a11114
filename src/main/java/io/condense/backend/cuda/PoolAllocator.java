package io.condense.backend.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A caching allocator over a raw allocator (cudaMalloc/cudaFree on a GPU; anything in tests).
 *
 * <p>Requests are rounded up to a size class: powers of two from {@link #MIN_CLASS} (256 B, the alignment
 * cudaMalloc gives) up to {@link #POW2_LIMIT} (64 MiB); above that, multiples of {@link #LARGE_STEP} (2 MiB), so
 * large tensors waste at most 2 MiB. Freed blocks go to the free list of their class and are handed out again
 * to the next request of that class. When the raw allocator fails, all cached blocks are released and the
 * request is tried once more. Not thread-safe beyond the synchronized methods: one pool per session/stream.
 */
public final class PoolAllocator implements AutoCloseable {
    public static final long MIN_CLASS = 256;
    public static final long POW2_LIMIT = 64L << 20;
    public static final long LARGE_STEP = 2L << 20;

    /** What the pool sits on. */
    public interface RawAllocator {
        /** Returns the address of {@code bytes} fresh bytes, or throws (e.g. {@link CudaException} for OOM). */
        long allocate(long bytes);

        void free(long address);
    }

    /** Counters, for tests and benchmarks. */
    public record Stats(long requests, long hits, long misses, long rawAllocations, long rawFrees,
                        long bytesInUse, long bytesCached, long peakBytesInUse, long oomRetries) {}

    private final RawAllocator raw;
    private final TreeMap<Long, ArrayDeque<Long>> free = new TreeMap<>();
    private final Map<Long, Long> live = new HashMap<>(); // address -> class size
    private long requests, hits, misses, rawAllocations, rawFrees, bytesInUse, bytesCached, peak, oomRetries;
    private boolean closed;

    public PoolAllocator(RawAllocator raw) { this.raw = raw; }

    /** The size class a request of {@code bytes} is served from. */
    public static long sizeClass(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative size " + bytes);
        if (bytes <= MIN_CLASS) return MIN_CLASS;
        if (bytes <= POW2_LIMIT) return Long.highestOneBit(bytes - 1) << 1;
        long steps = (bytes + LARGE_STEP - 1) / LARGE_STEP;
        if (steps > Long.MAX_VALUE / LARGE_STEP) throw new IllegalArgumentException("size too large: " + bytes);
        return steps * LARGE_STEP;
    }

    /** An address of at least {@code bytes} bytes (256-byte aligned if the raw allocator is). */
    public synchronized long allocate(long bytes) {
        if (closed) throw new IllegalStateException("pool is closed");
        long cls = sizeClass(bytes);
        requests++;
        ArrayDeque<Long> q = free.get(cls);
        long addr;
        if (q != null && !q.isEmpty()) {
            addr = q.pop();
            if (q.isEmpty()) free.remove(cls);
            bytesCached -= cls;
            hits++;
        } else {
            misses++;
            try {
                addr = raw.allocate(cls);
            } catch (RuntimeException e) {
                if (bytesCached == 0) throw e;
                oomRetries++;
                releaseCached();
                addr = raw.allocate(cls);
            }
            rawAllocations++;
        }
        live.put(addr, cls);
        bytesInUse += cls;
        peak = Math.max(peak, bytesInUse);
        return addr;
    }

    /** Returns a block to its free list. */
    public synchronized void release(long address) {
        Long cls = live.remove(address);
        if (cls == null) throw new IllegalArgumentException("address 0x" + Long.toHexString(address) + " is not allocated from this pool");
        bytesInUse -= cls;
        if (closed) {
            raw.free(address);
            rawFrees++;
            return;
        }
        free.computeIfAbsent(cls, k -> new ArrayDeque<>()).push(address);
        bytesCached += cls;
    }

    /** Frees every cached (unused) block through the raw allocator. */
    public synchronized void releaseCached() {
        for (ArrayDeque<Long> q : free.values()) {
            for (long a : q) {
                raw.free(a);
                rawFrees++;
            }
        }
        free.clear();
        bytesCached = 0;
    }

    /** Size of the block at {@code address} (its class), or -1 when not live. */
    public synchronized long blockSize(long address) {
        Long c = live.get(address);
        return c == null ? -1 : c;
    }

    public synchronized Stats stats() {
        return new Stats(requests, hits, misses, rawAllocations, rawFrees, bytesInUse, bytesCached, peak, oomRetries);
    }

    /** Frees the cache; blocks still in use are freed when released. */
    @Override
    public synchronized void close() {
        if (closed) return;
        releaseCached();
        closed = true;
    }
}
