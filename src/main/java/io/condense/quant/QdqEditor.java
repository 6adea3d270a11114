package io.condense.quant;

import io.condense.ir.Attribute;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.passes.DeadCodeElimination;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Inserts QuantizeLinear/DequantizeLinear into a graph. Collect edits, then {@link #build()}:
 *
 * <pre>{@code
 * QdqEditor e = new QdqEditor(g);
 * String xq = e.activation("x", QParams.symmetric(amax, DType.INT8));   // x -> Q -> DQ, returns the DQ output
 * String wq = e.weight("conv.weight", QParams.perChannelSymmetric(...)); // INT8 initializer -> DQ
 * e.rewire(convIndex, 0, xq);                                          // node convIndex now reads xq as input 0
 * e.rewire(convIndex, 1, wq);
 * Graph q = e.build();                                                 // opset raised as the Q/DQ forms need
 * }</pre>
 *
 * Activation pairs and quantized weights are memoized per value: asking twice returns the same DQ output.
 * Readers that are not rewired keep reading the float value. {@link #build()} sorts the nodes topologically,
 * drops dead float weights and raises the default-domain opset to 13 for per-axis parameters (21 for blocked
 * or 4-bit ones) with {@link io.condense.passes.OpsetConversion}, which rewrites the ops whose signature changed.
 */
public final class QdqEditor {
    private final Graph g;
    private final Map<String, Tensor> inits;
    private final List<Node> added = new ArrayList<>();
    private final Map<Integer, Map<Integer, String>> rewires = new HashMap<>();
    private final Map<String, String> activationMemo = new HashMap<>();
    private final Map<String, String> weightMemo = new HashMap<>();
    private final Set<String> names = new HashSet<>();
    private int minOpset = 10;

    public QdqEditor(Graph g) {
        this.g = g;
        this.inits = new LinkedHashMap<>(g.initializers());
        names.addAll(io.condense.ir.Names.used(g));
    }

    public Graph graph() { return g; }

    private String fresh(String base) { return io.condense.ir.Names.fresh(names, base); }

    private void need(QParams p) {
        if (p.blockSize() > 0 || p.type().bits() == 4) minOpset = Math.max(minOpset, 21);
        else if (!p.perTensor()) minOpset = Math.max(minOpset, 13);
        else if (p.type().bits() == 16) minOpset = Math.max(minOpset, 21);
    }

    private Map<String, Attribute> attrs(QParams p) {
        Map<String, Attribute> a = new LinkedHashMap<>();
        if (!p.perTensor()) a.put("axis", Attribute.of((long) p.axis()));
        if (p.blockSize() > 0) a.put("block_size", Attribute.of((long) p.blockSize()));
        return a;
    }

    /** Adds {@code value -> QuantizeLinear -> DequantizeLinear}; returns the DQ output (memoized per value). */
    public String activation(String value, QParams p) {
        String memo = activationMemo.get(value);
        if (memo != null) return memo;
        need(p);
        String s = fresh(value + "_scale"), z = fresh(value + "_zero_point");
        inits.put(s, p.scale());
        inits.put(z, p.zeroPoint());
        String q = fresh(value + "_quantized"), dq = fresh(value + "_dequantized");
        added.add(new Node(fresh(value + "_QuantizeLinear"), "QuantizeLinear", "", List.of(value, s, z), List.of(q), attrs(p)));
        added.add(new Node(fresh(value + "_DequantizeLinear"), "DequantizeLinear", "", List.of(q, s, z), List.of(dq), attrs(p)));
        activationMemo.put(value, dq);
        return dq;
    }

    /**
     * Replaces a float initializer by its quantized copy read through a DequantizeLinear; returns the DQ output
     * (memoized per initializer). The float initializer stays for readers that are not rewired.
     */
    public String weight(String initializer, QParams p) {
        String memo = weightMemo.get(initializer);
        if (memo != null) return memo;
        Tensor w = inits.get(initializer);
        if (w == null) throw new ModelException("'" + initializer + "' is not an initializer");
        return weight(initializer, p.quantize(w), p);
    }

    /** As {@link #weight(String, QParams)} with an already quantized tensor (e.g. from GPTQ). */
    public String weight(String initializer, Tensor quantized, QParams p) {
        String memo = weightMemo.get(initializer);
        if (memo != null) return memo;
        if (quantized.dtype() != p.type()) throw new IllegalArgumentException("quantized weight must be " + p.type());
        need(p);
        String qn = fresh(initializer + "_quantized"), s = fresh(initializer + "_scale"), z = fresh(initializer + "_zero_point");
        inits.put(qn, quantized);
        inits.put(s, p.scale());
        inits.put(z, p.zeroPoint());
        String dq = fresh(initializer + "_dequantized");
        added.add(new Node(fresh(initializer + "_DequantizeLinear"), "DequantizeLinear", "", List.of(qn, s, z), List.of(dq), attrs(p)));
        weightMemo.put(initializer, dq);
        return dq;
    }

    /** Makes input {@code input} of node number {@code node} (index in {@code graph().nodes()}) read {@code value}. */
    public void rewire(int node, int input, String value) {
        rewires.computeIfAbsent(node, k -> new HashMap<>()).put(input, value);
    }

    /** Number of Q/DQ nodes added so far. */
    public int addedNodes() { return added.size(); }

    public Graph build() {
        List<Node> nodes = new ArrayList<>();
        for (int i = 0; i < g.nodes().size(); i++) {
            Node n = g.nodes().get(i);
            Map<Integer, String> r = rewires.get(i);
            if (r != null) {
                List<String> in = new ArrayList<>(n.inputs());
                r.forEach(in::set);
                n = n.withInputs(in);
            }
            nodes.add(n);
        }
        nodes.addAll(added);
        Graph out = g.toBuilder().nodes(nodes).initializers(inits).build();
        out = out.sorted();
        out = raiseOpset(out, minOpset);
        return new DeadCodeElimination().apply(out);
    }

    /** Ops whose inputs or attributes changed between opsets 10 and 21 in ways a plain version bump would break. */
    private static final Map<String, Integer> CHANGED = Map.ofEntries(
            Map.entry("Squeeze", 13), Map.entry("Unsqueeze", 13), Map.entry("Split", 13), Map.entry("ReduceSum", 13),
            Map.entry("Softmax", 13), Map.entry("LogSoftmax", 13), Map.entry("Hardmax", 13), Map.entry("Pad", 11),
            Map.entry("Clip", 11), Map.entry("Resize", 11), Map.entry("Upsample", 10), Map.entry("TopK", 10),
            Map.entry("Slice", 10), Map.entry("Dropout", 12), Map.entry("ReduceMean", 18), Map.entry("ReduceMax", 18),
            Map.entry("ReduceMin", 18), Map.entry("ReduceProd", 18), Map.entry("ReduceL1", 18), Map.entry("ReduceL2", 18),
            Map.entry("ReduceLogSum", 18), Map.entry("ReduceLogSumExp", 18), Map.entry("ReduceSumSquare", 18),
            Map.entry("ScatterElements", 18), Map.entry("Scatter", 11), Map.entry("Col2Im", 18), Map.entry("GroupNormalization", 21));

    private static final java.util.Set<String> SOFTMAX = java.util.Set.of("Softmax", "LogSoftmax", "Hardmax");

    /** Before opset 13 Softmax flattens to 2-D at {@code axis} (default 1); on a rank-2 input with axis 1 that is the last axis either way. */
    private static boolean softmaxOnLastAxis(Graph g, Node n) {
        io.condense.ir.TensorType t;
        try {
            t = io.condense.ir.ShapeInference.inferTypes(g).getOrDefault(n.input(0), g.typeOf(n.input(0)));
        } catch (ModelException e) {
            t = g.typeOf(n.input(0));
        }
        if (!t.hasRank()) return false;
        long axis = n.attrLong("axis", 1);
        if (axis < 0) axis += t.rank();
        return axis == t.rank() - 1 && t.rank() == 2;
    }

    /** Writes the (unchanged) axis explicitly on softmax-like nodes being moved to opset 13. */
    private static List<Node> pinSoftmaxAxes(Graph g, int cur, int opset) {
        List<Node> out = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (cur < 13 && opset >= 13 && SOFTMAX.contains(n.opType()) && (n.domain().isEmpty() || n.domain().equals("ai.onnx"))) {
                n = n.withAttribute("axis", Attribute.of(1L));
            }
            out.add(n);
        }
        return out;
    }

    /**
     * {@code g} with its default-domain opset at least {@code opset}. Targets of 13 and above go through
     * {@link io.condense.passes.OpsetConversion} (ops whose signature changed are rewritten); below 13 (plain
     * per-tensor Q/DQ needs 10) the version is only renumbered, refused (ModelException) when a node's op changed.
     */
    public static Graph raiseOpset(Graph g, int opset) {
        int cur = g.opset();
        if (cur >= opset) return g;
        if (opset >= 13) return io.condense.passes.OpsetConversion.upgrade(g, opset);
        for (Node n : g.nodes()) {
            if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx")) continue;
            Integer v = CHANGED.get(n.opType());
            if (SOFTMAX.contains(n.opType()) && cur < 13 && softmaxOnLastAxis(g, n)) continue;
            if (v != null && v > cur && v <= opset) {
                throw new ModelException("cannot raise the model's opset from " + cur + " to " + opset + " for Q/DQ: node "
                        + n.label() + " uses " + n.opType() + ", which changed in opset " + v + "; re-export the model at opset >= " + opset);
            }
        }
        Graph.Builder b = g.toBuilder();
        b.nodes(pinSoftmaxAxes(g, cur, opset));
        Map<String, Integer> ops = new LinkedHashMap<>(g.opsets());
        ops.remove("ai.onnx");
        ops.put("", opset);
        b.opsets(ops);
        long ir = opset >= 21 ? 10 : opset >= 19 ? 9 : opset >= 15 ? 8 : 7;
        if (g.irVersion() < ir) b.irVersion(ir);
        return b.build();
    }
}
