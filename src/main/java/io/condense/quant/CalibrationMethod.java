package io.condense.quant;

import io.condense.ir.ModelException;

import java.util.Locale;

/**
 * How an activation's clipping range is chosen from its calibration statistics (see {@link Histogram}).
 *
 * <ul>
 *   <li>{@link #MINMAX}: the observed minimum and maximum (no clipping).</li>
 *   <li>{@link #PERCENTILE}: the given percentile of |x| (e.g. 99.99) as the symmetric threshold.</li>
 *   <li>{@link #ENTROPY}: TensorRT's KL-divergence calibration over the |x| histogram: the threshold whose
 *       128-level quantized distribution is closest (KL) to the clipped reference distribution.</li>
 *   <li>{@link #MSE}: the threshold that minimizes the expected squared quantization error over the histogram.</li>
 * </ul>
 */
public enum CalibrationMethod {
    MINMAX, PERCENTILE, ENTROPY, MSE;

    /** Parses {@code minmax|percentile|entropy|mse} (case-insensitive; also {@code min-max}, {@code kl}). */
    public static CalibrationMethod parse(String s) {
        String k = s.trim().toLowerCase(Locale.ROOT).replace("-", "").replace("_", "");
        return switch (k) {
            case "minmax", "max" -> MINMAX;
            case "percentile", "pct" -> PERCENTILE;
            case "entropy", "kl" -> ENTROPY;
            case "mse" -> MSE;
            default -> throw new ModelException("unknown calibration method '" + s + "' (known: minmax, percentile, entropy, mse)");
        };
    }

    public String cliName() { return name().toLowerCase(Locale.ROOT); }
}
