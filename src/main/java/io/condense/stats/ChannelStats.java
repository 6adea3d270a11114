package io.condense.stats;

import io.condense.ir.DType;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Per-channel minimum, maximum and max |x| along one axis of a tensor (per-channel weight statistics, or
 * activations per channel over calibration batches), with the element count. Min/max are exact, so merging is exact.
 */
public final class ChannelStats implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int axis;
    private final double[] min, max;
    private long count;

    public ChannelStats(int channels, int axis) {
        this.axis = axis;
        min = new double[channels];
        max = new double[channels];
        Arrays.fill(min, Double.POSITIVE_INFINITY);
        Arrays.fill(max, Double.NEGATIVE_INFINITY);
    }

    /** The statistics of one tensor along {@code axis}. */
    public static ChannelStats of(Tensor t, int axis) {
        long[] sh = t.shape();
        if (axis < 0 || axis >= sh.length) throw new ModelException("axis " + axis + " out of range for a tensor of shape " + Arrays.toString(sh));
        ChannelStats s = new ChannelStats((int) sh[axis], axis);
        s.add(t);
        return s;
    }

    public int channels() { return min.length; }

    public int axis() { return axis; }

    public long count() { return count; }

    /** Adds a tensor whose {@code axis} has {@link #channels()} entries. */
    public void add(Tensor t) {
        long[] sh = t.shape();
        if (axis >= sh.length || sh[axis] != min.length) {
            throw new ModelException("tensor of shape " + Arrays.toString(sh) + " has no " + min.length + " channels on axis " + axis);
        }
        int c = min.length, post = 1;
        for (int i = axis + 1; i < sh.length; i++) post *= (int) sh[i];
        int n = t.size();
        if (t.dtype() == DType.FLOAT32) {
            float[] d = (float[]) t.data();
            for (int i = 0; i < n; i++) {
                int ch = (i / post) % c;
                float v = d[i];
                if (v < min[ch]) min[ch] = v;
                if (v > max[ch]) max[ch] = v;
            }
        } else {
            for (int i = 0; i < n; i++) {
                int ch = (i / post) % c;
                double v = t.getDouble(i);
                if (v < min[ch]) min[ch] = v;
                if (v > max[ch]) max[ch] = v;
            }
        }
        count += n;
    }

    public ChannelStats merge(ChannelStats o) {
        if (o.min.length != min.length || o.axis != axis) throw new IllegalArgumentException("channel statistics differ in shape");
        for (int i = 0; i < min.length; i++) {
            min[i] = Math.min(min[i], o.min[i]);
            max[i] = Math.max(max[i], o.max[i]);
        }
        count += o.count;
        return this;
    }

    public double[] min() { return min.clone(); }

    public double[] max() { return max.clone(); }

    /** max |x| per channel (0 for a channel that saw no finite-or-infinite value, e.g. only NaN). */
    public double[] absMax() {
        double[] a = new double[min.length];
        for (int i = 0; i < a.length; i++) a[i] = min[i] > max[i] ? 0 : Math.max(Math.abs(min[i]), Math.abs(max[i]));
        return a;
    }
}
