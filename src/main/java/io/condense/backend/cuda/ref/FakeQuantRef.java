package io.condense.backend.cuda.ref;

/**
 * Reference semantics of cuda-kernels/fakequant.cu. All arithmetic is float32 with the same operation order as the
 * kernels, so the forward pass and the STE backward must match the GPU bit for bit:
 * <pre>
 *   v  = rint(x / s) + z          (x / s correctly rounded, rint = round half to even)
 *   q  = v &lt; qmin ? qmin : v &gt; qmax ? qmax : v      (NaN stays NaN)
 *   y  = (q - z) * s
 *   STE:  dx = dy if qmin &lt;= v &lt;= qmax else 0
 *   LSQ:  dx as STE; ds = gradScale * sum(dy * g) with
 *         g = rint(x/s) - x/s (qmin &lt;= v &lt;= qmax), qmin - z (v &lt; qmin), qmax - z (v &gt; qmax), 0 (NaN)
 * </pre>
 * The LSQ scale gradient is a sum (float atomics on the GPU, in any order); compare it with a relative tolerance.
 */
public final class FakeQuantRef {
    private FakeQuantRef() {}

    /** rint(x / s) + z, before clamping. */
    public static float grid(float x, float s, int z) {
        return (float) Math.rint(x / s) + (float) z;
    }

    public static float clamp(float v, QRange r) {
        return v < r.qmin() ? r.qmin() : (v > r.qmax() ? r.qmax() : v);
    }

    public static float fakeQuant(float x, float s, int z, QRange r) {
        float q = clamp(grid(x, s, z), r);
        return (q - (float) z) * s;
    }

    /** Forward, per channel of {@code layout} (per tensor: {@link ChannelLayout#perTensor}, one scale). */
    public static float[] forward(float[] x, ChannelLayout layout, float[] scale, int[] zeroPoint, QRange r) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            int c = layout.channelOf(i);
            y[i] = fakeQuant(x[i], scale[c], zeroPoint == null ? 0 : zeroPoint[c], r);
        }
        return y;
    }

    /** Straight-through estimator with clipping: the gradient passes where the unclamped grid value is in range. */
    public static float[] backwardSte(float[] x, float[] dy, ChannelLayout layout, float[] scale, int[] zeroPoint, QRange r) {
        float[] dx = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            int c = layout.channelOf(i);
            float v = grid(x[i], scale[c], zeroPoint == null ? 0 : zeroPoint[c]);
            dx[i] = (v >= r.qmin() && v <= r.qmax()) ? dy[i] : 0f;
        }
        return dx;
    }

    /** LSQ backward (Esser et al. 2020): returns {dx, dscale} where dscale has one entry per channel. */
    public static float[][] backwardLsq(float[] x, float[] dy, ChannelLayout layout, float[] scale, int[] zeroPoint,
                                        QRange r, float gradScale) {
        float[] dx = new float[x.length];
        double[] ds = new double[layout.channels()];
        for (int i = 0; i < x.length; i++) {
            int c = layout.channelOf(i);
            int z = zeroPoint == null ? 0 : zeroPoint[c];
            float xs = x[i] / scale[c];
            float v = (float) Math.rint(xs) + (float) z;
            float g;
            if (v >= r.qmin() && v <= r.qmax()) {
                g = (float) Math.rint(xs) - xs;
                dx[i] = dy[i];
            } else if (v < r.qmin()) {
                g = (float) (r.qmin() - z);
            } else if (v > r.qmax()) {
                g = (float) (r.qmax() - z);
            } else {
                g = 0f; // NaN: no gradient at all
            }
            ds[c] += (double) dy[i] * g;
        }
        float[] dsf = new float[ds.length];
        for (int c = 0; c < ds.length; c++) dsf[c] = (float) (ds[c] * gradScale);
        return new float[][] {dx, dsf};
    }

    /** LSQ's gradient scale g = 1 / sqrt(elementsPerScale * qmax). */
    public static float lsqGradScale(long elementsPerScale, QRange r) {
        return (float) (1.0 / Math.sqrt((double) elementsPerScale * r.qmax()));
    }
}
