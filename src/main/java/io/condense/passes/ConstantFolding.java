package io.condense.passes;

import io.condense.backend.Backends;
import io.condense.backend.Session;
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

/**
 * Replaces computations on constants by their results: Constant nodes become initializers; a node whose
 * inputs are all initializers (or folded values) is evaluated and its outputs become initializers; Shape and
 * Size of statically known shapes fold too. Evaluation uses a few exact built-in rules (ConstantOfShape,
 * Identity, Shape, reshapes, Cast between integer types) and otherwise runs a one-node graph on an
 * {@link Evaluator} (by default the CPU backend). A node the evaluator cannot run is left in place. Dead
 * nodes and unused initializers are removed afterwards.
 */
public final class ConstantFolding implements GraphPass {
    /** Evaluates a one-node graph that has no inputs (all its inputs are initializers). */
    @FunctionalInterface
    public interface Evaluator {
        Map<String, Tensor> evaluate(Graph oneNode);
    }

    /** Ops whose result is not a function of their inputs, or that have side effects. */
    private static final Set<String> NONDETERMINISTIC = Set.of(
            "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli");

    private final Evaluator evaluator;
    private final long maxElements;

    /** Folds with the CPU backend, any result size. */
    public ConstantFolding() { this(ConstantFolding::cpu, Tensor.MAX_ELEMENTS); }

    /**
     * @param evaluator   runs one-node graphs
     * @param maxElements results larger than this stay computed at run time (keeps files small)
     */
    public ConstantFolding(Evaluator evaluator, long maxElements) {
        this.evaluator = evaluator;
        this.maxElements = maxElements;
    }

    public static Map<String, Tensor> cpu(Graph oneNode) {
        try (Session s = Backends.cpu().open(oneNode)) {
            return s.run(Map.of());
        }
    }

    @Override
    public String name() { return "constant-folding"; }

    @Override
    public Graph apply(Graph g) {
        Set<String> graphOutputs = new HashSet<>();
        for (ValueInfo o : g.outputs()) graphOutputs.add(o.name());
        Map<String, TensorType> types;
        try {
            types = ShapeInference.inferTypes(g);
        } catch (ModelException e) {
            types = Map.of();
        }
        Map<String, Tensor> consts = new LinkedHashMap<>(g.initializers());
        Set<String> inputs = new HashSet<>();
        for (ValueInfo v : g.inputs()) inputs.add(v.name());
        consts.keySet().removeAll(inputs); // an initializer that is also an input can be overridden
        Map<String, Tensor> added = new LinkedHashMap<>();
        List<Node> kept = new ArrayList<>();
        for (Node n : g.topologicalOrder()) {
            Map<String, Tensor> out = foldable(n, consts, types, graphOutputs) ? fold(g, n, consts, types) : null;
            if (out == null) {
                kept.add(n);
                continue;
            }
            consts.putAll(out);
            added.putAll(out);
        }
        if (added.isEmpty()) return g;
        Graph.Builder b = g.toBuilder().nodes(kept);
        added.forEach(b::initializer);
        Map<String, ValueInfo> vi = new LinkedHashMap<>(g.valueInfo());
        vi.keySet().removeAll(added.keySet());
        b.valueInfo(vi);
        return new DeadCodeElimination().apply(b.build());
    }

    private boolean foldable(Node n, Map<String, Tensor> consts, Map<String, TensorType> types, Set<String> graphOutputs) {
        for (String o : n.outputs()) if (graphOutputs.contains(o)) return false;
        if (n.outputs().stream().allMatch(String::isEmpty)) return false;
        if (NONDETERMINISTIC.contains(n.opType())) return false;
        for (Attribute a : n.attributes().values()) {
            if (a.kind() == Attribute.Kind.GRAPH || a.kind() == Attribute.Kind.GRAPHS) return false;
        }
        if (n.domain().isEmpty() && (n.opType().equals("Shape") || n.opType().equals("Size"))) {
            TensorType t = types.get(n.input(0));
            return consts.containsKey(n.input(0)) || (t != null && t.isStatic());
        }
        for (String i : n.inputs()) if (!i.isEmpty() && !consts.containsKey(i)) return false;
        return true;
    }

    /** The node's outputs, or null when it cannot be evaluated here. */
    private Map<String, Tensor> fold(Graph g, Node n, Map<String, Tensor> consts, Map<String, TensorType> types) {
        Tensor[] r;
        try {
            r = builtin(g, n, consts, types);
        } catch (RuntimeException e) {
            return null;
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (r != null) {
            for (int i = 0; i < n.outputs().size(); i++) {
                if (n.output(i).isEmpty()) continue;
                if (i >= r.length || r[i] == null) return null;
                out.put(n.output(i), r[i]);
            }
        } else {
            for (String o : n.outputs()) {
                if (o.isEmpty()) continue;
                TensorType t = types.get(o);
                if (t != null && t.isStatic() && sizeOf(t) > maxElements) return null;
            }
            Graph.Builder b = Graph.builder().name("fold").opsets(g.opsets()).irVersion(g.irVersion());
            for (String i : n.inputs()) if (!i.isEmpty()) b.initializer(i, consts.get(i));
            for (String o : n.outputs()) if (!o.isEmpty()) b.addOutput(new ValueInfo(o, TensorType.unknown()));
            b.addNode(n);
            Map<String, Tensor> res;
            try {
                res = evaluator.evaluate(b.build());
            } catch (RuntimeException e) {
                return null; // unsupported op or an error the run-time path will report with context
            }
            for (String o : n.outputs()) {
                if (o.isEmpty()) continue;
                Tensor t = res.get(o);
                if (t == null) return null;
                out.put(o, t);
            }
        }
        for (Tensor t : out.values()) if (t.size() > maxElements) return null;
        return out;
    }

    private static long sizeOf(TensorType t) {
        long n = 1;
        for (long d : t.shape()) {
            if (d != 0 && n > Long.MAX_VALUE / d) return Long.MAX_VALUE;
            n *= d;
        }
        return n;
    }

    /** Exact rules for ops that only move or create data; null for ops the evaluator must run. */
    private Tensor[] builtin(Graph g, Node n, Map<String, Tensor> consts, Map<String, TensorType> types) {
        if (!n.domain().isEmpty()) return null;
        Tensor x = n.hasInput(0) ? consts.get(n.input(0)) : null;
        switch (n.opType()) {
            case "Constant" -> {
                if (n.hasAttr("value")) return new Tensor[] {n.attr("value").asTensor()};
                if (n.hasAttr("value_float")) return new Tensor[] {Tensor.scalar(n.attrFloat("value_float", 0))};
                if (n.hasAttr("value_int")) return new Tensor[] {Tensor.scalar(n.attrLong("value_int", 0))};
                if (n.hasAttr("value_floats")) {
                    float[] f = n.attrFloats("value_floats", null);
                    return new Tensor[] {Tensor.of(f, f.length)};
                }
                if (n.hasAttr("value_ints")) {
                    long[] l = n.attrLongs("value_ints", null);
                    return new Tensor[] {Tensor.of(l, l.length)};
                }
                if (n.hasAttr("value_string")) {
                    return new Tensor[] {Tensor.of(DType.STRING, new long[0], new String[] {n.attrString("value_string", "")})};
                }
                if (n.hasAttr("value_strings")) {
                    List<String> s = n.attr("value_strings").asStrings();
                    return new Tensor[] {Tensor.of(DType.STRING, new long[] {s.size()}, s.toArray(new String[0]))};
                }
                return null;
            }
            case "Identity" -> { return new Tensor[] {x}; }
            case "Shape" -> {
                long[] s = x != null ? x.shape() : types.get(n.input(0)).shape();
                int r = s.length;
                long start = n.attrLong("start", 0), end = n.attrLong("end", r);
                if (start < 0) start += r;
                if (end < 0) end += r;
                start = Math.max(0, Math.min(start, r));
                end = Math.max(start, Math.min(end, r));
                long[] v = java.util.Arrays.copyOfRange(s, (int) start, (int) end);
                return new Tensor[] {Tensor.of(v, v.length)};
            }
            case "Size" -> {
                long[] s = x != null ? x.shape() : types.get(n.input(0)).shape();
                return new Tensor[] {Tensor.scalar(Tensor.checkedSize(s))};
            }
            case "ConstantOfShape" -> {
                long[] shape = x.toLongArray();
                if (Tensor.checkedSize(shape) > maxElements) return new Tensor[] {null};
                Tensor v = n.hasAttr("value") ? n.attr("value").asTensor() : Tensor.scalar(0f);
                Tensor t = Tensor.zeros(v.dtype(), shape);
                Object src = v.data(), dst = t.data();
                for (int i = 0; i < t.size(); i++) java.lang.reflect.Array.set(dst, i, java.lang.reflect.Array.get(src, 0));
                return new Tensor[] {t};
            }
            case "Reshape", "Flatten", "Squeeze", "Unsqueeze" -> {
                TensorType t = types.get(n.output(0));
                if (t == null || !t.isStatic()) return null;
                return new Tensor[] {x.reshape(t.shape())};
            }
            case "Cast" -> {
                DType to = DType.fromOnnx((int) n.attrLong("to", 0));
                if (x.dtype() == to) return new Tensor[] {x};
                if (!x.dtype().isInteger() || !to.isInteger() || to == DType.UINT64 || x.dtype() == DType.UINT64) return null;
                Tensor t = Tensor.zeros(to, x.shape());
                for (int i = 0; i < t.size(); i++) {
                    long v = x.getLong(i);
                    if (v < to.minValue() || v > to.maxValue()) return null; // wrap-around: leave to the evaluator
                    t.setDouble(i, v);
                }
                return new Tensor[] {t};
            }
            default -> { return null; }
        }
    }
}
