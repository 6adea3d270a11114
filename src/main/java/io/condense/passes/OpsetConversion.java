package io.condense.passes;

import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.ShapeInference;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Raises the default-domain ({@code ai.onnx}) opset of a model from 7..20 to a target in 13..21, rewriting every
 * node whose op changed its signature or meaning in between, so the upgraded graph computes what the original did
 * (checked against ONNX Runtime on every staged model and node test):
 *
 * <table>
 *   <caption>Adapters</caption>
 *   <tr><th>op</th><th>changed in</th><th>rewrite</th></tr>
 *   <tr><td>Squeeze, Unsqueeze, ReduceSum</td><td>13</td><td>{@code axes} attribute -&gt; int64 input</td></tr>
 *   <tr><td>ReduceMean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare</td><td>18</td><td>{@code axes} attribute -&gt; input</td></tr>
 *   <tr><td>Split</td><td>13, 18</td><td>{@code split} attribute -&gt; input; {@code num_outputs} when it has none</td></tr>
 *   <tr><td>Slice</td><td>10</td><td>{@code starts/ends/axes} attributes -&gt; inputs</td></tr>
 *   <tr><td>TopK</td><td>10</td><td>{@code k} attribute -&gt; input</td></tr>
 *   <tr><td>Clip</td><td>11</td><td>{@code min/max} attributes -&gt; scalar inputs of the input's type</td></tr>
 *   <tr><td>Pad</td><td>11</td><td>{@code pads/value} attributes -&gt; inputs</td></tr>
 *   <tr><td>Softmax, LogSoftmax, Hardmax</td><td>13</td><td>before 13 the input is coerced to 2-D at {@code axis}:
 *       on the last axis the axis is written explicitly, otherwise Flatten -&gt; op(axis 1) -&gt; Reshape to the input's shape</td></tr>
 *   <tr><td>Upsample</td><td>9, removed 10</td><td>-&gt; Resize (asymmetric coordinates; nearest rounds down)</td></tr>
 *   <tr><td>Resize</td><td>11</td><td>(X, scales) -&gt; (X, roi, scales) with opset-10 coordinate semantics</td></tr>
 *   <tr><td>BatchNormalization</td><td>9, 14</td><td>{@code spatial}, {@code consumed_inputs}, {@code is_test} dropped
 *       (spatial=0 on rank &gt; 2 refused); unused training outputs dropped</td></tr>
 *   <tr><td>Dropout</td><td>12</td><td>{@code ratio} attribute -&gt; input; {@code is_test} dropped</td></tr>
 *   <tr><td>Scatter</td><td>removed 11</td><td>-&gt; ScatterElements</td></tr>
 *   <tr><td>RoiAlign</td><td>16</td><td>{@code coordinate_transformation_mode=output_half_pixel} (the old behaviour)</td></tr>
 *   <tr><td>GridSample</td><td>20</td><td>mode bilinear/bicubic -&gt; linear/cubic</td></tr>
 *   <tr><td>GroupNormalization</td><td>21</td><td>per-group scale/bias initializers repeated per channel</td></tr>
 *   <tr><td>DFT</td><td>20</td><td>{@code axis} attribute -&gt; input</td></tr>
 *   <tr><td>ImageScaler</td><td>removed 10</td><td>-&gt; Mul, Add</td></tr>
 * </table>
 *
 * Other ops are unchanged (their later versions only add types or attributes with backward-compatible defaults).
 * Subgraphs (If/Loop/Scan bodies) are converted too. A model already at or above the target is returned as is
 * (downgrades are not supported). Refused with a {@link ModelException} naming the node: Scan-8 (batch axis
 * semantics), BatchNormalization spatial=0 on images, a consumed Dropout mask of opset &lt; 10, a consumed
 * BatchNormalization training output.
 */
public final class OpsetConversion implements GraphPass {
    /** @param target the default-domain opset to reach, 13..21 */
    public record Config(int target) {
        public Config {
            if (target < 13 || target > 21) throw new ModelException("opset conversion targets 13..21, got " + target);
        }
    }

    private static final Set<String> REDUCE_18 = Set.of("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
            "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare");
    /** Ops whose opset-1 form means what their latest form means (a model below opset 7 using only these converts). */
    private static final Set<String> UNCHANGED_SINCE_1 = Set.of("GlobalAveragePool", "GlobalMaxPool", "Identity", "Transpose",
            "Flatten", "Shape", "Size", "LRN", "Softsign", "Softplus", "ArgMax", "ArgMin", "SpaceToDepth", "DepthToSpace", "Not",
            "And", "Or", "Xor", "Hardmax", "Softmax", "LogSoftmax", "Floor", "Ceil", "Reciprocal", "Exp", "Log", "Neg", "Abs", "Sqrt");
    private static final Set<String> SOFTMAX = Set.of("Softmax", "LogSoftmax", "Hardmax");

    private final Config cfg;
    private final Map<String, Integer> changes = new TreeMap<>();

    public OpsetConversion(Config cfg) { this.cfg = cfg; }

    public OpsetConversion(int target) { this(new Config(target)); }

    @Override
    public String name() { return "opset-" + cfg.target(); }

    /** What the last {@link #apply} rewrote: a description (e.g. "Unsqueeze axes -> input") to a node count. */
    public Map<String, Integer> changes() { return Map.copyOf(changes); }

    /** One line: "opset 11 -> 21: 12 Unsqueeze axes -> input, ..." (or "opset 11 -> 21: no node needed changes"). */
    public String summary(int from) {
        StringBuilder sb = new StringBuilder("opset " + from + " -> " + cfg.target() + ": ");
        if (changes.isEmpty()) return sb.append("no node needed changes").toString();
        boolean first = true;
        for (Map.Entry<String, Integer> e : changes.entrySet()) {
            sb.append(first ? "" : ", ").append(e.getValue()).append(' ').append(e.getKey());
            first = false;
        }
        return sb.toString();
    }

    /** {@code g} at opset {@code target} when it is below, else {@code g}. */
    public static Graph upgrade(Graph g, int target) { return new OpsetConversion(target).apply(g); }

    @Override
    public Graph apply(Graph g) {
        changes.clear();
        int from = g.opset();
        int to = cfg.target();
        if (from >= to) return g;
        if (from < 7) {
            for (Node n : g.nodes()) {
                if (n.domain().isEmpty() && !UNCHANGED_SINCE_1.contains(n.opType())) {
                    throw new ModelException("opset conversion supports models from opset 7; this model has opset " + from + " and node "
                            + n.label() + " uses " + n.opType() + ", which changed before opset 7");
                }
            }
        }
        Set<String> names = new HashSet<>();
        collectNames(g, names);
        Graph out = convertGraph(g, from, to, names, true);
        Graph.Builder b = out.toBuilder();
        Map<String, Integer> ops = new LinkedHashMap<>(g.opsets());
        ops.remove("ai.onnx");
        ops.put("", to);
        b.opsets(ops);
        long ir = to >= 21 ? 10 : to >= 19 ? 9 : to >= 15 ? 8 : 7;
        if (g.irVersion() < ir) b.irVersion(ir);
        return b.build();
    }

    private static void collectNames(Graph g, Set<String> names) {
        names.addAll(g.initializers().keySet());
        for (ValueInfo v : g.inputs()) names.add(v.name());
        for (Node n : g.nodes()) {
            names.add(n.name());
            names.addAll(n.outputs());
            for (Attribute a : n.attributes().values()) {
                if (a.kind() == Attribute.Kind.GRAPH) collectNames(a.asGraph(), names);
                if (a.kind() == Attribute.Kind.GRAPHS) for (Graph s : a.asGraphs()) collectNames(s, names);
            }
        }
    }

    /** Per-graph rewriting state. */
    private final class Ctx {
        final Graph g;
        final int from, to;
        final Set<String> names;
        final Map<String, TensorType> types;
        final Map<String, List<Node>> consumers;
        final Set<String> graphOutputs = new HashSet<>();
        final List<Node> out = new ArrayList<>();
        final Map<String, Tensor> newInits = new LinkedHashMap<>();

        Ctx(Graph g, int from, int to, Set<String> names, boolean top) {
            this.g = g;
            this.from = from;
            this.to = to;
            this.names = names;
            Map<String, TensorType> t;
            try {
                t = top ? ShapeInference.inferTypes(g) : Map.of();
            } catch (RuntimeException e) {
                t = Map.of();
            }
            this.types = t;
            this.consumers = g.consumers();
            for (ValueInfo v : g.outputs()) graphOutputs.add(v.name());
        }

        String fresh(String base) { return io.condense.ir.Names.fresh(names, base); }

        String constant(String base, Tensor t) {
            String n = fresh(base);
            newInits.put(n, t);
            return n;
        }

        TensorType type(String v) {
            TensorType t = types.get(v);
            return t != null ? t : g.typeOf(v);
        }

        DType dtype(String v) {
            DType d = type(v).dtype();
            return d == null ? DType.FLOAT32 : d;
        }

        boolean used(String v) {
            return !v.isEmpty() && (graphOutputs.contains(v) || consumers.containsKey(v));
        }
    }

    private void note(String what) { changes.merge(what, 1, Integer::sum); }

    private Graph convertGraph(Graph g, int from, int to, Set<String> names, boolean top) {
        Ctx c = new Ctx(g, from, to, names, top);
        for (Node n : g.nodes()) {
            n = convertSubgraphs(n, from, to, names);
            if (!n.domain().isEmpty()) {
                c.out.add(n);
                continue;
            }
            convertNode(c, n);
        }
        Graph.Builder b = g.toBuilder().nodes(c.out);
        c.newInits.forEach(b::initializer);
        return b.build();
    }

    private Node convertSubgraphs(Node n, int from, int to, Set<String> names) {
        Map<String, Attribute> attrs = null;
        for (Map.Entry<String, Attribute> e : n.attributes().entrySet()) {
            Attribute a = e.getValue();
            Attribute na = null;
            if (a.kind() == Attribute.Kind.GRAPH) na = Attribute.of(convertGraph(a.asGraph(), from, to, names, false));
            if (a.kind() == Attribute.Kind.GRAPHS) {
                List<Graph> l = new ArrayList<>();
                for (Graph s : a.asGraphs()) l.add(convertGraph(s, from, to, names, false));
                na = Attribute.ofGraphs(l);
            }
            if (na != null) {
                if (attrs == null) attrs = new LinkedHashMap<>(n.attributes());
                attrs.put(e.getKey(), na);
            }
        }
        return attrs == null ? n : n.withAttributes(attrs);
    }

    private static Map<String, Attribute> without(Node n, String... keys) {
        Map<String, Attribute> a = new LinkedHashMap<>(n.attributes());
        for (String k : keys) a.remove(k);
        return a;
    }

    private static List<String> inputsPadded(Node n, int size) {
        List<String> in = new ArrayList<>(n.inputs());
        while (in.size() < size) in.add("");
        return in;
    }

    private static List<String> trimTrailing(List<String> in) {
        List<String> l = new ArrayList<>(in);
        while (!l.isEmpty() && l.get(l.size() - 1).isEmpty()) l.remove(l.size() - 1);
        return l;
    }

    private static Node rebuild(Node n, String op, List<String> inputs, Map<String, Attribute> attrs) {
        return new Node(n.name(), op, "", trimTrailing(inputs), n.outputs(), attrs);
    }

    private static String base(Node n) { return n.name().isEmpty() ? n.output(0) : n.name(); }

    private void convertNode(Ctx c, Node n) {
        String op = n.opType();
        int from = c.from, to = c.to;
        if (from < 7 && n.hasAttr("consumed_inputs")) n = n.withAttributes(without(n, "consumed_inputs"));
        switch (op) {
            case "Squeeze", "Unsqueeze", "ReduceSum" -> {
                if (from < 13 && n.hasAttr("axes")) {
                    moveToInput(c, n, "axes", 1);
                    return;
                }
            }
            case "Split" -> {
                Node m = n;
                if (from < 13 && n.hasAttr("split")) {
                    long[] sp = longs(n, "split");
                    String s = c.constant(base(n) + "_split", Tensor.of(sp, sp.length));
                    List<String> in = inputsPadded(n, 2);
                    in.set(1, s);
                    m = rebuild(n, op, in, without(n, "split"));
                    note("Split split -> input");
                }
                if (from < 18 && to >= 18 && !m.hasInput(1) && !m.hasAttr("num_outputs")) {
                    m = m.withAttribute("num_outputs", Attribute.of((long) m.outputs().size()));
                    note("Split num_outputs");
                }
                c.out.add(m);
                return;
            }
            case "Slice" -> {
                if (from < 10) {
                    long[] starts = n.attrLongs("starts", new long[0]), ends = n.attrLongs("ends", new long[0]);
                    List<String> in = new ArrayList<>(List.of(n.input(0)));
                    in.add(c.constant(base(n) + "_starts", Tensor.of(starts, starts.length)));
                    in.add(c.constant(base(n) + "_ends", Tensor.of(ends, ends.length)));
                    long[] axes = n.attrLongs("axes", null);
                    if (axes != null) in.add(c.constant(base(n) + "_axes", Tensor.of(axes, axes.length)));
                    c.out.add(rebuild(n, op, in, without(n, "starts", "ends", "axes")));
                    note("Slice starts/ends/axes -> inputs");
                    return;
                }
            }
            case "TopK" -> {
                if (from < 10) {
                    String k = c.constant(base(n) + "_k", Tensor.of(new long[] {n.attrLong("k", 1)}, 1));
                    c.out.add(rebuild(n, op, List.of(n.input(0), k), without(n, "k")));
                    note("TopK k -> input");
                    return;
                }
            }
            case "Clip" -> {
                if (from < 11) {
                    DType t = c.dtype(n.input(0));
                    List<String> in = new ArrayList<>(List.of(n.input(0), "", ""));
                    if (n.hasAttr("min")) in.set(1, c.constant(base(n) + "_min", scalarOf(t, n.attrFloat("min", 0))));
                    if (n.hasAttr("max")) in.set(2, c.constant(base(n) + "_max", scalarOf(t, n.attrFloat("max", 0))));
                    c.out.add(rebuild(n, op, in, without(n, "min", "max")));
                    note("Clip min/max -> inputs");
                    return;
                }
            }
            case "Pad" -> {
                if (from < 11) {
                    long[] pads = n.attrLongs("pads", n.attrLongs("paddings", null));
                    if (pads == null) throw new ModelException("node " + n.label() + ": Pad without pads");
                    String mode = n.attrString("mode", "constant");
                    List<String> in = new ArrayList<>(List.of(n.input(0), c.constant(base(n) + "_pads", Tensor.of(pads, pads.length))));
                    if (mode.equals("constant") && n.attrFloat("value", 0f) != 0f) {
                        in.add(c.constant(base(n) + "_value", scalarOf(c.dtype(n.input(0)), n.attrFloat("value", 0f))));
                    }
                    c.out.add(rebuild(n, op, in, without(n, "pads", "paddings", "value")));
                    note("Pad pads/value -> inputs");
                    return;
                }
            }
            case "Softmax", "LogSoftmax", "Hardmax" -> {
                if (from < 13) {
                    softmax(c, n);
                    return;
                }
            }
            case "Upsample" -> {
                upsample(c, n, from < 9 ? null : n.input(1), n.attrFloats("scales", null));
                return;
            }
            case "Resize" -> {
                if (from < 11) {
                    upsample(c, n, n.input(1), null);
                    return;
                }
            }
            case "BatchNormalization" -> {
                batchNorm(c, n);
                return;
            }
            case "Dropout" -> {
                Node m = n;
                if (n.hasAttr("is_test")) m = m.withAttributes(without(m, "is_test"));
                if (from < 10 && c.used(n.output(1))) {
                    throw new ModelException("node " + n.label() + ": its mask output (opset " + from + " typed like the input) is read; "
                            + "cannot upgrade it to a boolean mask");
                }
                if (from < 12 && to >= 12) {
                    List<String> in = new ArrayList<>(List.of(m.input(0)));
                    if (m.hasAttr("ratio")) in.add(c.constant(base(n) + "_ratio", Tensor.scalar(m.attrFloat("ratio", 0.5f))));
                    m = rebuild(m, op, in, without(m, "ratio"));
                    if (!c.used(m.output(1)) && m.outputs().size() > 1) m = m.withOutputs(List.of(m.output(0)));
                    note("Dropout ratio -> input");
                }
                c.out.add(m);
                return;
            }
            case "Scatter" -> {
                c.out.add(new Node(n.name(), "ScatterElements", "", n.inputs(), n.outputs(), n.attributes()));
                note("Scatter -> ScatterElements");
                return;
            }
            case "RoiAlign" -> {
                if (from < 16 && to >= 16 && !n.hasAttr("coordinate_transformation_mode")) {
                    c.out.add(n.withAttribute("coordinate_transformation_mode", Attribute.of("output_half_pixel")));
                    note("RoiAlign coordinate_transformation_mode=output_half_pixel");
                    return;
                }
            }
            case "GridSample" -> {
                if (from < 20 && to >= 20) {
                    String mode = n.attrString("mode", "bilinear");
                    String nm = switch (mode) {
                        case "bilinear" -> "linear";
                        case "bicubic" -> "cubic";
                        default -> mode;
                    };
                    c.out.add(n.withAttribute("mode", Attribute.of(nm)));
                    note("GridSample mode " + mode + " -> " + nm);
                    return;
                }
            }
            case "GroupNormalization" -> {
                if (from < 21 && to >= 21) {
                    groupNorm(c, n);
                    return;
                }
            }
            case "DFT" -> {
                if (from < 20 && to >= 20) {
                    List<String> in = inputsPadded(n, 3);
                    in.set(2, c.constant(base(n) + "_axis", Tensor.of(new long[] {n.attrLong("axis", 1)})));
                    c.out.add(rebuild(n, op, in, without(n, "axis")));
                    note("DFT axis -> input");
                    return;
                }
            }
            case "Scan" -> {
                if (from < 9) {
                    throw new ModelException("node " + n.label() + ": Scan-8 (with a batch axis) cannot be upgraded; re-export the model at opset >= 9");
                }
            }
            case "ImageScaler" -> {
                imageScaler(c, n);
                return;
            }
            default -> {
                if (REDUCE_18.contains(op) && from < 18 && to >= 18 && n.hasAttr("axes")) {
                    moveToInput(c, n, "axes", 1);
                    return;
                }
            }
        }
        c.out.add(n);
    }

    private void moveToInput(Ctx c, Node n, String attr, int index) {
        long[] v = longs(n, attr);
        String k = c.constant(base(n) + "_" + attr, Tensor.of(v, v.length));
        List<String> in = inputsPadded(n, index + 1);
        in.set(index, k);
        c.out.add(rebuild(n, n.opType(), in, without(n, attr)));
        note(n.opType() + " " + attr + " -> input");
    }

    /** An INTS attribute (a single INT, which some exporters write, counts as one element). */
    private static long[] longs(Node n, String key) {
        Attribute a = n.attr(key);
        return a.kind() == Attribute.Kind.INT ? new long[] {a.asLong()} : a.asLongs();
    }

    static Tensor scalarOf(DType t, double v) {
        if (!t.isFloating() && !t.isInteger()) t = DType.FLOAT32;
        return Tensor.fromDoubles(t, new long[0], new double[] {v});
    }

    /** Softmax-family before opset 13: the input flattened to 2-D at axis, normalized over the second dimension. */
    private void softmax(Ctx c, Node n) {
        long axis = n.attrLong("axis", 1);
        TensorType t = c.type(n.input(0));
        if (t.hasRank()) {
            long a = axis < 0 ? axis + t.rank() : axis;
            if (a == t.rank() - 1) {
                c.out.add(n.withAttribute("axis", Attribute.of(a)));
                note(n.opType() + " axis pinned");
                return;
            }
        }
        String b = base(n);
        String flat = c.fresh(b + "_flat"), shape = c.fresh(b + "_shape"), y2 = c.fresh(b + "_2d");
        c.out.add(new Node(c.fresh(b + "_Flatten"), "Flatten", "", List.of(n.input(0)), List.of(flat), Map.of("axis", Attribute.of(axis))));
        c.out.add(new Node(n.name(), n.opType(), "", List.of(flat), List.of(y2), Map.of("axis", Attribute.of(1L))));
        c.out.add(new Node(c.fresh(b + "_Shape"), "Shape", "", List.of(n.input(0)), List.of(shape), Map.of()));
        c.out.add(new Node(c.fresh(b + "_Reshape"), "Reshape", "", List.of(y2, shape), List.of(n.output(0)), Map.of()));
        note(n.opType() + " 2-D coercion -> Flatten/Reshape");
    }

    /** Upsample (any version) or Resize-10 -> Resize-11+ with the opset-10 coordinate rule (asymmetric, nearest rounds down). */
    private void upsample(Ctx c, Node n, String scalesInput, float[] scalesAttr) {
        String scales = scalesInput;
        float[] known = scalesAttr;
        if (scales == null || scales.isEmpty()) {
            if (scalesAttr == null) throw new ModelException("node " + n.label() + ": Upsample without scales");
            scales = c.constant(base(n) + "_scales", Tensor.of(scalesAttr, scalesAttr.length));
        } else if (c.g.initializers().containsKey(scales)) {
            known = c.g.initializers().get(scales).toFloatArray();
        }
        String mode = n.attrString("mode", "nearest");
        Map<String, Attribute> a = new LinkedHashMap<>();
        boolean linear = mode.equals("linear") || mode.equals("bilinear");
        a.put("mode", Attribute.of(linear ? "linear" : "nearest"));
        a.put("coordinate_transformation_mode", Attribute.of("asymmetric"));
        if (!linear) {
            // opset < 11 nearest: floor(x) when upsampling, ceil(x) when downsampling (ONNX Runtime's rule)
            boolean down = false, up = false;
            if (known != null) for (float f : known) {
                if (f < 1) down = true;
                if (f > 1) up = true;
            }
            if (down && up) throw new ModelException("node " + n.label() + ": nearest " + n.opType() + " that up- and downsamples at once cannot be upgraded");
            a.put("nearest_mode", Attribute.of(down ? "ceil" : "floor"));
        }
        String roi = c.to >= 13 ? "" : c.constant(base(n) + "_roi", Tensor.of(new float[0], 0));
        c.out.add(new Node(n.name(), "Resize", "", List.of(n.input(0), roi, scales), n.outputs(), a));
        note(n.opType() + "-" + c.from + " -> Resize");
    }

    private void batchNorm(Ctx c, Node n) {
        Node m = n;
        if (c.from < 9 && n.attrLong("spatial", 1) == 0) {
            TensorType t = c.type(n.input(0));
            if (!t.hasRank() || t.rank() > 2) {
                throw new ModelException("node " + n.label() + ": BatchNormalization spatial=0 (per-activation statistics) has no equivalent after opset 8");
            }
        }
        if (n.hasAttr("spatial") || n.hasAttr("consumed_inputs") || n.hasAttr("is_test")) {
            m = m.withAttributes(without(m, "spatial", "consumed_inputs", "is_test"));
            note("BatchNormalization legacy attributes dropped");
        }
        if (c.to >= 14 && m.outputs().size() > 1) {
            for (int i = 1; i < m.outputs().size(); i++) {
                if (c.used(m.output(i))) {
                    throw new ModelException("node " + n.label() + ": BatchNormalization training output '" + m.output(i) + "' is read; cannot upgrade it");
                }
            }
            m = m.withOutputs(List.of(m.output(0)));
            note("BatchNormalization training outputs dropped");
        }
        c.out.add(m);
    }

    private void groupNorm(Ctx c, Node n) {
        long groups = n.attrLong("num_groups", 0);
        TensorType t = c.type(n.input(0));
        Tensor s = c.g.initializers().get(n.input(1)), b = c.g.initializers().get(n.input(2));
        if (groups <= 0 || !t.hasRank() || t.rank() < 2 || !t.dims().get(1).isKnown() || s == null || b == null) {
            throw new ModelException("node " + n.label() + ": GroupNormalization-18 needs constant scale/bias and a known channel count to be upgraded");
        }
        long ch = t.dims().get(1).value();
        if (ch % groups != 0) throw new ModelException("node " + n.label() + ": " + ch + " channels are not divisible into " + groups + " groups");
        String ns = c.constant(n.input(1) + "_per_channel", repeat(s, (int) (ch / groups))), nb = c.constant(n.input(2) + "_per_channel", repeat(b, (int) (ch / groups)));
        c.out.add(rebuild(n, n.opType(), List.of(n.input(0), ns, nb), n.attributes()));
        note("GroupNormalization per-group -> per-channel scale/bias");
    }

    private static Tensor repeat(Tensor t, int times) {
        double[] v = t.toDoubleArray(), r = new double[v.length * times];
        for (int i = 0; i < r.length; i++) r[i] = v[i / times];
        return Tensor.fromDoubles(t.dtype(), new long[] {r.length}, r);
    }

    private void imageScaler(Ctx c, Node n) {
        float scale = n.attrFloat("scale", 1f);
        float[] bias = n.attrFloats("bias", null);
        DType t = c.dtype(n.input(0));
        String b = base(n);
        String x = n.input(0);
        String scaled = bias == null ? n.output(0) : c.fresh(b + "_scaled");
        c.out.add(new Node(c.fresh(b + "_Mul"), "Mul", "", List.of(x, c.constant(b + "_scale", scalarOf(t, scale))), List.of(scaled), Map.of()));
        if (bias != null) {
            double[] d = new double[bias.length];
            for (int i = 0; i < d.length; i++) d[i] = bias[i];
            String bi = c.constant(b + "_bias", Tensor.fromDoubles(t, new long[] {1, bias.length, 1, 1}, d));
            c.out.add(new Node(c.fresh(b + "_Add"), "Add", "", List.of(scaled, bi), List.of(n.output(0)), Map.of()));
        }
        note("ImageScaler -> Mul/Add");
    }
}
