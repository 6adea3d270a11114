package io.condense.quant;

import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.passes.BatchNormFolding;
import io.condense.passes.ConstantFolding;
import io.condense.passes.DeadCodeElimination;
import io.condense.passes.GraphPass;
import io.condense.passes.IdentityElimination;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/**
 * Post-training static quantization to a QDQ graph (ONNX QuantizeLinear/DequantizeLinear pairs, as TensorRT and
 * ONNX Runtime consume them):
 *
 * <ol>
 *   <li>{@link #prepare}: identity elimination, BatchNorm folding into Conv/Gemm, constant folding, dead code;</li>
 *   <li>{@link QdqRules#plan}: the inputs to quantize (rule table, include/exclude lists);</li>
 *   <li>{@link Calibration#run}: activation statistics over the calibration batches;</li>
 *   <li>{@link #quantize}: weights per-channel (or per-tensor) symmetric INT8 stored as INT8 initializers read
 *       by DequantizeLinear; activations per-tensor INT8 symmetric (or UINT8 asymmetric) Q/DQ pairs with the
 *       calibrated ranges.</li>
 * </ol>
 * The default-domain opset is raised to 13 when per-channel weights need the {@code axis} attribute.
 */
public final class PtqPass implements GraphPass {
    private final QuantConfig cfg;
    private final Iterable<Map<String, Tensor>> data;
    private final PrintStream progress;
    private CalibrationResult last;

    /**
     * @param cfg      settings
     * @param data     calibration feeds (one map of graph inputs per batch)
     * @param progress calibration progress lines, or null
     */
    public PtqPass(QuantConfig cfg, Iterable<Map<String, Tensor>> data, PrintStream progress) {
        this.cfg = cfg;
        this.data = data;
        this.progress = progress;
    }

    @Override
    public String name() { return "ptq-" + cfg.method().cliName(); }

    @Override
    public Graph apply(Graph g) {
        Graph p = prepare(g);
        last = calibrate(p, cfg, data, progress);
        return quantize(p, last, cfg);
    }

    /** Statistics of the last {@link #apply} (null before). */
    public CalibrationResult lastCalibration() { return last; }

    /** The float graph PTQ works on: identity elimination, BatchNorm folding, constant folding, dead code removal. */
    public static Graph prepare(Graph g) {
        return nameNodes(GraphPass.run(g, new IdentityElimination(), new BatchNormFolding(), new ConstantFolding(), new DeadCodeElimination()));
    }

    /** Gives every unnamed node a unique name (its first output, else op type and index) so include/exclude can address it. */
    public static Graph nameNodes(Graph g) {
        java.util.Set<String> used = new java.util.HashSet<>();
        for (io.condense.ir.Node n : g.nodes()) used.add(n.name());
        boolean changed = false;
        List<io.condense.ir.Node> nodes = new java.util.ArrayList<>();
        int i = 0;
        for (io.condense.ir.Node n : g.nodes()) {
            if (n.name().isEmpty()) {
                String base = n.outputs().isEmpty() || n.output(0).isEmpty() ? n.opType() + "_" + i : n.output(0), name = base;
                for (int k = 1; used.contains(name); k++) name = base + "_" + k;
                used.add(name);
                n = new io.condense.ir.Node(name, n.opType(), n.domain(), n.inputs(), n.outputs(), n.attributes());
                changed = true;
            }
            nodes.add(n);
            i++;
        }
        return changed ? g.toBuilder().nodes(nodes).build() : g;
    }

    /**
     * Calibrates every activation the rule table would quantize in {@code prepared} (ignoring include/exclude and
     * with {@link QuantConfig#quantizeOutputs()}, so the same statistics serve any later selection, e.g. in
     * {@link Sensitivity}).
     */
    public static CalibrationResult calibrate(Graph prepared, QuantConfig cfg, Iterable<Map<String, Tensor>> data, PrintStream progress) {
        return calibrate(io.condense.backend.Backends.cpu(), prepared, cfg, data, progress);
    }

    /** As {@link #calibrate(Graph, QuantConfig, Iterable, PrintStream)}, running the model on {@code backend}. */
    public static CalibrationResult calibrate(io.condense.backend.Backend backend, Graph prepared, QuantConfig cfg,
                                              Iterable<Map<String, Tensor>> data, PrintStream progress) {
        List<QdqRules.Site> all = QdqRules.plan(prepared, cfg.withInclude(List.of()).withExclude(List.of()).withQuantizeOutputs(true));
        return Calibration.run(backend, prepared, QdqRules.activationTensors(all), data, cfg, progress);
    }

    /** Inserts Q/DQ into a {@link #prepare prepared} graph with calibrated statistics. */
    public static Graph quantize(Graph prepared, CalibrationResult stats, QuantConfig cfg) {
        QdqEditor e = new QdqEditor(prepared);
        for (QdqRules.Site s : QdqRules.plan(prepared, cfg)) {
            String v;
            if (s.kind() == QdqRules.Kind.OUTPUT) {
                v = e.activation(s.value(), stats.get(s.value()).qparams(cfg));
                List<io.condense.ir.Node> nodes = prepared.nodes();
                for (int j = 0; j < nodes.size(); j++) {
                    for (int k = 0; k < nodes.get(j).inputs().size(); k++) if (nodes.get(j).input(k).equals(s.value())) e.rewire(j, k, v);
                }
                continue;
            }
            if (s.kind() == QdqRules.Kind.ACTIVATION) {
                v = e.activation(s.value(), stats.get(s.value()).qparams(cfg));
            } else {
                v = e.weight(s.value(), weightParams(prepared.initializers().get(s.value()), s.axis(), cfg));
            }
            e.rewire(s.node(), s.input(), v);
        }
        return e.build();
    }

    /** Symmetric INT8 weight parameters: per channel along {@code axis} or per tensor, as {@code cfg} says. */
    public static QParams weightParams(Tensor w, int axis, QuantConfig cfg) {
        if (cfg.perChannelWeights()) return QParams.perChannelSymmetric(QParams.channelAbsMax(w, axis), axis, DType.INT8);
        return QParams.symmetric(QParams.absMax(w), DType.INT8);
    }
}
