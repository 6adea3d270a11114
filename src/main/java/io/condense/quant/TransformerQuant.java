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

    /**
     * Settings of the modes.
     *
     * @param quant      static/SmoothQuant activation calibration and placement
     * @param alpha      SmoothQuant migration strength
     * @param embeddings dynamic and weight-only modes: also quantize the Gather embedding tables (INT8 per row for
     *                   dynamic, INT4 blocks for weight-only)
     * @param bits       weight-only bits (4 or 8)
     * @param group      weight-only group size along K
     * @param nbits      weight-only: export MatMul weights as com.microsoft MatMulNBits instead of DequantizeLinear
     */
    public record Options(QuantConfig quant, double alpha, boolean embeddings, int bits, int group, boolean nbits) {
        public Options {
            if (quant == null) quant = staticConfig();
        }

        public static Options defaults() { return new Options(staticConfig(), 0.5, true, 4, 32, false); }

        public Options withQuant(QuantConfig q) { return new Options(q, alpha, embeddings, bits, group, nbits); }

        public Options withAlpha(double a) { return new Options(quant, a, embeddings, bits, group, nbits); }

        public Options withEmbeddings(boolean e) { return new Options(quant, alpha, e, bits, group, nbits); }

        public Options withBits(int b) { return new Options(quant, alpha, embeddings, b, group, nbits); }

        public Options withGroup(int g) { return new Options(quant, alpha, embeddings, bits, g, nbits); }

        public Options withNbits(boolean n) { return new Options(quant, alpha, embeddings, bits, group, n); }
    }

    /** The static-INT8 settings used for transformers: weight MatMul/Gemm placement, percentile calibration (99.99). */
    public static QuantConfig staticConfig() {
        return QuantConfig.defaults().withPlacement(QuantConfig.Placement.MATMUL_WEIGHTS).withMethod(CalibrationMethod.PERCENTILE).withPercentile(99.99);
    }

    public static Result quantize(Graph g, Mode mode, Iterable<Map<String, Tensor>> calib, PrintStream progress) {
        return quantize(g, mode, Options.defaults(), calib, progress);
    }

    /**
     * Quantizes {@code g} in {@code mode}.
     *
     * @param calib calibration feeds (all graph inputs per batch); required for STATIC and SMOOTHQUANT, optional else
     */
    public static Result quantize(Graph g, Mode mode, Options opt, Iterable<Map<String, Tensor>> calib, PrintStream progress) {
        if (mode.needsCalibration() && calib == null) {
            throw new ModelException(mode.cliName() + " quantization needs calibration data (e.g. --text FILE); use --mode dynamic or weight-only without it");
        }
        return switch (mode) {
            case STATIC -> {
                QuantConfig cfg = opt.quant();
                Graph p = PtqPass.prepare(OpsetConversion.upgrade(g, 13));
                Graph q = PtqPass.quantize(p, PtqPass.calibrate(p, cfg, calib, progress), cfg);
                yield new Result(q, "static INT8, " + cfg.placement().cliName() + ", " + calibName(cfg));
            }
            case DYNAMIC -> {
                DynamicQuantization d = new DynamicQuantization(DynamicQuantization.Config.defaults());
                Graph q = d.apply(PtqPass.prepare(g));
                String what = "dynamic INT8, " + d.quantizedNodes() + " MatMul/Gemm";
                if (opt.embeddings()) {
                    q = DynamicQuantization.quantizeEmbeddings(q);
                    what += ", INT8 embeddings";
                }
                yield new Result(q, what);
            }
            case SMOOTHQUANT -> {
                QuantConfig cfg = opt.quant();
                Graph p = PtqPass.prepare(OpsetConversion.upgrade(g, 13));
                SmoothQuant sq = new SmoothQuant(new SmoothQuant.Config(opt.alpha()), calib);
                Graph s = sq.apply(p);
                Graph q = PtqPass.quantize(s, PtqPass.calibrate(s, cfg, calib, progress), cfg);
                yield new Result(q, "SmoothQuant alpha " + sq.config().alpha() + " (" + sq.smoothed() + " groups, " + sq.folded() + " folded) + static INT8, "
                        + cfg.placement().cliName() + ", " + calibName(cfg));
            }
            case WEIGHT_ONLY -> {
                var cfg = io.condense.quant.int4.Int4WeightOnly.Config.of(opt.group(), calib == null ? io.condense.quant.int4.Int4WeightOnly.Method.RTN
                        : io.condense.quant.int4.Int4WeightOnly.Method.GPTQ).withEmbeddings(opt.embeddings()).withBits(opt.bits())
                        .withFormat(opt.nbits() ? io.condense.quant.int4.Int4WeightOnly.Format.MATMUL_NBITS : io.condense.quant.int4.Int4WeightOnly.Format.QDQ);
                var pass = new io.condense.quant.int4.Int4WeightOnly(cfg, calib, progress);
                Graph q = pass.apply(PtqPass.prepare(g));
                yield new Result(q, "INT" + opt.bits() + " weight-only " + cfg.method().name().toLowerCase(Locale.ROOT) + " group " + cfg.group()
                        + (opt.embeddings() ? ", embeddings included" : "") + (opt.nbits() ? ", MatMulNBits" : ""));
            }
        };
    }

    private static String calibName(QuantConfig c) {
        return c.method().cliName() + (c.method() == CalibrationMethod.PERCENTILE ? " " + c.percentile() : "");
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
