package io.condense.quant;

import io.condense.ir.ModelException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Activation statistics from a calibration run: per tensor {@link TensorStats}, plus how much data was seen.
 * Serializable and mergeable ({@link #merge}): the statistics of disjoint parts of the calibration data, merged in
 * any order, equal those of one run over all of it bit for bit.
 */
public final class CalibrationResult implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    private final Map<String, TensorStats> stats;
    private final int batches;
    private final long samples;

    public CalibrationResult(Map<String, TensorStats> stats, int batches, long samples) {
        this.stats = Collections.unmodifiableMap(new LinkedHashMap<>(stats));
        this.batches = batches;
        this.samples = samples;
    }

    public Map<String, TensorStats> stats() { return stats; }

    public int batches() { return batches; }

    /** Calibration samples (sum of the first dimension of the first input over all batches). */
    public long samples() { return samples; }

    public TensorStats get(String tensor) {
        TensorStats s = stats.get(tensor);
        if (s == null) throw new ModelException("no calibration statistics for tensor '" + tensor + "'");
        return s;
    }

    /**
     * The statistics of this result's data and {@code o}'s together (neither is changed); both must cover the
     * same tensors.
     */
    public CalibrationResult merge(CalibrationResult o) {
        if (!stats.keySet().equals(o.stats.keySet())) throw new IllegalArgumentException("calibration results cover different tensors");
        Map<String, TensorStats> m = new LinkedHashMap<>();
        stats.forEach((k, v) -> {
            TensorStats c = v.copy();
            c.merge(o.stats.get(k));
            m.put(k, c);
        });
        return new CalibrationResult(m, batches + o.batches, samples + o.samples);
    }

    public boolean has(String tensor) { return stats.containsKey(tensor); }

    /** Activation quantization parameters of every calibrated tensor under {@code cfg}. */
    public Map<String, QParams> qparams(QuantConfig cfg) {
        Map<String, QParams> m = new LinkedHashMap<>();
        stats.forEach((k, v) -> m.put(k, v.qparams(cfg)));
        return m;
    }
}
