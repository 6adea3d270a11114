package io.condense.quant;

import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.passes.OpsetConversion;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;

/**
 * Quantization of transformer (BERT-style) models, one entry point per mode:
 * <ul>
 *   <li>{@link Mode#STATIC}: calibrated per-tensor INT8 activations and per-channel INT8 weights on the inputs of
 *       every MatMul/Gemm (attention's activation x activation MatMuls included); LayerNorm, Softmax, GELU and the
 *       residual Adds stay float (TensorRT placement);</li>
 *   <li>{@link Mode#DYNAMIC}: per-channel INT8 weights, activations quantized at run time ({@link DynamicQuantization});</li>
 *   <li>{@link Mode#SMOOTHQUANT}: {@link SmoothQuant} (alpha 0.5) and then {@link Mode#STATIC};</li>
 *   <li>{@link Mode#WEIGHT_ONLY}: 4-bit weights of the MatMuls and of the embedding tables
 *       ({@link io.condense.quant.int4.Int4WeightOnly}), activations float.</li>
 * </ul>
 * Every mode first upgrades the model's opset ({@link OpsetConversion}) as far as its Q/DQ form needs.
 */
public final class TransformerQuant {
    private TransformerQuant() {}

    public enum Mode {
        STATIC, DYNAMIC, SMOOTHQUANT, WEIGHT_ONLY;

        public String cliName() { return name().toLowerCase(Locale.ROOT).replace('_', '-'); }

        public static Mode parse(String s) {
            for (Mode m : values()) if (m.cliName().equals(s.toLowerCase(Locale.ROOT).replace('_', '-'))) return m;
            throw new ModelException("unknown mode '" + s + "' (static, dynamic, smoothquant, weight-only)");
        }

        public boolean needsCalibration() { return this == STATIC || this == SMOOTHQUANT; }
    }

    /** The quantized graph and a short description of what was done (for the command's output). */
    public record Result(Graph graph, String description) {}

    /** The static-INT8 settings used for transformers: MatMul placement, percentile calibration (99.99). */
    public static QuantConfig staticConfig() {
        return QuantConfig.defaults().withPlacement(QuantConfig.Placement.MATMUL).withMethod(CalibrationMethod.PERCENTILE).withPercentile(99.99);
    }

    /**
     * Quantizes {@code g} in {@code mode}.
     *
     * @param calib calibration feeds (all graph inputs per batch); required for STATIC and SMOOTHQUANT, optional else
     */
    public static Result quantize(Graph g, Mode mode, Iterable<Map<String, Tensor>> calib, PrintStream progress) {
        if (mode.needsCalibration() && calib == null) {
            throw new ModelException(mode.cliName() + " quantization needs calibration data (e.g. --text FILE); use --mode dynamic or weight-only without it");
        }
        return switch (mode) {
            case STATIC -> {
                QuantConfig cfg = staticConfig();
                Graph p = PtqPass.prepare(OpsetConversion.upgrade(g, 13));
                Graph q = PtqPass.quantize(p, PtqPass.calibrate(p, cfg, calib, progress), cfg);
                yield new Result(q, "static INT8, MatMul/Gemm inputs, " + cfg.method().cliName() + " " + cfg.percentile());
            }
            case DYNAMIC -> {
                DynamicQuantization d = new DynamicQuantization(DynamicQuantization.Config.defaults());
                Graph q = d.apply(PtqPass.prepare(g));
                yield new Result(q, "dynamic INT8, " + d.quantizedNodes() + " MatMul/Gemm");
            }
            case SMOOTHQUANT -> {
                QuantConfig cfg = staticConfig();
                Graph p = PtqPass.prepare(OpsetConversion.upgrade(g, 13));
                SmoothQuant sq = new SmoothQuant(SmoothQuant.Config.defaults(), calib);
                Graph s = sq.apply(p);
                Graph q = PtqPass.quantize(s, PtqPass.calibrate(s, cfg, calib, progress), cfg);
                yield new Result(q, "SmoothQuant alpha " + sq.config().alpha() + " (" + sq.smoothed() + " groups) + static INT8");
            }
            case WEIGHT_ONLY -> {
                var cfg = io.condense.quant.int4.Int4WeightOnly.Config.of(32, calib == null ? io.condense.quant.int4.Int4WeightOnly.Method.RTN
                        : io.condense.quant.int4.Int4WeightOnly.Method.GPTQ).withEmbeddings(true);
                var pass = new io.condense.quant.int4.Int4WeightOnly(cfg, calib, null);
                Graph q = pass.apply(PtqPass.prepare(g));
                yield new Result(q, "INT4 weight-only " + cfg.method().name().toLowerCase(Locale.ROOT) + " group " + cfg.group() + ", embeddings included");
            }
        };
    }

    /**
     * Whether {@code g} looks like a transformer: integer (token id) inputs, or a MatMul-heavy graph with the
     * LayerNorm pattern (ReduceMean ... Sqrt/Div, or LayerNormalization).
     */
    public static boolean isTransformer(Graph g) {
        boolean intInput = false;
        for (ValueInfo v : g.inputs()) {
            DType d = v.type().dtype();
            if (d == DType.INT64 || d == DType.INT32) intInput = true;
        }
        int matmul = 0, conv = 0, reduceMean = 0, layerNorm = 0;
        for (Node n : g.nodes()) {
            switch (n.opType()) {
                case "MatMul", "Gemm" -> matmul++;
                case "Conv" -> conv++;
                case "ReduceMean" -> reduceMean++;
                case "LayerNormalization", "SkipLayerNormalization" -> layerNorm++;
                default -> { }
            }
        }
        boolean lnPattern = layerNorm > 0 || reduceMean >= 2;
        return matmul > conv && matmul >= 2 && (intInput || lnPattern);
    }
}
