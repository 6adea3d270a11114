package io.condense.recipe.stages;

import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.quant.CalibrationMethod;
import io.condense.quant.CalibrationResult;
import io.condense.quant.PtqPass;
import io.condense.quant.QdqRules;
import io.condense.quant.QuantConfig;
import io.condense.recipe.Stage;
import io.condense.recipe.StageContext;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code quantize}: post-training static INT8 ({@link PtqPass}) with a search over calibrators, activation and weight
 * modes, and the number of most sensitive layers kept in float (ranked by the task metric: each layer quantized alone).
 */
public final class QuantizeStage implements Stage<QuantizeStage.Config> {
    public enum Activations { SYMMETRIC, ASYMMETRIC }

    public enum Weights { PER_CHANNEL, PER_TENSOR }

    /** static: calibrated Q/DQ; dynamic: activations quantized at run time (no calibration); smoothquant: scales migrated to weights, then static. */
    public enum Mode { STATIC, DYNAMIC, SMOOTHQUANT }

    /**
     * @param calibrator      calibrators to try (minmax, percentile, entropy, mse)
     * @param activations     symmetric (INT8) and/or asymmetric (UINT8) activations
     * @param weights         per_channel and/or per_tensor weight scales
     * @param keepFloat       how many of the most sensitive layers to keep in float (each value a candidate)
     * @param percentile      percentile for the percentile calibrator
     * @param quantizeOutputs also Q/DQ on Conv/Gemm/MatMul outputs (ONNX Runtime placement)
     * @param exclude         node names always kept in float
     * @param sensitivity     compute the per-layer sensitivity even when no layer is kept in float (for the report)
     * @param mode            static, dynamic and/or smoothquant (each a candidate)
     * @param placement       rules | matmul | matmul_weights; default: matmul_weights for transformers, rules otherwise
     * @param alpha           SmoothQuant migration strength
     */
    public record Config(List<CalibrationMethod> calibrator, List<Activations> activations, List<Weights> weights, List<Integer> keepFloat,
                         Double percentile, Boolean quantizeOutputs, List<String> exclude, Boolean sensitivity, List<Mode> mode,
                         QuantConfig.Placement placement, Double alpha) {
        public Config {
            mode = mode == null || mode.isEmpty() ? List.of(Mode.STATIC) : List.copyOf(mode);
            alpha = alpha == null ? 0.5 : alpha;
            if (!(alpha >= 0 && alpha <= 1)) throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
            calibrator = calibrator == null || calibrator.isEmpty() ? List.of(CalibrationMethod.MINMAX) : List.copyOf(calibrator);
            activations = activations == null || activations.isEmpty() ? List.of(Activations.SYMMETRIC) : List.copyOf(activations);
            weights = weights == null || weights.isEmpty() ? List.of(Weights.PER_CHANNEL) : List.copyOf(weights);
            keepFloat = keepFloat == null || keepFloat.isEmpty() ? List.of(0) : keepFloat.stream().sorted().distinct().toList();
            for (int k : keepFloat) if (k < 0) throw new IllegalArgumentException("keep_float values must be >= 0, got " + k);
            percentile = percentile == null ? 99.99 : percentile;
            if (!(percentile > 0 && percentile <= 100)) throw new IllegalArgumentException("percentile must be in (0, 100], got " + percentile);
            quantizeOutputs = quantizeOutputs != null && quantizeOutputs;
            exclude = exclude == null ? List.of() : List.copyOf(exclude);
            sensitivity = sensitivity != null && sensitivity;
        }

        QuantConfig quant(int calibrationBatches) {
            return QuantConfig.defaults().withMethod(calibrator.get(0)).withPercentile(percentile)
                    .withSymmetricActivations(activations.get(0) == Activations.SYMMETRIC)
                    .withPerChannelWeights(weights.get(0) == Weights.PER_CHANNEL).withQuantizeOutputs(quantizeOutputs)
                    .withExclude(exclude).withCalibrationBatches(calibrationBatches);
        }
    }

    @Override public String name() { return "quantize"; }

    @Override public Class<Config> configType() { return Config.class; }

    @Override public Config defaults() { return new Config(null, null, null, null, null, null, null, null, null, null, null); }

    @Override
    public List<Config> candidates(Config c) {
        List<Config> out = new ArrayList<>();
        boolean sens = c.sensitivity() || c.keepFloat().stream().anyMatch(x -> x > 0);
        for (int k : c.keepFloat())
            for (Mode mode : c.mode()) {
                if (mode == Mode.DYNAMIC) { // no calibration: calibrator and activation mode do not apply
                    out.add(new Config(List.of(c.calibrator().get(0)), List.of(Activations.SYMMETRIC), List.of(Weights.PER_CHANNEL), List.of(k), c.percentile(),
                            c.quantizeOutputs(), c.exclude(), false, List.of(mode), c.placement(), c.alpha()));
                    continue;
                }
                for (CalibrationMethod m : c.calibrator())
                    for (Activations a : c.activations())
                        for (Weights w : c.weights())
                            out.add(new Config(List.of(m), List.of(a), List.of(w), List.of(k), c.percentile(), c.quantizeOutputs(), c.exclude(),
                                    sens && mode == Mode.STATIC, List.of(mode), c.placement(), c.alpha()));
            }
        return out.stream().distinct().toList();
    }

    @Override
    public String label(Config c) {
        Mode m = c.mode().get(0);
        if (m == Mode.DYNAMIC) return "mode=dynamic (INT8 weights and embeddings, run-time activation scales)";
        String s = "mode=" + m.name().toLowerCase(Locale.ROOT) + " calibrator=" + c.calibrator().get(0).cliName()
                + " activations=" + c.activations().get(0).name().toLowerCase(Locale.ROOT) + " weights=" + c.weights().get(0).name().toLowerCase(Locale.ROOT);
        return c.keepFloat().get(0) > 0 ? s + " keep_float=" + c.keepFloat().get(0) : s;
    }

    @Override
    public String method(Config c) { return "quantize/int8-" + c.mode().get(0).name().toLowerCase(Locale.ROOT); }

    @Override
    public Graph apply(StageContext ctx, Graph input, Config c) {
        boolean transformer = io.condense.quant.TransformerQuant.isTransformer(input);
        QuantConfig qc = c.quant(ctx.recipe().data().calibrationBatches())
                .withPlacement(c.placement() != null ? c.placement() : transformer ? QuantConfig.Placement.MATMUL_WEIGHTS : QuantConfig.Placement.RULES);
        Mode mode = c.mode().get(0);
        if (mode == Mode.DYNAMIC) {
            return io.condense.quant.TransformerQuant.quantize(input, io.condense.quant.TransformerQuant.Mode.DYNAMIC, null, null).graph();
        }
        if (mode == Mode.SMOOTHQUANT) {
            var opt = io.condense.quant.TransformerQuant.Options.defaults().withQuant(qc).withAlpha(c.alpha());
            return io.condense.quant.TransformerQuant.quantize(input, io.condense.quant.TransformerQuant.Mode.SMOOTHQUANT, opt, ctx.calibration(input), null).graph();
        }
        Graph prepared = ctx.cached("prepared", () -> PtqPass.prepare(io.condense.passes.OpsetConversion.upgrade(input, 13)));
        String statsKey = "stats/" + qc.method() + "/" + qc.percentile();
        CalibrationResult stats = ctx.cached(statsKey, () -> PtqPass.calibrate(prepared, qc, ctx.calibration(prepared), null));
        int keep = c.keepFloat().get(0);
        if (c.sensitivity()) {
            List<Map<String, Object>> sens = ctx.cached("sensitivity/" + statsKey + "/" + qc.symmetricActivations() + qc.perChannelWeights(),
                    () -> sensitivity(ctx, prepared, stats, qc));
            ctx.fact("sensitivity", sens);
            if (keep > 0) {
                List<String> ex = new ArrayList<>(qc.exclude());
                sens.stream().limit(keep).forEach(l -> ex.add((String) l.get("node")));
                return PtqPass.quantize(prepared, stats, qc.withExclude(ex));
            }
        }
        return PtqPass.quantize(prepared, stats, qc);
    }

    /** Each quantizable layer quantized alone, scored with the task metric; sorted by drop, largest first. */
    static List<Map<String, Object>> sensitivity(StageContext ctx, Graph prepared, CalibrationResult stats, QuantConfig qc) {
        double base = ctx.metric().evaluate(prepared);
        Set<String> layers = new LinkedHashSet<>();
        for (QdqRules.Site s : QdqRules.plan(prepared, qc)) layers.add(prepared.nodes().get(s.node()).name());
        List<Map<String, Object>> out = new ArrayList<>();
        try (io.condense.util.Progress p = io.condense.util.Progress.start("sensitivity", layers.size())) {
            for (String name : layers) {
                double m = ctx.metric().evaluate(PtqPass.quantize(prepared, stats, qc.withInclude(List.of(name))));
                String op = prepared.nodes().stream().filter(n -> n.name().equals(name)).map(Node::opType).findFirst().orElse("?");
                out.add(Map.of("node", name, "op", op, "metric", m, "drop", base - m));
                p.step();
            }
        }
        out.sort((a, b) -> Double.compare((double) b.get("drop"), (double) a.get("drop")));
        ctx.log().printf(Locale.ROOT, "sensitivity: %d layers, most sensitive %s%n", out.size(),
                out.isEmpty() ? "-" : out.get(0).get("node") + String.format(Locale.ROOT, " (drop %.4f)", (double) out.get(0).get("drop")));
        return out;
    }
}
