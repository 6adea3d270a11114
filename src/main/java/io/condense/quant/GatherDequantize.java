package io.condense.quant;

import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.passes.DeadCodeElimination;
import io.condense.passes.GraphPass;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Moves the dequantization of a quantized embedding table after the Gather that reads it, so a run dequantizes only
 * the gathered rows instead of the whole table ({@code 30522 x 384} values per inference for BERT's word embeddings;
 * runtimes do not fold a DequantizeLinear of an initializer, as that would undo the quantization).
 *
 * <pre>
 *   DequantizeLinear(Wq, s, z) -> Gather(., ids)            per-tensor s, z:
 *      becomes  Gather(Wq, ids) -> DequantizeLinear(s, z)    (the form of ONNX Runtime's quantizer)
 *   DequantizeLinear(Wq, s[V], 0, axis=0) -> Gather(., ids)  per-row s, zero zero-points:
 *      becomes  Gather(Wq, ids) -> Cast(float) -> Mul(Gather(s[V,1], ids))
 * </pre>
 *
 * Both forms compute the same float32 values as before, bit for bit: DequantizeLinear computes
 * {@code float(q - 0) * s} and the Cast + Mul computes {@code float(q) * s}. A table is rewritten only when every
 * reader of its DequantizeLinear is a Gather on axis 0; other quantized tables (blocked INT4, non-zero per-row zero
 * points, tied output projections) are left as they are.
 */
public final class GatherDequantize implements GraphPass {
    @Override
    public String name() { return "gather-dequantize"; }

    @Override
    public Graph apply(Graph g) {
        Set<String> graphOutputs = new HashSet<>();
        for (ValueInfo v : g.outputs()) graphOutputs.add(v.name());
        Map<String, List<Node>> readers = g.consumers();
        Map<String, Tensor> inits = new LinkedHashMap<>(g.initializers());
        Set<String> names = io.condense.ir.Names.used(g);

        Map<Node, List<Node>> replace = new java.util.IdentityHashMap<>();
        for (Node dq : g.nodes()) {
            if (!dq.domain().isEmpty() || !dq.opType().equals("DequantizeLinear") || dq.hasAttr("block_size")) continue;
            Tensor q = inits.get(dq.input(0)), s = inits.get(dq.input(1));
            Tensor z = dq.hasInput(2) ? inits.get(dq.input(2)) : null;
            if (q == null || s == null || (dq.hasInput(2) && z == null) || q.rank() != 2) continue;
            if (s.dtype() != DType.FLOAT32) continue;
            String out = dq.output(0);
            List<Node> rs = readers.getOrDefault(out, List.of());
            if (rs.isEmpty() || graphOutputs.contains(out)) continue;
            boolean allGathers = rs.stream().allMatch(r -> r.domain().isEmpty() && r.opType().equals("Gather")
                    && r.attrLong("axis", 0) == 0 && r.input(0).equals(out) && !r.input(1).equals(out));
            if (!allGathers) continue;
            boolean perTensor = s.size() == 1 && (z == null || z.size() == 1);
            boolean perRow = !perTensor && (dq.attrLong("axis", 1) == 0 || dq.attrLong("axis", 1) == -2) && s.rank() == 1 && s.dim(0) == q.dim(0)
                    && (z == null || allZero(z));
            if (!perTensor && !perRow) continue;
            String scaleCol = null;
            if (perRow) {
                scaleCol = fresh(names, dq.input(1) + "_rows");
                inits.put(scaleCol, s.reshape(s.dim(0), 1));
            }
            for (Node gather : rs) {
                String base = gather.name().isEmpty() ? gather.output(0) : gather.name();
                String gq = fresh(names, gather.output(0) + "_quantized");
                List<Node> chain = new ArrayList<>();
                chain.add(new Node(fresh(names, base + "_quantized"), "Gather", "", List.of(dq.input(0), gather.input(1)),
                        List.of(gq), gather.attributes()));
                if (perTensor) {
                    List<String> in = new ArrayList<>(List.of(gq, dq.input(1)));
                    if (dq.hasInput(2)) in.add(dq.input(2));
                    chain.add(new Node(fresh(names, base + "_DequantizeLinear"), "DequantizeLinear", "", in,
                            List.of(gather.output(0)), Map.of()));
                } else {
                    String gs = fresh(names, gather.output(0) + "_row_scale"), f = fresh(names, gather.output(0) + "_float");
                    chain.add(new Node(fresh(names, base + "_scale_Gather"), "Gather", "", List.of(scaleCol, gather.input(1)),
                            List.of(gs), Map.of("axis", Attribute.of(0L))));
                    chain.add(new Node(fresh(names, base + "_Cast"), "Cast", "", List.of(gq), List.of(f),
                            Map.of("to", Attribute.of((long) DType.FLOAT32.onnxCode()))));
                    chain.add(new Node(fresh(names, base + "_dequantize_Mul"), "Mul", "", List.of(f, gs),
                            List.of(gather.output(0)), Map.of()));
                }
                replace.put(gather, chain);
            }
            replace.put(dq, List.of());
        }
        if (replace.isEmpty()) return g;
        List<Node> nodes = new ArrayList<>();
        for (Node n : g.nodes()) nodes.addAll(replace.getOrDefault(n, List.of(n)));
        Graph out = g.toBuilder().nodes(nodes).initializers(inits).build().sorted();
        return new DeadCodeElimination().apply(out);
    }

    private static boolean allZero(Tensor z) {
        for (int i = 0; i < z.size(); i++) if (z.getDouble(i) != 0) return false;
        return true;
    }

    private static String fresh(Set<String> names, String base) { return io.condense.ir.Names.fresh(names, base); }
}
