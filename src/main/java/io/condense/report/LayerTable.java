package io.condense.report;

import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Per-layer facts of a model: the weight's stored precision, whether activations are quantized, and weight sparsity. */
public final class LayerTable {
    private LayerTable() {}

    /**
     * One weighted layer.
     *
     * @param node        node name
     * @param op          op type
     * @param weight      the weight initializer's name
     * @param parameters  weight elements
     * @param precision   the weight's stored type: float32, float16, int8, int4, uint4, ...
     * @param activations the precision of the layer's data input ("int8" when it is read through DequantizeLinear, else "float")
     * @param sparsity    fraction of weight values that are exactly zero (quantized weights: codes equal to the zero point)
     */
    public record Layer(String node, String op, String weight, long parameters, String precision, String activations, double sparsity) {}

    private static final Set<String> WEIGHTED = Set.of("Conv", "ConvTranspose", "Gemm", "MatMul", "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger");

    public static List<Layer> of(Graph g) {
        Map<String, Node> producer = new HashMap<>();
        for (Node n : g.nodes()) for (String o : n.outputs()) producer.put(o, n);
        List<Layer> out = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (!WEIGHTED.contains(n.opType()) && !n.opType().equals("Gather")) continue;
            int wi = n.opType().equals("Gather") ? 0 : n.opType().startsWith("QLinear") ? 3 : 1;
            int ai = n.opType().equals("Gather") ? -1 : 0;
            if (n.inputs().size() <= wi) continue;
            String w = n.input(wi);
            Tensor t = g.initializers().get(w);
            Tensor zp = null;
            Node dq = producer.get(w);
            if (t == null && dq != null && dq.opType().equals("DequantizeLinear")) {
                w = dq.input(0);
                t = g.initializers().get(w);
                if (dq.inputs().size() > 2 && !dq.input(2).isEmpty()) zp = g.initializers().get(dq.input(2));
            }
            if (t == null || t.rank() < 1) continue;
            if (n.opType().equals("Gather") && t.rank() != 2) continue;
            String act = "float";
            if (ai >= 0 && n.inputs().size() > ai) {
                Node p = producer.get(n.input(ai));
                if (p != null && p.opType().equals("DequantizeLinear") || n.opType().startsWith("QLinear") || n.opType().endsWith("Integer")) act = "int8";
            }
            out.add(new Layer(n.name().isEmpty() ? n.output(0) : n.name(), n.opType(), w, t.size(), name(t.dtype()), act, sparsity(t, zp)));
        }
        return out;
    }

    static String name(DType d) { return d.name().toLowerCase(Locale.ROOT); }

    static double sparsity(Tensor t, Tensor zp) {
        int n = t.size();
        if (n == 0) return 0;
        double z = zp != null && zp.size() == 1 ? zp.getDouble(0) : 0;
        long zeros = 0;
        for (int i = 0; i < n; i++) if (t.getDouble(i) == z) zeros++;
        return (double) zeros / n;
    }
}
