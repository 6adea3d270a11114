package io.condense.quant;

import io.condense.ir.ModelException;

import java.util.List;

/**
 * Post-training quantization settings.
 *
 * @param method                calibrator for activation ranges
 * @param percentile            for {@link CalibrationMethod#PERCENTILE}: the percentile of |x| kept (e.g. 99.99)
 * @param symmetricActivations  true (default): activations INT8 with zero point 0 and scale amax/127;
 *                              false: UINT8 with a zero point covering [min, max] (clipped to the threshold)
 * @param perChannelWeights     true (default): one weight scale per output channel; false: one per tensor
 * @param include               node names to quantize; empty = every node the rules allow
 * @param exclude               node names to keep in float (wins over include)
 * @param calibrationBatches    how many batches calibration reads at most (0 = all)
 * @param bins                  histogram bins for the histogram-based methods (default 2048)
 * @param quantizeOutputs       false (default, TensorRT placement): Q/DQ only on the inputs in {@link QdqRules};
 *                              true: also on the outputs of Conv/Gemm/MatMul (ONNX Runtime placement: ORT fuses
 *                              DQ -&gt; op -&gt; Q into QLinearConv/QGemm/QLinearMatMul, its INT8 kernels)
 * @param placement             which ops are quantized ({@link Placement}; default the full rule table)
 */
public record QuantConfig(CalibrationMethod method, double percentile, boolean symmetricActivations,
                          boolean perChannelWeights, List<String> include, List<String> exclude,
                          int calibrationBatches, int bins, boolean quantizeOutputs, Placement placement) {
    public QuantConfig {
        if (method == null) method = CalibrationMethod.MINMAX;
        if (!(percentile > 0 && percentile <= 100)) throw new ModelException("percentile must be in (0, 100], got " + percentile);
        include = include == null ? List.of() : List.copyOf(include);
        exclude = exclude == null ? List.of() : List.copyOf(exclude);
        if (calibrationBatches < 0) throw new ModelException("calibration batches must be >= 0, got " + calibrationBatches);
        if (bins < 256) throw new ModelException("histogram bins must be >= 256, got " + bins);
        if (placement == null) placement = Placement.RULES;
    }

    /**
     * Which ops get Q/DQ: {@code RULES} the full {@link QdqRules} table (CNNs: Conv, Gemm, MatMul, residual Add,
     * pooling); {@code MATMUL} only MatMul/Gemm inputs, including the activation x activation MatMuls of attention
     * (transformers: LayerNorm, Softmax, GELU and the residual Adds stay float); {@code MATMUL_WEIGHTS} only
     * MatMul/Gemm with a weight initializer (attention score and context MatMuls stay float).
     */
    public enum Placement {
        RULES, MATMUL, MATMUL_WEIGHTS;

        public String cliName() { return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'); }

        public static Placement parse(String s) {
            for (Placement p : values()) if (p.cliName().equals(s.toLowerCase(java.util.Locale.ROOT).replace('_', '-'))) return p;
            throw new ModelException("unknown placement '" + s + "' (rules, matmul, matmul-weights)");
        }
    }

    /** Min-max, percentile 99.99, symmetric INT8 activations, per-channel weights, no filters, all batches, 2048 bins. */
    public static QuantConfig defaults() {
        return new QuantConfig(CalibrationMethod.MINMAX, 99.99, true, true, List.of(), List.of(), 0, 2048, false, Placement.RULES);
    }

    public static QuantConfig of(CalibrationMethod m) { return defaults().withMethod(m); }

    public QuantConfig withMethod(CalibrationMethod m) {
        return new QuantConfig(m, percentile, symmetricActivations, perChannelWeights, include, exclude, calibrationBatches, bins, quantizeOutputs, placement);
    }

    public QuantConfig withPercentile(double p) {
        return new QuantConfig(method, p, symmetricActivations, perChannelWeights, include, exclude, calibrationBatches, bins, quantizeOutputs, placement);
    }

    public QuantConfig withSymmetricActivations(boolean s) {
        return new QuantConfig(method, percentile, s, perChannelWeights, include, exclude, calibrationBatches, bins, quantizeOutputs, placement);
    }

    public QuantConfig withPerChannelWeights(boolean p) {
        return new QuantConfig(method, percentile, symmetricActivations, p, include, exclude, calibrationBatches, bins, quantizeOutputs, placement);
    }

    public QuantConfig withInclude(List<String> names) {
        return new QuantConfig(method, percentile, symmetricActivations, perChannelWeights, names, exclude, calibrationBatches, bins, quantizeOutputs, placement);
    }

    public QuantConfig withExclude(List<String> names) {
        return new QuantConfig(method, percentile, symmetricActivations, perChannelWeights, include, names, calibrationBatches, bins, quantizeOutputs, placement);
    }

    public QuantConfig withCalibrationBatches(int n) {
        return new QuantConfig(method, percentile, symmetricActivations, perChannelWeights, include, exclude, n, bins, quantizeOutputs, placement);
    }

    public QuantConfig withBins(int n) {
        return new QuantConfig(method, percentile, symmetricActivations, perChannelWeights, include, exclude, calibrationBatches, n, quantizeOutputs, placement);
    }

    public QuantConfig withPlacement(Placement p) {
        return new QuantConfig(method, percentile, symmetricActivations, perChannelWeights, include, exclude, calibrationBatches, bins, quantizeOutputs, p);
    }

    public QuantConfig withQuantizeOutputs(boolean q) {
        return new QuantConfig(method, percentile, symmetricActivations, perChannelWeights, include, exclude, calibrationBatches, bins, q, placement);
    }

    /**
     * Reads a YAML (or JSON) mapping with any of the keys {@code method, percentile, symmetric_activations,
     * per_channel_weights, include, exclude, calibration_batches, bins, quantize_outputs} (camelCase also accepted); missing keys
     * keep {@link #defaults()}. Unknown keys and wrong types are errors.
     */
    public static QuantConfig load(java.nio.file.Path file) {
        byte[] bytes = io.condense.onnx.ModelFiles.readAll(file, "quantization config");
        Object root;
        try {
            root = new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
                    .readValue(bytes, Object.class);
        } catch (java.io.IOException e) {
            throw new ModelException("quantization config " + file + " is not valid YAML: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null) return defaults();
        if (!(root instanceof java.util.Map<?, ?> m)) throw new ModelException("quantization config " + file + " must be a mapping");
        QuantConfig c = defaults();
        for (var e : m.entrySet()) {
            String k = String.valueOf(e.getKey()).replaceAll("([a-z])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT).replace('-', '_');
            Object v = e.getValue();
            try {
                c = switch (k) {
                    case "method" -> c.withMethod(CalibrationMethod.parse(String.valueOf(v)));
                    case "percentile" -> c.withPercentile(((Number) v).doubleValue());
                    case "symmetric_activations" -> c.withSymmetricActivations((Boolean) v);
                    case "per_channel_weights" -> c.withPerChannelWeights((Boolean) v);
                    case "include" -> c.withInclude(names(v));
                    case "exclude" -> c.withExclude(names(v));
                    case "calibration_batches" -> c.withCalibrationBatches(((Number) v).intValue());
                    case "bins" -> c.withBins(((Number) v).intValue());
                    case "quantize_outputs" -> c.withQuantizeOutputs((Boolean) v);
                    case "placement" -> c.withPlacement(Placement.parse(String.valueOf(v)));
                    default -> throw new ModelException("quantization config " + file + ": unknown key '" + e.getKey() + "'");
                };
            } catch (ClassCastException | NullPointerException ex) {
                throw new ModelException("quantization config " + file + ": key '" + e.getKey() + "' has a value of the wrong type: " + v);
            }
        }
        return c;
    }

    private static List<String> names(Object v) {
        if (v instanceof List<?> l) return l.stream().map(String::valueOf).toList();
        if (v instanceof String s) return java.util.Arrays.stream(s.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
        throw new ClassCastException();
    }

    /** Whether the node called {@code name} may be quantized under the include/exclude lists. */
    public boolean allows(String name) {
        if (exclude.contains(name)) return false;
        return include.isEmpty() || include.contains(name);
    }
}
