package io.condense.prune.structured;

import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.ShapeInference;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.passes.ConstantFolding;
import io.condense.passes.DeadCodeElimination;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Function;

/**
 * Channel dependency analysis of an ONNX graph (DepGraph on the IR). Every Conv (group 1), Gemm and MatMul
 * with constant weights starts a group of output channels; the analysis follows each channel axis through the
 * graph (activations, BatchNorm/InstanceNorm, pooling, Pad, elementwise ops that couple their inputs, Concat
 * and Split/Slice offsets, Flatten/Reshape into Gemm where channel c becomes a block of H*W features,
 * Transpose, Squeeze/Unsqueeze, reductions over other axes, depthwise Conv) up to the weights that consume it.
 * An op it cannot reason about, or a channel axis that reaches a graph output, makes the groups involved
 * unprunable with a reason; the analysis never fails on an unknown op.
 *
 * <p>The analysed graph is the input with small constants folded (Constant nodes become initializers), see
 * {@link #graph()}; {@link ChannelPruner} rewrites that graph.
 */
public final class DependencyGraph {
    /** A run of channels of one group on a channel axis; group -1 is a run of channels nothing tracks. */
    record Seg(int group, int start, int len, int block) {
        int width() { return len * block; }
    }

    /** Where the channels of a value are: one axis, made of segments. */
    record Layout(int axis, List<Seg> segs) {
        Layout { segs = List.copyOf(segs); }

        int width() { return segs.stream().mapToInt(Seg::width).sum(); }

        int units() { return segs.stream().mapToInt(Seg::len).sum(); }

        Layout withAxis(int a) { return new Layout(a, segs); }
    }

    /** Computes the per-channel constant of an output (removed channels are constant) from its inputs' constants. */
    interface Transfer { double[] apply(Function<String, double[]> in); }

    /** A node rewrite that depends on which channels are kept (Split sizes, Slice bounds, Reshape constants, group). */
    interface Fixup { Node apply(Node n, ChannelPruner.Kept kept, ChannelPruner.Rewriter rw); }

    private final Graph graph;
    private final Consts consts;
    private final Map<String, TensorType> types;
    final Map<String, Layout> layouts = new HashMap<>();
    final Map<String, Transfer> transfers = new HashMap<>();
    final Map<String, Fixup> fixups = new LinkedHashMap<>();
    /** Identifies a node in the maps below (names may be empty or repeated; first outputs are unique). */
    static String key(Node n) { return n.output(0); }

    /** Source node (by {@link #key}) -> group of its output channels. */
    final Map<String, Integer> sourceGroup = new HashMap<>();
    private final List<PruningGroup> raw = new ArrayList<>();
    private int[] parent = new int[16];
    private final Map<String, Integer> memberOwner = new HashMap<>();

    private DependencyGraph(Graph g) {
        this.graph = g;
        this.consts = new Consts(g);
        Map<String, TensorType> t;
        try {
            t = ShapeInference.inferTypes(g);
        } catch (RuntimeException e) {
            t = new HashMap<>();
            for (Map.Entry<String, ValueInfo> v : g.valueInfo().entrySet()) t.put(v.getKey(), v.getValue().type());
        }
        this.types = t;
    }

    /** Folds small constants (so weights behind Constant/Reshape/Unsqueeze become initializers) and analyses. */
    public static DependencyGraph build(Graph g) {
        DependencyGraph d = new DependencyGraph(normalize(g));
        d.analyse();
        return d;
    }

    /** {@code g} with Constant nodes and small constant computations folded into initializers, sorted. */
    public static Graph normalize(Graph g) {
        Graph norm = new ConstantFolding(ConstantFolding::cpu, 1 << 16).apply(g);
        return new DeadCodeElimination().apply(norm).sorted();
    }

    /** The graph the groups refer to (the input with small constants folded). */
    public Graph graph() { return graph; }

    Consts consts() { return consts; }

    TensorType type(String v) {
        TensorType t = types.get(v);
        return t == null ? graph.typeOf(v) : t;
    }

    /** The merged groups (one per set of coupled channels), in creation order. */
    public List<PruningGroup> groups() {
        Map<Integer, PruningGroup> out = new LinkedHashMap<>();
        for (PruningGroup r : raw) {
            int root = find(r.id());
            PruningGroup m = out.computeIfAbsent(root, k -> new PruningGroup(k, raw.get(k).size()));
            m.members.addAll(r.members);
            m.sourceNodes.addAll(r.sourceNodes);
            m.reasons.addAll(r.reasons);
        }
        return List.copyOf(out.values());
    }

    public long prunableCount() { return groups().stream().filter(PruningGroup::prunable).count(); }

    // ---- union-find ----

    int find(int x) {
        while (parent[x] != x) x = parent[x] = parent[parent[x]];
        return x;
    }

    private int newGroup(int size, String source) {
        int id = raw.size();
        PruningGroup pg = new PruningGroup(id, size);
        if (source != null) pg.sourceNodes.add(source);
        raw.add(pg);
        if (id >= parent.length) parent = java.util.Arrays.copyOf(parent, parent.length * 2);
        parent[id] = id;
        return id;
    }

    private void union(int a, int b, String why) {
        int ra = find(a), rb = find(b);
        if (ra == rb) return;
        if (raw.get(ra).size() != raw.get(rb).size()) {
            block(ra, why + ": coupled channel counts differ");
            block(rb, why + ": coupled channel counts differ");
            return;
        }
        if (ra < rb) parent[rb] = ra; else parent[ra] = rb;
    }

    private void block(int g, String reason) {
        if (g >= 0) raw.get(find(g)).reasons.add(reason);
    }

    private void blockAll(Layout l, String reason) {
        if (l == null) return;
        for (Seg s : l.segs()) block(s.group(), reason);
    }

    private void blockInputs(Node n, String reason) {
        for (String i : n.inputs()) blockAll(layouts.get(i), reason);
    }

    /** Adds a slice of constant {@code value} on {@code axis} (positions from {@code offset}) for one segment. */
    private void member(Seg s, String value, int axis, int offset, PruningGroup.Role role, Node n) {
        if (s.group() < 0) return;
        String key = value + "#" + axis + "#" + offset;
        Integer prev = memberOwner.putIfAbsent(key, s.group());
        if (prev != null && find(prev) != find(s.group())) union(prev, s.group(), "constant " + value + " shared");
        raw.get(s.group()).members.add(new PruningGroup.Member(value, axis, offset, s.start(), s.len(), s.block(), role, n.name()));
    }

    private void members(Layout l, String value, int axis, PruningGroup.Role role, Node n) {
        int off = 0;
        for (Seg s : l.segs()) {
            member(s, value, axis, off, role, n);
            off += s.width();
        }
    }

    // ---- the analysis ----

    private void analyse() {
        Set<String> outputs = new HashSet<>();
        for (ValueInfo v : graph.outputs()) outputs.add(v.name());
        for (Node n : graph.nodes()) {
            try {
                visit(n);
            } catch (RuntimeException e) {
                blockInputs(n, n.opType() + " " + n.name() + ": " + e.getMessage());
                for (String o : n.outputs()) blockAll(layouts.remove(o), n.opType() + ": " + e.getMessage());
            }
        }
        for (String o : outputs) blockAll(layouts.get(o), "reaches graph output " + o);
    }

    private int rank(String v) {
        TensorType t = type(v);
        return t.hasRank() ? t.rank() : -1;
    }

    private long dim(String v, int axis) {
        TensorType t = type(v);
        if (!t.hasRank() || axis < 0 || axis >= t.rank()) return -1;
        Dim d = t.dims().get(axis);
        return d.isKnown() ? d.value() : -1;
    }

    private static int normAxis(long a, int rank) { return (int) (a < 0 ? a + rank : a); }

    private static final Set<String> UNARY = Set.of("Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "Elu", "Selu",
            "HardSigmoid", "HardSwish", "Softplus", "Softsign", "Gelu", "Erf", "Exp", "Log", "Neg", "Abs", "Sqrt",
            "Reciprocal", "Identity", "Dropout", "Floor", "Ceil", "Round", "Sign", "Mish", "ThresholdedRelu", "Celu",
            "Cast", "Not", "IsNaN", "IsInf");
    private static final Set<String> POOL = Set.of("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "GlobalLpPool");
    private static final Set<String> BINARY = Set.of("Add", "Sub", "Mul", "Div", "Sum", "Max", "Min", "Mean", "Pow", "PRelu");
    private static final Set<String> REDUCE = Set.of("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
            "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp");

    private void visit(Node n) {
        String op = n.domain().isEmpty() ? n.opType() : n.domain() + "." + n.opType();
        boolean anyLayout = false;
        for (String i : n.inputs()) anyLayout |= layouts.containsKey(i);
        switch (op) {
            case "Conv" -> conv(n);
            case "Gemm" -> gemm(n);
            case "MatMul" -> matmul(n);
            case "BatchNormalization" -> batchNorm(n);
            case "InstanceNormalization" -> instanceNorm(n);
            case "LayerNormalization" -> layerNorm(n);
            case "Concat" -> concat(n);
            case "Split" -> split(n);
            case "Slice" -> slice(n);
            case "Flatten" -> flatten(n);
            case "Reshape" -> reshape(n);
            case "Transpose" -> transpose(n);
            case "Squeeze", "Unsqueeze" -> squeeze(n, op.equals("Unsqueeze"));
            case "Pad" -> pad(n);
            case "Resize", "Upsample" -> resize(n);
            case "Shape", "Size" -> { } // reads only the shape; never carries channels
            default -> {
                if (!anyLayout) return;
                if (UNARY.contains(op)) unary(n);
                else if (POOL.contains(op)) pool(n);
                else if (BINARY.contains(op)) elementwise(n);
                else if (REDUCE.contains(op)) reduce(n);
                else if (op.equals("Softmax") || op.equals("LogSoftmax") || op.equals("Hardmax")) softmax(n);
                else blockInputs(n, n.opType() + " (" + n.name() + ") is not understood");
            }
        }
    }

    /** Blocks every layout input other than those in {@code allowed}. */
    private void onlyData(Node n, int... allowed) {
        outer:
        for (int i = 0; i < n.inputs().size(); i++) {
            for (int a : allowed) if (a == i) continue outer;
            blockAll(layouts.get(n.input(i)), n.opType() + " (" + n.name() + ") reads the channels as input " + i);
        }
    }

    private void unary(Node n) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        if (l == null) return;
        if (n.opType().equals("Cast")) {
            long to = n.attrLong("to", 1);
            if (to != 1) { blockAll(l, "Cast to non-float"); return; }
        }
        layouts.put(n.output(0), l);
        DoubleUnaryOperator f = unaryFn(n);
        String in = n.input(0);
        transfers.put(n.output(0), get -> {
            double[] a = get.apply(in).clone();
            for (int i = 0; i < a.length; i++) a[i] = f.applyAsDouble(a[i]);
            return a;
        });
    }

    private DoubleUnaryOperator unaryFn(Node n) {
        float alpha = n.attrFloat("alpha", Float.NaN);
        switch (n.opType()) {
            case "Relu": return v -> Math.max(0, v);
            case "LeakyRelu": { double a = Float.isNaN(alpha) ? 0.01 : alpha; return v -> v >= 0 ? v : a * v; }
            case "Sigmoid": return v -> 1 / (1 + Math.exp(-v));
            case "Tanh": return Math::tanh;
            case "Identity", "Dropout", "Cast": return v -> v;
            case "Neg": return v -> -v;
            case "Abs": return Math::abs;
            case "Exp": return Math::exp;
            case "Sqrt": return Math::sqrt;
            case "Reciprocal": return v -> 1 / v;
            case "Elu": { double a = Float.isNaN(alpha) ? 1 : alpha; return v -> v >= 0 ? v : a * (Math.exp(v) - 1); }
            case "Softplus": return v -> Math.log1p(Math.exp(v));
            case "HardSigmoid": {
                double a = Float.isNaN(alpha) ? 0.2 : alpha, b = n.attrFloat("beta", 0.5f);
                return v -> Math.max(0, Math.min(1, a * v + b));
            }
            case "HardSwish": return v -> v * Math.max(0, Math.min(1, v / 6 + 0.5));
            case "Erf": return DependencyGraph::erf;
            case "Clip": {
                double lo = n.attrFloat("min", Float.NEGATIVE_INFINITY), hi = n.attrFloat("max", Float.POSITIVE_INFINITY);
                Consts.Value a = consts.get(n.input(1)), b = consts.get(n.input(2));
                if (n.hasInput(1)) lo = a == null ? Double.NaN : a.get(0);
                if (n.hasInput(2)) hi = b == null ? Double.NaN : b.get(0);
                double l = lo, h = hi;
                if (Double.isNaN(l) || Double.isNaN(h)) return v -> Double.NaN;
                return v -> Math.max(l, Math.min(h, v));
            }
            default: return v -> v == 0 && n.opType().matches("Relu|Gelu|Mish|Softsign|Sign|Floor|Ceil|Round|ThresholdedRelu|Celu|Selu") ? 0 : Double.NaN;
        }
    }

    /** erf (Abramowitz-Stegun 7.1.26 is too coarse for exact folding; use a series/continued fraction). */
    static double erf(double x) {
        double t = 1.0 / (1.0 + 0.5 * Math.abs(x));
        double y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? y : -y;
    }

    private void pool(Node n) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        if (l == null) return;
        if (l.axis() != 1) { blockAll(l, n.opType() + " on a non-channel axis"); return; }
        layouts.put(n.output(0), l);
        boolean padded = false;
        long[] pads = n.attrLongs("pads", null);
        if (pads != null) for (long p : pads) padded |= p != 0;
        if (!n.attrString("auto_pad", "NOTSET").equals("NOTSET") && !n.attrString("auto_pad", "").equals("VALID")) padded = true;
        boolean exact = !n.opType().equals("AveragePool") || !padded || n.attrLong("count_include_pad", 0) == 0;
        String in = n.input(0);
        transfers.put(n.output(0), get -> {
            double[] a = get.apply(in).clone();
            if (!exact) for (int i = 0; i < a.length; i++) if (a[i] != 0) a[i] = Double.NaN;
            return a;
        });
    }

    private void softmax(Node n) {
        Layout l = layouts.get(n.input(0));
        int r = rank(n.input(0));
        long dflt = graph.opset() >= 13 ? -1 : 1;
        int ax = normAxis(n.attrLong("axis", dflt), r);
        boolean coerced = graph.opset() < 13;
        if (r < 0 || l.axis() == ax || (coerced && l.axis() >= ax)) { blockAll(l, n.opType() + " over the channel axis"); return; }
        layouts.put(n.output(0), l);
        transfers.put(n.output(0), get -> nan(l.units()));
    }

    private static double[] nan(int n) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, Double.NaN);
        return a;
    }

    private void reduce(Node n) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        if (l == null) return;
        int r = rank(n.input(0));
        long[] axes = n.attrLongs("axes", null);
        if (axes == null && n.hasInput(1)) axes = consts.longs(n.input(1));
        if (r < 0 || (axes == null && n.hasInput(1))) { blockAll(l, n.opType() + " with unknown axes"); return; }
        boolean keep = n.attrLong("keepdims", 1) != 0;
        int newAxis = l.axis();
        if (axes == null || axes.length == 0) {
            if (n.attrLong("noop_with_empty_axes", 0) == 0) { blockAll(l, n.opType() + " over the channel axis"); return; }
        } else {
            for (long a : axes) {
                int na = normAxis(a, r);
                if (na == l.axis()) { blockAll(l, n.opType() + " over the channel axis"); return; }
                if (!keep && na < l.axis()) newAxis--;
            }
        }
        layouts.put(n.output(0), l.withAxis(newAxis));
        boolean meanLike = n.opType().equals("ReduceMean") || n.opType().equals("ReduceMax") || n.opType().equals("ReduceMin");
        String in = n.input(0);
        transfers.put(n.output(0), get -> {
            double[] a = get.apply(in).clone();
            if (!meanLike) for (int i = 0; i < a.length; i++) if (a[i] != 0) a[i] = Double.NaN;
            return a;
        });
    }

    private void conv(Node n) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        Consts.Value w = consts.get(n.input(1));
        if (w == null || w.rank() < 3) {
            blockAll(l, "Conv " + n.name() + " with non-constant weights");
            return;
        }
        long groups = n.attrLong("group", 1);
        int cout = (int) w.dim(0);
        long cin = w.dim(1) * groups;
        Consts.Value b = consts.get(n.input(2));
        if (n.hasInput(2) && b == null) { blockAll(l, "Conv " + n.name() + " with non-constant bias"); return; }
        if (l != null && l.axis() != 1) { blockAll(l, "Conv input channels not on axis 1"); return; }
        if (l != null && l.segs().stream().anyMatch(s -> s.block() != 1)) { blockAll(l, "Conv after a flatten"); return; }
        if (groups == 1) {
            if (l != null) members(l, n.input(1), 1, PruningGroup.Role.SINK, n);
            int g = newGroup(cout, n.name().isEmpty() ? key(n) : n.name());
            Seg s = new Seg(g, 0, cout, 1);
            sourceGroup.put(key(n), g);
            member(s, n.input(1), 0, 0, PruningGroup.Role.SOURCE, n);
            if (b != null) member(s, n.input(2), 0, 0, PruningGroup.Role.PARAM, n);
            Layout out = new Layout(1, List.of(s));
            layouts.put(n.output(0), out);
            transfers.put(n.output(0), get -> {
                double[] a = new double[cout];
                if (b != null) for (int i = 0; i < cout; i++) a[i] = b.get(i);
                return a;
            });
            return;
        }
        if (groups == cin && cout == cin && w.dim(1) == 1) {
            // depthwise: output channel c reads only input channel c
            if (l == null) return;
            // the depthwise filter produces its output channel (zeroed by a mask); the bias stays and is folded
            members(l, n.input(1), 0, PruningGroup.Role.SOURCE, n);
            if (b != null) members(l, n.input(2), 0, PruningGroup.Role.PARAM, n);
            layouts.put(n.output(0), l);
            fixups.put(key(n), (node, kept, rw) -> node.withAttribute("group", io.condense.ir.Attribute.of((long) kept.count(l))));
            transfers.put(n.output(0), get -> {
                double[] a = new double[l.units()];
                for (int c = 0; c < a.length; c++) a[c] = b == null ? 0 : b.get(c);
                return a;
            });
            return;
        }
        blockAll(l, "grouped Conv " + n.name() + " (group=" + groups + ")");
    }

    static boolean padded(Node n) {
        long[] pads = n.attrLongs("pads", null);
        boolean p = false;
        if (pads != null) for (long x : pads) p |= x != 0;
        String ap = n.attrString("auto_pad", "NOTSET");
        return p || ap.startsWith("SAME");
    }

    private void gemm(Node n) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        Consts.Value w = consts.get(n.input(1));
        boolean transA = n.attrLong("transA", 0) != 0, transB = n.attrLong("transB", 0) != 0;
        if (w == null || w.rank() != 2 || transA) { blockAll(l, "Gemm " + n.name() + " with non-constant weights or transA"); return; }
        Consts.Value c = consts.get(n.input(2));
        if (n.hasInput(2) && c == null) { blockAll(l, "Gemm " + n.name() + " with non-constant C"); return; }
        int kAxis = transB ? 1 : 0, nAxis = transB ? 0 : 1;
        if (l != null) {
            if (l.axis() != 1) { blockAll(l, "Gemm reads channels on axis 0"); return; }
            members(l, n.input(1), kAxis, PruningGroup.Role.SINK, n);
        }
        int nOut = (int) w.dim(nAxis);
        int g = newGroup(nOut, n.name().isEmpty() ? key(n) : n.name());
        sourceGroup.put(key(n), g);
        Seg s = new Seg(g, 0, nOut, 1);
        member(s, n.input(1), nAxis, 0, PruningGroup.Role.SOURCE, n);
        float beta = n.attrFloat("beta", 1f);
        if (c != null) {
            if (c.rank() >= 1 && c.dim(c.rank() - 1) == nOut && nOut > 1) {
                if (c.rank() == 2 && c.dim(0) != 1) { block(g, "Gemm C varies over rows"); }
                member(s, n.input(2), c.rank() - 1, 0, PruningGroup.Role.PARAM, n);
            }
        }
        layouts.put(n.output(0), new Layout(1, List.of(s)));
        transfers.put(n.output(0), get -> {
            double[] a = new double[nOut];
            if (c != null) for (int i = 0; i < nOut; i++) a[i] = beta * (c.size() == 1 ? c.get(0) : c.get(c.size() == nOut ? i : i));
            return a;
        });
    }

    private void matmul(Node n) {
        Layout l = layouts.get(n.input(0));
        Consts.Value w = consts.get(n.input(1));
        onlyData(n, 0);
        if (w == null || w.rank() != 2) { blockAll(l, "MatMul " + n.name() + " without a constant 2-D right operand"); return; }
        int r = rank(n.input(0));
        if (l != null) {
            if (r < 0 || l.axis() != r - 1) { blockAll(l, "MatMul reads channels on a non-contracted axis"); return; }
            members(l, n.input(1), 0, PruningGroup.Role.SINK, n);
        }
        if (r < 1) return;
        int nOut = (int) w.dim(1);
        int g = newGroup(nOut, n.name().isEmpty() ? key(n) : n.name());
        sourceGroup.put(key(n), g);
        Seg s = new Seg(g, 0, nOut, 1);
        member(s, n.input(1), 1, 0, PruningGroup.Role.SOURCE, n);
        layouts.put(n.output(0), new Layout(r - 1, List.of(s)));
        transfers.put(n.output(0), get -> new double[nOut]);
    }

    private void batchNorm(Node n) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        if (l == null) return;
        if (l.axis() != 1) { blockAll(l, "BatchNormalization on a non-channel axis"); return; }
        Consts.Value[] p = new Consts.Value[4];
        for (int i = 0; i < 4; i++) {
            p[i] = consts.get(n.input(i + 1));
            if (p[i] == null) { blockAll(l, "BatchNormalization with non-constant parameters"); return; }
        }
        if (n.outputs().size() > 1 && n.outputs().stream().skip(1).anyMatch(o -> !o.isEmpty())) {
            blockAll(l, "BatchNormalization in training mode");
            return;
        }
        for (int i = 1; i <= 4; i++) members(l, n.input(i), 0, PruningGroup.Role.PARAM, n);
        layouts.put(n.output(0), l);
        double eps = n.attrFloat("epsilon", 1e-5f);
        String in = n.input(0);
        transfers.put(n.output(0), get -> {
            double[] a = get.apply(in).clone();
            for (int c = 0; c < a.length; c++) {
                a[c] = p[0].get(c) * (a[c] - p[2].get(c)) / Math.sqrt(p[3].get(c) + eps) + p[1].get(c);
            }
            return a;
        });
    }

    private void instanceNorm(Node n) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        if (l == null) return;
        Consts.Value sc = consts.get(n.input(1)), bi = consts.get(n.input(2));
        if (l.axis() != 1 || sc == null || bi == null) { blockAll(l, "InstanceNormalization with non-constant parameters"); return; }
        members(l, n.input(1), 0, PruningGroup.Role.PARAM, n);
        members(l, n.input(2), 0, PruningGroup.Role.PARAM, n);
        layouts.put(n.output(0), l);
        transfers.put(n.output(0), get -> {
            double[] a = new double[l.units()];
            for (int c = 0; c < a.length; c++) a[c] = bi.get(c); // a constant channel normalizes to 0
            return a;
        });
    }

    private void layerNorm(Node n) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        if (l == null) return;
        int r = rank(n.input(0));
        int ax = normAxis(n.attrLong("axis", -1), r);
        if (r < 0 || l.axis() >= ax) { blockAll(l, "LayerNormalization normalizes over the channel axis"); return; }
        layouts.put(n.output(0), l);
        transfers.put(n.output(0), get -> nan(l.units()));
    }

    /** Elementwise ops with broadcasting: inputs that carry channels are coupled, constants are sliced with them. */
    private void elementwise(Node n) {
        int outRank = rank(n.output(0));
        if (outRank < 0) {
            outRank = 0;
            for (String i : n.inputs()) outRank = Math.max(outRank, rank(i));
        }
        Layout ref = null;
        int refAxis = -1;
        for (String i : n.inputs()) {
            Layout l = layouts.get(i);
            if (l == null) continue;
            int r = rank(i);
            if (r < 0) { blockInputs(n, n.opType() + " with unknown rank"); return; }
            int ax = l.axis() + (outRank - r);
            if (ref == null) { ref = l; refAxis = ax; continue; }
            if (ax != refAxis) { blockInputs(n, n.opType() + " with channels on different axes"); return; }
            if (!unify(ref, l, n)) return;
        }
        Layout out = ref.withAxis(refAxis);
        int outAxis = refAxis;
        List<Function<Function<String, double[]>, double[]>> parts = new ArrayList<>();
        for (int idx = 0; idx < n.inputs().size(); idx++) {
            String i = n.input(idx);
            if (layouts.containsKey(i)) { parts.add(get -> get.apply(i)); continue; }
            int r = rank(i);
            int ax = outAxis - (outRank - r);
            Consts.Value c = consts.get(i);
            long d = ax >= 0 && r >= 0 ? dim(i, ax) : 1;
            if (c != null) {
                d = ax >= 0 ? c.dim(ax) : 1;
                if (d == out.width() && d > 1) {
                    members(out, i, ax, PruningGroup.Role.PARAM, n);
                } else if (d != 1) {
                    blockAll(out, n.opType() + " with a constant of mismatched size on the channel axis");
                    return;
                }
                int cax = ax;
                parts.add(get -> perUnit(c, cax, out));
            } else {
                if (d != 1 && !(ax < 0)) { blockAll(out, n.opType() + " (" + n.name() + ") with a non-constant operand that has channels"); return; }
                parts.add(get -> nan(out.units()));
            }
        }
        layouts.put(n.output(0), out);
        DoubleBinaryOperator f = switch (n.opType()) {
            case "Add", "Sum" -> Double::sum;
            case "Sub" -> (a, b) -> a - b;
            case "Mul" -> (a, b) -> a == 0 && !Double.isNaN(b) || b == 0 && !Double.isNaN(a) ? 0 : a * b;
            case "Div" -> (a, b) -> a / b;
            case "Max" -> Math::max;
            case "Min" -> Math::min;
            case "Pow" -> Math::pow;
            case "PRelu" -> (a, b) -> a >= 0 ? a : a * b;
            default -> (a, b) -> Double.NaN; // Mean: handled below
        };
        boolean mean = n.opType().equals("Mean");
        transfers.put(n.output(0), get -> {
            double[] acc = parts.get(0).apply(get).clone();
            for (int k = 1; k < parts.size(); k++) {
                double[] b = parts.get(k).apply(get);
                for (int u = 0; u < acc.length; u++) acc[u] = mean ? acc[u] + b[u] : f.applyAsDouble(acc[u], b[u]);
            }
            if (mean) for (int u = 0; u < acc.length; u++) acc[u] /= parts.size();
            return acc;
        });
    }

    /** The value of a constant for each channel unit of {@code l}; NaN where it varies inside a unit or across other axes. */
    static double[] perUnit(Consts.Value c, int ax, Layout l) {
        double[] out = new double[l.units()];
        long d = ax >= 0 && ax < c.rank() ? c.dim(ax) : 1;
        boolean otherAxesTrivial = c.size() == d;
        int u = 0, pos = 0;
        for (Seg s : l.segs()) {
            for (int k = 0; k < s.len(); k++, u++) {
                if (c.isUniform()) { out[u] = c.get(0); pos += s.block(); continue; }
                if (!otherAxesTrivial) { out[u] = Double.NaN; pos += s.block(); continue; }
                double v = c.get(d == 1 ? 0 : pos);
                for (int b = 1; b < s.block() && d != 1; b++) if (c.get(pos + b) != v) v = Double.NaN;
                out[u] = v;
                pos += s.block();
            }
        }
        return out;
    }

    /** Couples two layouts of the same values; false (after blocking) when their segments cannot be matched. */
    private boolean unify(Layout a, Layout b, Node n) {
        if (a.segs().size() != b.segs().size()) { blockAll(a, n.opType() + " couples differently split channels"); blockAll(b, n.opType() + " couples differently split channels"); return false; }
        for (int k = 0; k < a.segs().size(); k++) {
            Seg x = a.segs().get(k), y = b.segs().get(k);
            if (x.len() != y.len() || x.block() != y.block()) {
                blockAll(a, n.opType() + " couples differently split channels");
                blockAll(b, n.opType() + " couples differently split channels");
                return false;
            }
            if (x.group() < 0 || y.group() < 0) {
                if (x.group() != y.group()) { block(x.group(), n.opType() + " couples with untracked channels"); block(y.group(), n.opType() + " couples with untracked channels"); }
                continue;
            }
            if (find(x.group()) == find(y.group()) && x.start() == y.start()) continue;
            boolean fullX = x.start() == 0 && x.len() == raw.get(x.group()).size();
            boolean fullY = y.start() == 0 && y.len() == raw.get(y.group()).size();
            if (fullX && fullY) union(x.group(), y.group(), n.opType() + " " + n.name());
            else {
                block(x.group(), n.opType() + " couples part of a group");
                block(y.group(), n.opType() + " couples part of a group");
            }
        }
        return true;
    }

    private void concat(Node n) {
        int r = rank(n.output(0));
        if (r < 0) for (String i : n.inputs()) r = Math.max(r, rank(i));
        int ax = normAxis(n.attrLong("axis", 1), r);
        Layout first = null;
        boolean onAxis = true;
        for (String i : n.inputs()) {
            Layout l = layouts.get(i);
            if (l == null) continue;
            if (first == null) first = l;
            onAxis &= l.axis() == ax;
        }
        if (first == null) return;
        if (!onAxis) {
            // concatenation along another axis: all channel-carrying inputs must agree
            for (String i : n.inputs()) {
                Layout l = layouts.get(i);
                if (l == null) { blockInputs(n, "Concat of channels with untracked values on another axis"); return; }
                if (l.axis() != first.axis() || !unify(first, l, n)) { blockInputs(n, "Concat with channels on different axes"); return; }
            }
            layouts.put(n.output(0), first);
            String in0 = n.input(0);
            transfers.put(n.output(0), get -> nan(layouts.get(in0).units()));
            return;
        }
        List<Seg> segs = new ArrayList<>();
        List<String> ins = new ArrayList<>();
        for (String i : n.inputs()) {
            Layout l = layouts.get(i);
            if (l != null) { segs.addAll(l.segs()); ins.add(i); continue; }
            long d = dim(i, ax);
            Consts.Value c = consts.get(i);
            if (c != null && ax < c.rank()) d = c.dim(ax);
            if (d < 0) { blockInputs(n, "Concat with an input of unknown size"); return; }
            if (d > 0) segs.add(new Seg(-1, 0, (int) d, 1));
            ins.add(null);
        }
        Layout out = new Layout(ax, segs);
        layouts.put(n.output(0), out);
        List<String> inNames = List.copyOf(n.inputs());
        transfers.put(n.output(0), get -> {
            double[] a = new double[out.units()];
            int u = 0;
            for (String i : inNames) {
                Layout l = layouts.get(i);
                if (l != null) { double[] v = get.apply(i); System.arraycopy(v, 0, a, u, v.length); u += v.length; }
                else {
                    long d = Math.max(0, dim(i, ax));
                    Consts.Value c = consts.get(i);
                    if (c != null && ax < c.rank()) d = c.dim(ax);
                    for (int k = 0; k < d; k++) a[u++] = Double.NaN;
                }
            }
            return a;
        });
    }

    /** Positions [from, to) of a layout as a new layout; null if a cut falls inside a block. */
    static Layout range(Layout l, int from, int to, int axis) {
        List<Seg> out = new ArrayList<>();
        int pos = 0;
        for (Seg s : l.segs()) {
            int a = Math.max(from, pos), b = Math.min(to, pos + s.width());
            if (a < b) {
                if ((a - pos) % s.block() != 0 || (b - pos) % s.block() != 0) return null;
                out.add(new Seg(s.group(), s.group() < 0 ? 0 : s.start() + (a - pos) / s.block(), (b - a) / s.block(), s.block()));
            }
            pos += s.width();
        }
        return new Layout(axis, out);
    }

    /** Unit offset of position {@code pos} of a layout. */
    static int unitOf(Layout l, int pos) {
        int u = 0, p = 0;
        for (Seg s : l.segs()) {
            if (pos < p + s.width()) return u + (pos - p) / s.block();
            p += s.width();
            u += s.len();
        }
        return u;
    }

    private void split(Node n) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        if (l == null) return;
        int r = rank(n.input(0));
        int ax = normAxis(n.attrLong("axis", 0), r);
        if (ax != l.axis()) {
            for (String o : n.outputs()) if (!o.isEmpty()) { layouts.put(o, l); transfers.put(o, get -> get.apply(n.input(0))); }
            return;
        }
        long[] sizes = n.attrLongs("split", null);
        boolean fromInput = false;
        if (sizes == null && n.hasInput(1)) { sizes = consts.longs(n.input(1)); fromInput = true; if (sizes == null) { blockAll(l, "Split with non-constant sizes"); return; } }
        int k = n.outputs().size();
        int w = l.width();
        if (sizes == null) {
            if (w % k != 0) { blockAll(l, "uneven Split"); return; }
            sizes = new long[k];
            java.util.Arrays.fill(sizes, w / k);
        }
        int pos = 0;
        List<Layout> parts = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            Layout part = range(l, pos, pos + (int) sizes[i], ax);
            if (part == null) { blockAll(l, "Split inside a flattened channel"); return; }
            parts.add(part);
            pos += (int) sizes[i];
        }
        for (int i = 0; i < k; i++) {
            String o = n.output(i);
            if (o.isEmpty()) continue;
            Layout part = parts.get(i);
            layouts.put(o, part);
            int u0 = unitOf(l, (int) java.util.stream.LongStream.of(sizes).limit(i).sum());
            String in = n.input(0);
            transfers.put(o, get -> java.util.Arrays.copyOfRange(get.apply(in), u0, u0 + part.units()));
        }
        boolean input = fromInput;
        fixups.put(key(n), (node, kept, rw) -> {
            long[] ns = new long[parts.size()];
            for (int i = 0; i < ns.length; i++) ns[i] = kept.width(parts.get(i));
            if (input) return node.withInputs(List.of(node.input(0), rw.addInitializer(node.name() + ".split", ns)));
            if (node.hasAttr("split")) return node.withAttribute("split", io.condense.ir.Attribute.of(ns));
            boolean equal = true;
            for (long x : ns) equal &= x == ns[0];
            return equal ? node : node.withAttribute("split", io.condense.ir.Attribute.of(ns));
        });
    }

    private void slice(Node n) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        if (l == null) return;
        int r = rank(n.input(0));
        boolean attrs = graph.opset() < 10;
        long[] starts = attrs ? n.attrLongs("starts", null) : consts.longs(n.input(1));
        long[] ends = attrs ? n.attrLongs("ends", null) : consts.longs(n.input(2));
        long[] axes = attrs ? n.attrLongs("axes", null) : (n.hasInput(3) ? consts.longs(n.input(3)) : null);
        long[] steps = attrs ? null : (n.hasInput(4) ? consts.longs(n.input(4)) : null);
        if (starts == null || ends == null || (!attrs && n.hasInput(3) && axes == null) || (n.hasInput(4) && steps == null) || r < 0) {
            blockAll(l, "Slice with non-constant bounds");
            return;
        }
        int hit = -1;
        for (int i = 0; i < starts.length; i++) {
            int a = axes == null ? i : normAxis(axes[i], r);
            if (a == l.axis()) hit = i;
        }
        if (hit < 0) {
            layouts.put(n.output(0), l);
            transfers.put(n.output(0), get -> get.apply(n.input(0)));
            return;
        }
        if (steps != null && steps[hit] != 1) { blockAll(l, "strided Slice of the channel axis"); return; }
        int w = l.width();
        long s = starts[hit] < 0 ? starts[hit] + w : Math.min(starts[hit], w);
        long e = ends[hit] < 0 ? ends[hit] + w : Math.min(ends[hit], w);
        s = Math.max(0, s);
        e = Math.max(s, e);
        Layout part = range(l, (int) s, (int) e, l.axis());
        if (part == null) { blockAll(l, "Slice inside a flattened channel"); return; }
        layouts.put(n.output(0), part);
        int u0 = unitOf(l, (int) s), h = hit;
        String in = n.input(0);
        transfers.put(n.output(0), get -> java.util.Arrays.copyOfRange(get.apply(in), u0, u0 + part.units()));
        Layout before = range(l, 0, (int) s, l.axis());
        fixups.put(key(n), (node, kept, rw) -> {
            long[] ns = starts.clone(), ne = ends.clone();
            ns[h] = kept.width(before);
            ne[h] = ns[h] + kept.width(part);
            if (attrs) return node.withAttribute("starts", io.condense.ir.Attribute.of(ns)).withAttribute("ends", io.condense.ir.Attribute.of(ne));
            List<String> in2 = new ArrayList<>(node.inputs());
            in2.set(1, rw.addInitializer(node.name() + ".starts", ns));
            in2.set(2, rw.addInitializer(node.name() + ".ends", ne));
            return node.withInputs(in2);
        });
    }

    private void flatten(Node n) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        if (l == null) return;
        int r = rank(n.input(0));
        int ax = normAxis(n.attrLong("axis", 1), r);
        Layout f = flattenAt(n.input(0), l, ax, r);
        if (f == null) { blockAll(l, "Flatten mixes the channel axis with others"); return; }
        layouts.put(n.output(0), f);
        transfers.put(n.output(0), get -> get.apply(n.input(0)));
    }

    /** The layout after merging axes [ax, rank) into one; null when channels would not stay in contiguous blocks. */
    private Layout flattenAt(String in, Layout l, int ax, int r) {
        if (r < 0) return null;
        if (l.axis() < ax) {
            for (int a = l.axis(); a < ax; a++) if (dim(in, a) != 1) return null;
            return null;
        }
        for (int a = ax; a < l.axis(); a++) if (dim(in, a) != 1) return null;
        long inner = 1;
        for (int a = l.axis() + 1; a < r; a++) {
            long d = dim(in, a);
            if (d < 0) return null;
            inner *= d;
        }
        List<Seg> segs = new ArrayList<>();
        for (Seg s : l.segs()) segs.add(new Seg(s.group(), s.start(), s.len(), (int) (s.block() * inner)));
        return new Layout(ax, segs);
    }

    private void reshape(Node n) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        if (l == null) return;
        long[] shape = consts.longs(n.input(1));
        int r = rank(n.input(0));
        if (shape == null || r < 0) { blockAll(l, "Reshape with a non-constant shape"); return; }
        int ax = l.axis();
        // the dims before the channel axis must stay as they are
        for (int a = 0; a < ax; a++) {
            if (a >= shape.length) { blockAll(l, "Reshape merges the channel axis"); return; }
            long d = dim(n.input(0), a);
            if (!(shape[a] == 0 || (d >= 0 && shape[a] == d) || (shape[a] == -1 && a == 0 && ax == 1 && shape.length == 2))) {
                blockAll(l, "Reshape changes the axes before the channel axis");
                return;
            }
        }
        if (ax >= shape.length) { blockAll(l, "Reshape drops the channel axis"); return; }
        long w = l.width();
        Layout out;
        if (shape.length == ax + 1) {
            out = flattenAt(n.input(0), l, ax, r); // merge channel and trailing axes
            if (out == null) { blockAll(l, "Reshape mixes the channel axis with others"); return; }
        } else if (shape[ax] == 0 || shape[ax] == w) {
            out = l; // channel axis kept, trailing axes reshaped among themselves
            long innerIn = 1;
            for (int a = ax + 1; a < r; a++) innerIn *= Math.max(0, dim(n.input(0), a));
            if (l.segs().stream().anyMatch(s -> s.block() != 1) && innerIn != 1) { blockAll(l, "Reshape of a flattened channel axis"); return; }
        } else {
            blockAll(l, "Reshape splits the channel axis");
            return;
        }
        layouts.put(n.output(0), out);
        transfers.put(n.output(0), get -> get.apply(n.input(0)));
        Layout o = out;
        if (shape[ax] > 0) {
            fixups.put(key(n), (node, kept, rw) -> {
                long[] ns = shape.clone();
                ns[ax] = kept.width(o);
                return node.withInputs(List.of(node.input(0), rw.addInitializer(node.name() + ".shape", ns)));
            });
        }
    }

    private void transpose(Node n) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        if (l == null) return;
        int r = rank(n.input(0));
        long[] perm = n.attrLongs("perm", null);
        if (r < 0) { blockAll(l, "Transpose of unknown rank"); return; }
        int na = -1;
        for (int i = 0; i < r; i++) if ((perm == null ? r - 1 - i : perm[i]) == l.axis()) na = i;
        layouts.put(n.output(0), l.withAxis(na));
        transfers.put(n.output(0), get -> get.apply(n.input(0)));
    }

    private void squeeze(Node n, boolean unsqueeze) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        if (l == null) return;
        long[] axes = n.attrLongs("axes", null);
        if (axes == null && n.hasInput(1)) axes = consts.longs(n.input(1));
        int r = rank(n.input(0));
        if (axes == null || r < 0) { blockAll(l, n.opType() + " with unknown axes"); return; }
        int ax = l.axis();
        if (unsqueeze) {
            int outR = r + axes.length;
            long[] sorted = java.util.stream.LongStream.of(axes).map(a -> a < 0 ? a + outR : a).sorted().toArray();
            for (long a : sorted) if (a <= ax) ax++;
        } else {
            for (long a0 : axes) {
                int a = normAxis(a0, r);
                if (a == ax) { blockAll(l, "Squeeze of the channel axis"); return; }
                if (a < l.axis()) ax--;
            }
        }
        layouts.put(n.output(0), l.withAxis(ax));
        transfers.put(n.output(0), get -> get.apply(n.input(0)));
    }

    private void pad(Node n) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        if (l == null) return;
        long[] pads = n.attrLongs("pads", null);
        if (pads == null && n.hasInput(1)) pads = consts.longs(n.input(1));
        int r = rank(n.input(0));
        if (pads == null || r < 0 || n.hasInput(3)) { blockAll(l, "Pad with non-constant pads or axes"); return; }
        if (pads[l.axis()] != 0 || pads[l.axis() + r] != 0) { blockAll(l, "Pad of the channel axis"); return; }
        layouts.put(n.output(0), l);
        String mode = n.attrString("mode", "constant");
        double pv = n.attrFloat("value", 0f);
        if (n.hasInput(2)) { Consts.Value c = consts.get(n.input(2)); pv = c == null ? Double.NaN : c.get(0); }
        double padValue = pv;
        transfers.put(n.output(0), get -> {
            double[] a = get.apply(n.input(0)).clone();
            if (mode.equals("constant")) for (int i = 0; i < a.length; i++) if (a[i] != padValue) a[i] = Double.NaN;
            return a;
        });
    }

    private void resize(Node n) {
        Layout l = layouts.get(n.input(0));
        onlyData(n, 0);
        if (l == null) return;
        long inC = dim(n.input(0), l.axis()), outC = dim(n.output(0), l.axis());
        if (inC < 0 || inC != outC) { blockAll(l, n.opType() + " may scale the channel axis"); return; }
        layouts.put(n.output(0), l);
        transfers.put(n.output(0), get -> get.apply(n.input(0)));
    }
}
