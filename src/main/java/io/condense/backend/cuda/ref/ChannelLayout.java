package io.condense.backend.cuda.ref;

/**
 * A tensor seen as {@code [outer, channels, inner]} around a channel axis: element {@code i} belongs to channel
 * {@code (i / inner) % channels}. The CUDA kernels take the same three numbers.
 */
public record ChannelLayout(long outer, int channels, long inner) {
    public static ChannelLayout of(long[] shape, int axis) {
        if (shape.length == 0) return new ChannelLayout(1, 1, 1);
        int a = axis < 0 ? axis + shape.length : axis;
        if (a < 0 || a >= shape.length) throw new IllegalArgumentException("axis " + axis + " out of range for rank " + shape.length);
        long outer = 1, inner = 1;
        for (int i = 0; i < a; i++) outer *= shape[i];
        for (int i = a + 1; i < shape.length; i++) inner *= shape[i];
        return new ChannelLayout(outer, Math.toIntExact(shape[a]), inner);
    }

    /** Per-tensor: one channel. */
    public static ChannelLayout perTensor(long n) { return new ChannelLayout(1, 1, n); }

    public int channelOf(long i) { return (int) ((i / inner) % channels); }

    public long size() { return outer * channels * inner; }
}
