package io.condense.backend.cuda;

/**
 * Grid/block arithmetic for launches, kept apart from CUDA so it can be tested without a GPU.
 *
 * @param gridX  blocks along x (at most 2^31-1)
 * @param gridY  blocks along y (at most 65535)
 * @param block  threads per block (1D)
 * @param sharedBytes dynamic shared memory per block
 */
public record LaunchConfig(int gridX, int gridY, int block, int sharedBytes) {
    public static final long MAX_GRID_X = Integer.MAX_VALUE;
    public static final int MAX_GRID_Y = 65535;

    public LaunchConfig {
        if (gridX < 1 || gridY < 1 || gridY > MAX_GRID_Y) throw new IllegalArgumentException("bad grid " + gridX + "x" + gridY);
        if (block < 1 || block > 1024) throw new IllegalArgumentException("bad block size " + block);
        if (sharedBytes < 0) throw new IllegalArgumentException("negative shared memory");
    }

    public static long ceilDiv(long a, long b) {
        if (a < 0 || b <= 0) throw new IllegalArgumentException("ceilDiv(" + a + ", " + b + ")");
        return a == 0 ? 0 : (a - 1) / b + 1;
    }

    /**
     * A grid-stride launch over {@code n} elements where each thread handles {@code perThread} consecutive
     * elements per step (e.g. 4 for float4 loads): enough blocks to cover n once, but at most
     * {@code wavesPerSm * sms} full waves of {@code blocksPerSm} blocks (the kernel loops for the rest).
     * n = 0 gives one block (kernels must check bounds).
     */
    public static LaunchConfig elementwise(long n, int block, int perThread, int sms, int blocksPerSm) {
        if (n < 0) throw new IllegalArgumentException("negative element count");
        if (perThread < 1 || sms < 1 || blocksPerSm < 1) throw new IllegalArgumentException("bad launch parameters");
        long perBlock = (long) block * perThread;
        long need = Math.max(1, ceilDiv(n, perBlock));
        long cap = (long) sms * blocksPerSm;
        return new LaunchConfig((int) Math.min(need, Math.min(cap, MAX_GRID_X)), 1, block, 0);
    }

    /**
     * One block row per channel (y = channel, wrapped in the kernel when channels exceed 65535) and x blocks
     * splitting each channel's {@code perChannel} elements, for per-channel reductions (abs-max, LSQ scale gradient).
     */
    public static LaunchConfig perChannel(long channels, long perChannel, int block, int maxBlocksPerChannel) {
        if (channels < 1) throw new IllegalArgumentException("no channels");
        long x = Math.max(1, Math.min(ceilDiv(perChannel, block), maxBlocksPerChannel));
        return new LaunchConfig((int) x, (int) Math.min(channels, MAX_GRID_Y), block, 0);
    }

    /** A 2D tiled launch for an M x N output: x over N tiles, y over M tiles (M tiles must fit in 65535). */
    public static LaunchConfig tiles2d(long m, long n, int tileM, int tileN, int block, int sharedBytes) {
        long gx = ceilDiv(Math.max(n, 1), tileN);
        long gy = ceilDiv(Math.max(m, 1), tileM);
        if (gx > MAX_GRID_X || gy > MAX_GRID_Y) throw new IllegalArgumentException("output " + m + "x" + n + " needs too many tiles");
        return new LaunchConfig((int) gx, (int) gy, block, sharedBytes);
    }

    public long totalThreads() { return (long) gridX * gridY * block; }
}
