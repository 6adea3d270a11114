package io.condense.backend.cuda.ref;

/**
 * Reference semantics of cuda-kernels/calib.cu: abs-max per tensor and per channel (NaN ignored; an empty
 * tensor or channel gives 0), and a histogram of |x| with {@value #BINS} bins over [0, range):
 * <pre>
 *   invWidth = (float) bins / range        (computed once on the host; range &lt;= 0 gives invWidth = 0)
 *   bin      = min((int) (|x| * invWidth), bins - 1)    (truncation; values &gt;= range land in the last bin)
 * </pre>
 * NaN values are not counted. Counts are exact on the GPU (integer atomics), so histograms must match exactly.
 */
public final class CalibRef {
    public static final int BINS = 2048;

    private CalibRef() {}

    public static float absMax(float[] x) {
        float m = 0f;
        for (float v : x) {
            float a = Math.abs(v);
            if (a > m) m = a; // NaN compares false: ignored
        }
        return m;
    }

    public static float[] absMaxPerChannel(float[] x, ChannelLayout layout) {
        float[] m = new float[layout.channels()];
        for (int i = 0; i < x.length; i++) {
            int c = layout.channelOf(i);
            float a = Math.abs(x[i]);
            if (a > m[c]) m[c] = a;
        }
        return m;
    }

    public static float invBinWidth(int bins, float range) {
        return range > 0f ? (float) bins / range : 0f;
    }

    public static int bin(float x, float invWidth, int bins) {
        float a = Math.abs(x) * invWidth;
        int b = a >= (float) bins ? bins - 1 : (int) a; // (int) truncates like __float2int_rz; Inf lands in the last bin
        return Math.min(b, bins - 1);
    }

    /** Adds the |x| histogram over [0, range) to {@code counts} (length = bins), which is returned. */
    public static long[] histogram(float[] x, float range, long[] counts) {
        int bins = counts.length;
        float inv = invBinWidth(bins, range);
        for (float v : x) {
            if (Float.isNaN(v)) continue;
            counts[bin(v, inv, bins)]++;
        }
        return counts;
    }

    public static long[] histogram(float[] x, float range) { return histogram(x, range, new long[BINS]); }
}
