package io.condense.quant;

import io.condense.ir.ModelException;

/**
 * Running statistics of one activation tensor over calibration data: element count, minimum, maximum and a
 * {@link Histogram} of |x|. Thread-confined; merge partial results with {@link #merge}. Every part is exact
 * (min/max, integer counts, power-of-two histogram bins), so merging partial statistics in any grouping or order
 * gives the statistics of one pass over all the values, bit for bit. Serializable (for Spark).
 */
public final class TensorStats implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    private final String name;
    private final Histogram hist;
    private double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
    private long count;

    public TensorStats(String name, int bins) {
        this.name = name;
        this.hist = new Histogram(bins);
    }

    public String name() { return name; }

    public Histogram histogram() { return hist; }

    public long count() { return count; }

    /** Smallest value seen (+inf before any). */
    public double min() { return min; }

    /** Largest value seen (-inf before any). */
    public double max() { return max; }

    public double absMax() { return count == 0 ? 0 : Math.max(Math.abs(min), Math.abs(max)); }

    /** Adds values; a NaN or infinite value is a {@link ModelException} naming the tensor. */
    public void add(float[] v) {
        double lo = min, hi = max;
        for (float f : v) {
            if (!Float.isFinite(f)) {
                throw new ModelException("calibration: tensor '" + name + "' has a " + (Float.isNaN(f) ? "NaN" : "infinite")
                        + " value; check the calibration data");
            }
            if (f < lo) lo = f;
            if (f > hi) hi = f;
        }
        min = lo;
        max = hi;
        count += v.length;
        hist.add(v);
    }

    /** A deep copy. */
    public TensorStats copy() {
        TensorStats c = new TensorStats(name, hist.copy());
        c.min = min;
        c.max = max;
        c.count = count;
        return c;
    }

    private TensorStats(String name, Histogram h) {
        this.name = name;
        this.hist = h;
    }

    public void merge(TensorStats o) {
        if (!o.name.equals(name)) throw new IllegalArgumentException("cannot merge statistics of '" + o.name + "' into '" + name + "'");
        min = Math.min(min, o.min);
        max = Math.max(max, o.max);
        count += o.count;
        hist.merge(o.hist);
    }

    /**
     * The clipping threshold T >= 0 for |x| chosen by {@code cfg.method()}: min-max gives max |x|, the others
     * a histogram bin edge (never above the histogram's max edge).
     */
    public double threshold(QuantConfig cfg) {
        if (count == 0) throw new ModelException("calibration: tensor '" + name + "' received no values");
        return switch (cfg.method()) {
            case MINMAX -> absMax();
            case PERCENTILE -> Math.min(absMax(), hist.percentileThreshold(cfg.percentile()));
            case ENTROPY -> Math.min(absMax(), hist.entropyThreshold(128));
            case MSE -> Math.min(absMax(), hist.mseThreshold(127));
        };
    }

    /**
     * Quantization parameters for this activation: symmetric INT8 (scale T/127, zero point 0) or, with
     * {@code cfg.symmetricActivations() == false}, UINT8 over [max(min, -T), min(max, T)] widened to include 0.
     */
    public QParams qparams(QuantConfig cfg) {
        double t = threshold(cfg);
        if (cfg.symmetricActivations()) return QParams.symmetric(t, io.condense.ir.DType.INT8);
        double lo = Math.max(min, -t), hi = Math.min(max, t);
        if (cfg.method() == CalibrationMethod.MINMAX) {
            lo = min;
            hi = max;
        }
        return QParams.asymmetric(lo, hi, io.condense.ir.DType.UINT8);
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%s: n=%d min=%.6g max=%.6g", name, count, min, max);
    }
}
