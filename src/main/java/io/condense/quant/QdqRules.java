package io.condense.quant;

import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where post-training quantization puts QuantizeLinear/DequantizeLinear pairs: the inputs TensorRT fuses into
 * INT8 kernels (TensorRT's "explicit quantization" placement; ORT's QDQ tooling uses the same places).
 *
 * <table>
 *   <caption>Rule table ({@link #RULES})</caption>
 *   <tr><th>op</th><th>activation inputs (per-tensor)</th><th>weight input (initializer, per-channel)</th></tr>
 *   <tr><td>Conv</td><td>0</td><td>1, axis 0 ([M, C/g, kH, kW])</td></tr>
 *   <tr><td>Gemm</td><td>0</td><td>1, axis 0 if transB=1 ([N, K]) else axis 1 ([K, N])</td></tr>
 *   <tr><td>MatMul</td><td>0</td><td>1, last axis ([..., K, N] -&gt; N)</td></tr>
 *   <tr><td>Add</td><td>0 and 1, only when neither is a constant (a residual join)</td><td>-</td></tr>
 *   <tr><td>MaxPool, AveragePool, GlobalAveragePool</td><td>0 (pooling runs in INT8, passthrough)</td><td>-</td></tr>
 * </table>
 *
 * {@link QuantConfig#placement()} narrows the table to MatMul/Gemm (transformers). A "weight" input that is not an initializer (e.g. MatMul of two activations) is treated as an activation. Bias
 * inputs stay float (TensorRT folds them in float). Every other op and every input not listed stays float. Weights are
 * stored as INT8 initializers read by a DequantizeLinear (no QuantizeLinear); an activation read by several
 * quantized inputs gets one shared Q/DQ pair.
 */
public final class QdqRules {
    private QdqRules() {}

    /** One row of the table. {@code weightInput} is -1 when the op has no weight. */
    public record Rule(String opType, int[] activationInputs, int weightInput, String weightAxis, boolean onlyWhenAllDynamic) {}

    /** The rule table, keyed by op type (default domain only). */
    public static final Map<String, Rule> RULES = Map.of(
            "Conv", new Rule("Conv", new int[] {0}, 1, "0", false),
            "Gemm", new Rule("Gemm", new int[] {0}, 1, "transB ? 0 : 1", false),
            "MatMul", new Rule("MatMul", new int[] {0}, 1, "rank - 1", false),
            "Add", new Rule("Add", new int[] {0, 1}, -1, "-", true),
            "MaxPool", new Rule("MaxPool", new int[] {0}, -1, "-", false),
            "AveragePool", new Rule("AveragePool", new int[] {0}, -1, "-", false),
            "GlobalAveragePool", new Rule("GlobalAveragePool", new int[] {0}, -1, "-", false));

    /** What to do with one input of one node. */
    public enum Kind { ACTIVATION, WEIGHT, /** the node's output 0: every reader reads it through one Q/DQ pair */ OUTPUT }

    /** Ops whose output gets a Q/DQ pair under {@link QuantConfig#quantizeOutputs()} (ONNX Runtime's QDQ fusions). */
    public static final java.util.Set<String> OUTPUT_OPS = java.util.Set.of("Conv", "Gemm", "MatMul");

    /**
     * One quantized input: node index in {@code g.nodes()}, input index (-1 for {@link Kind#OUTPUT}), the value,
     * and for weights the per-channel axis.
     */
    public record Site(int node, int input, String value, Kind kind, int axis) {}

    /** The quantized inputs of {@code g} under the rule table and {@code cfg}'s include/exclude lists, in node order. */
    public static List<Site> plan(Graph g, QuantConfig cfg) {
        Map<String, Tensor> inits = g.initializers();
        Set<String> inputs = new HashSet<>();
        for (ValueInfo v : g.inputs()) inputs.add(v.name());
        Set<String> graphOutputs = new HashSet<>();
        for (ValueInfo v : g.outputs()) graphOutputs.add(v.name());
        List<Site> out = new ArrayList<>();
        List<Node> nodes = g.nodes();
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx")) continue;
            Rule r = RULES.get(n.opType());
            if (r == null || !cfg.allows(n.name())) continue;
            boolean matmul = n.opType().equals("MatMul") || n.opType().equals("Gemm");
            if (cfg.placement() != QuantConfig.Placement.RULES && !matmul) continue;
            if (cfg.placement() == QuantConfig.Placement.MATMUL_WEIGHTS) {
                String w = n.input(1);
                if (!inits.containsKey(w) || inputs.contains(w)) continue;
            }
            if (r.onlyWhenAllDynamic()) {
                boolean allDynamic = true;
                for (int k : r.activationInputs()) {
                    String v = n.input(k);
                    if (v.isEmpty() || (inits.containsKey(v) && !inputs.contains(v)) || isConstant(g, v)) allDynamic = false;
                }
                if (!allDynamic) continue;
            }
            for (int k : r.activationInputs()) {
                if (!n.hasInput(k) || !isFloat(g, n.input(k))) continue;
                if (inits.containsKey(n.input(k)) && !inputs.contains(n.input(k))) continue; // constants are not activations
                out.add(new Site(i, k, n.input(k), Kind.ACTIVATION, QParams.PER_TENSOR));
            }
            if (r.weightInput() >= 0 && n.hasInput(r.weightInput())) {
                String w = n.input(r.weightInput());
                Tensor t = inputs.contains(w) ? null : inits.get(w);
                if (t != null) {
                    if (!t.dtype().isFloating()) continue;
                    int axis = weightAxis(n, t);
                    if (axis >= 0) out.add(new Site(i, r.weightInput(), w, Kind.WEIGHT, axis));
                } else if (isFloat(g, w)) {
                    out.add(new Site(i, r.weightInput(), w, Kind.ACTIVATION, QParams.PER_TENSOR));
                }
            }
            if (cfg.quantizeOutputs() && OUTPUT_OPS.contains(n.opType()) && !n.output(0).isEmpty()
                    && !graphOutputs.contains(n.output(0)) && isFloat(g, n.output(0))) {
                out.add(new Site(i, -1, n.output(0), Kind.OUTPUT, QParams.PER_TENSOR));
            }
        }
        return out;
    }

    /** The output-channel axis of weight {@code w} of node {@code n}, or -1 if the shape does not fit the rule. */
    public static int weightAxis(Node n, Tensor w) {
        return switch (n.opType()) {
            case "Conv" -> w.rank() >= 3 ? 0 : -1;
            case "Gemm" -> w.rank() == 2 ? (n.attrLong("transB", 0) != 0 ? 0 : 1) : -1;
            case "MatMul" -> w.rank() >= 2 ? w.rank() - 1 : -1;
            default -> -1;
        };
    }

    /** Activation values (in first-use order) that need calibration statistics. */
    public static Set<String> activationTensors(List<Site> plan) {
        Set<String> s = new LinkedHashSet<>();
        for (Site x : plan) if (x.kind() != Kind.WEIGHT) s.add(x.value());
        return s;
    }

    private static boolean isFloat(Graph g, String v) {
        var t = g.typeOf(v);
        return t.dtype() == null || t.dtype().isFloating();
    }

    private static boolean isConstant(Graph g, String v) {
        for (Node n : g.nodes()) if (n.outputs().contains(v)) return n.opType().equals("Constant");
        return false;
    }
}
