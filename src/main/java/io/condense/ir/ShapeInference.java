package io.condense.ir;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Static shape and element-type inference. {@link #infer(Graph)} returns the graph with a {@link TensorType}
 * in {@code valueInfo} for every intermediate value it could type, and graph outputs refined where their
 * declared type was less specific. Symbolic dimensions ("batch") travel through the ops that preserve them.
 *
 * <p>Small integer values (shapes, axes, indices: initializers, Constant nodes, Shape outputs and simple
 * arithmetic on them) are tracked as lists of {@link Dim}s, so Reshape/ConstantOfShape/Expand fed by a shape
 * computation still get a shape. An op without a rule leaves its outputs unknown; a contradiction between
 * input types (MatMul inner dims, Concat ranks, ...) is a {@link ModelException} naming the node.
 */
public final class ShapeInference {
    /** Integer constants up to this many elements are tracked by value. */
    private static final int MAX_TRACKED = 64;

    private final Graph g;
    private final Map<String, TensorType> types = new HashMap<>();
    /** Known integer values (as dims: a number, a symbol, or unknown), with whether the value is a scalar. */
    private final Map<String, IntVal> values = new HashMap<>();

    /** Marks an element whose value is not known (Dim.UNKNOWN is -1, which is a valid value here). */
    private static final Dim UNK = new Dim(Long.MIN_VALUE, null);

    private static boolean numeric(Dim d) { return d.symbol() == null && d.value() != Long.MIN_VALUE; }

    /** A tracked element as a dimension (for Reshape/ConstantOfShape targets): unknown stays unknown. */
    private static Dim asDim(Dim d) { return d.symbol() != null ? d : d.value() >= 0 ? d : Dim.UNKNOWN; }

    /** A dimension as a tracked element. */
    private static Dim fromDim(Dim d) { return d.isKnown() || d.symbol() != null ? d : UNK; }

    private record IntVal(List<Dim> elems, boolean scalar) {
        IntVal { elems = List.copyOf(elems); }

        boolean allNumeric() { return elems.stream().allMatch(ShapeInference::numeric); }

        long[] longs() { return elems.stream().mapToLong(Dim::value).toArray(); }

        List<Dim> dims() { return elems.stream().map(ShapeInference::asDim).toList(); }
    }

    private ShapeInference(Graph g) { this.g = g; }

    /** The graph with inferred types stored as value_info (intermediates) and refined graph outputs. */
    public static Graph infer(Graph g) {
        Map<String, TensorType> t = inferTypes(g);
        Graph.Builder b = g.toBuilder();
        Set<String> io = new java.util.HashSet<>(g.initializers().keySet());
        for (ValueInfo v : g.inputs()) io.add(v.name());
        for (ValueInfo v : g.outputs()) io.add(v.name());
        Map<String, ValueInfo> vi = new LinkedHashMap<>(g.valueInfo());
        for (Node n : g.nodes()) {
            for (String o : n.outputs()) {
                if (o.isEmpty() || io.contains(o)) continue;
                TensorType tt = t.get(o);
                if (tt != null && (tt.dtype() != null || tt.dims() != null)) vi.put(o, new ValueInfo(o, tt));
            }
        }
        b.valueInfo(vi);
        List<ValueInfo> outs = new ArrayList<>();
        for (ValueInfo o : g.outputs()) {
            TensorType tt = t.get(o.name());
            outs.add(tt == null ? o : new ValueInfo(o.name(), tt));
        }
        b.outputs(outs);
        return b.build();
    }

    /**
     * {@code g} with value_info for every node output whose type inference knows (symbolic dims as dim_params),
     * for writing a model: runtimes check shapes before fusing (ONNX Runtime fuses Add + LayerNormalization into
     * SkipLayerNormalization only when both Add inputs have equal 3-D shapes, which it cannot derive through
     * BERT's computed Reshape targets by itself). Entries naming values that no node produces any more are dropped.
     * When inference fails, {@code g} is returned as it is: value_info is advisory.
     */
    public static Graph annotate(Graph g) {
        Graph h;
        try {
            h = infer(g);
        } catch (RuntimeException | StackOverflowError e) {
            return g;
        }
        Set<String> produced = new java.util.HashSet<>();
        for (Node n : h.nodes()) produced.addAll(n.outputs());
        Map<String, ValueInfo> vi = new LinkedHashMap<>();
        h.valueInfo().forEach((k, v) -> { if (produced.contains(k)) vi.put(k, v); });
        return h.toBuilder().valueInfo(vi).build();
    }

    /** Inferred types of every value of the graph (inputs, initializers and node outputs). */
    public static Map<String, TensorType> inferTypes(Graph g) {
        ShapeInference s = new ShapeInference(g);
        s.run();
        return s.types;
    }

    private void run() {
        for (ValueInfo v : g.inputs()) types.put(v.name(), v.type());
        for (Map.Entry<String, Tensor> e : g.initializers().entrySet()) {
            types.put(e.getKey(), e.getValue().type());
            track(e.getKey(), e.getValue());
        }
        for (Node n : g.topologicalOrder()) {
            TensorType[] out;
            try {
                out = inferNode(n);
            } catch (ModelException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new ModelException("shape inference failed at node " + n.label() + ": " + e, e);
            }
            for (int i = 0; i < n.outputs().size(); i++) {
                String o = n.output(i);
                if (o.isEmpty()) continue;
                TensorType t = out != null && i < out.length && out[i] != null ? out[i] : TensorType.unknown();
                types.put(o, refine(t, declared(o)));
            }
        }
    }

    /** A declared (imported) type of a node output, used where inference knows less. */
    private TensorType declared(String v) {
        ValueInfo vi = g.valueInfo().get(v);
        if (vi != null) return vi.type();
        for (ValueInfo o : g.outputs()) if (o.name().equals(v)) return o.type();
        return TensorType.unknown();
    }

    /** {@code t} with unknown parts filled from {@code d}. */
    static TensorType refine(TensorType t, TensorType d) {
        DType dt = t.dtype() != null ? t.dtype() : d.dtype();
        List<Dim> dims = t.dims();
        if (dims == null) dims = d.dims();
        else if (d.dims() != null && d.dims().size() == dims.size()) {
            List<Dim> m = new ArrayList<>(dims);
            for (int i = 0; i < m.size(); i++) {
                if (!m.get(i).isKnown() && m.get(i).symbol() == null) m.set(i, d.dims().get(i));
            }
            dims = m;
        }
        return new TensorType(dt, dims);
    }

    private void track(String name, Tensor t) {
        if (t.rank() > 1 || t.size() > MAX_TRACKED || !t.dtype().isInteger()) return;
        List<Dim> l = new ArrayList<>();
        for (int i = 0; i < t.size(); i++) l.add(new Dim(t.getLong(i), null));
        values.put(name, new IntVal(l, t.rank() == 0));
    }

    // ---------------------------------------------------------------- helpers

    private TensorType in(Node n, int i) {
        String v = n.input(i);
        if (v.isEmpty()) return TensorType.unknown();
        TensorType t = types.get(v);
        return t == null ? g.typeOf(v) : t;
    }

    private DType dt(Node n, int i) { return in(n, i).dtype(); }

    private List<Dim> dims(Node n, int i) { return in(n, i).dims(); }

    /** Constant integer values of input i (all known), or null. */
    private long[] constInts(Node n, int i) {
        IntVal v = values.get(n.input(i));
        if (v == null || !v.allNumeric()) return null;
        return v.longs();
    }

    private ModelException err(Node n, String msg) {
        return new ModelException("node " + n.label() + ": " + msg);
    }

    private static TensorType type(DType dt, List<Dim> dims) { return new TensorType(dt, dims); }

    private static TensorType[] one(TensorType t) { return new TensorType[] {t}; }

    private static int axis(Node n, long a, int rank, ShapeInference s) {
        long r = a < 0 ? a + rank : a;
        if (r < 0 || r >= rank) throw s.err(n, "axis " + a + " is out of range for rank " + rank);
        return (int) r;
    }

    /** Merges two dims that must be equal (e.g. Concat non-axis dims, MatMul inner). */
    private Dim same(Node n, Dim a, Dim b, String what) {
        if (a.isKnown() && b.isKnown()) {
            if (a.value() != b.value()) throw err(n, what + ": " + a.value() + " vs " + b.value());
            return a;
        }
        if (a.isKnown()) return a;
        if (b.isKnown()) return b;
        if (a.symbol() != null) return a;
        return b;
    }

    /** Numpy-style broadcasting of several shapes; null when any rank is unknown. */
    private List<Dim> broadcast(Node n, List<List<Dim>> shapes) {
        int rank = 0;
        for (List<Dim> s : shapes) {
            if (s == null) return null;
            rank = Math.max(rank, s.size());
        }
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            Dim r = null;
            for (List<Dim> s : shapes) {
                int j = i - (rank - s.size());
                if (j < 0) continue;
                Dim d = s.get(j);
                r = r == null ? d : bcast(n, r, d);
            }
            out.add(r);
        }
        return out;
    }

    private Dim bcast(Node n, Dim a, Dim b) {
        if (a.isKnown() && a.value() == 1) return b;
        if (b.isKnown() && b.value() == 1) return a;
        if (a.isKnown() && b.isKnown()) {
            if (a.value() != b.value()) throw err(n, "cannot broadcast dimensions " + a.value() + " and " + b.value());
            return a;
        }
        if (a.isKnown()) return a;
        if (b.isKnown()) return b;
        if (a.symbol() != null && (a.equals(b) || b.symbol() == null)) return a;
        if (b.symbol() != null && a.symbol() == null) return b;
        return Dim.UNKNOWN;
    }

    private static List<Dim> unknownDims(int rank) {
        List<Dim> l = new ArrayList<>();
        for (int i = 0; i < rank; i++) l.add(Dim.UNKNOWN);
        return l;
    }

    private static long prod(List<Dim> d, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) {
            if (!d.get(i).isKnown()) return -1;
            p *= d.get(i).value();
        }
        return p;
    }

    private static Dim dimOf(long v) { return v < 0 ? Dim.UNKNOWN : Dim.of(v); }

    private static final Set<String> SAME_TYPE_UNARY = Set.of(
            "Relu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Exp", "Log", "Abs", "Neg", "Reciprocal", "Floor", "Ceil",
            "Round", "LeakyRelu", "Elu", "Selu", "HardSigmoid", "HardSwish", "Gelu", "Softplus", "Softsign", "Sin",
            "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Sign", "Identity",
            "Softmax", "LogSoftmax", "Hardmax", "LRN", "Clip", "InstanceNormalization", "Celu", "ThresholdedRelu",
            "Mish", "Shrink", "BitwiseNot", "MeanVarianceNormalization", "CumSum", "Trilu");
    private static final Set<String> BROADCAST = Set.of(
            "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Mod", "PRelu", "BitShift",
            "BitwiseAnd", "BitwiseOr", "BitwiseXor");
    private static final Set<String> COMPARE = Set.of(
            "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor");
    private static final Set<String> REDUCE = Set.of(
            "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
            "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare");

    // ---------------------------------------------------------------- rules

    private TensorType[] inferNode(Node n) {
        String op = n.opType();
        int opset = g.opsetOf(n.domain());
        if (n.domain().equals("com.microsoft")) return microsoft(n, op);
        if (!n.domain().isEmpty()) return null;
        if (SAME_TYPE_UNARY.contains(op)) {
            propagateSame(n);
            return one(in(n, 0));
        }
        if (BROADCAST.contains(op)) {
            List<List<Dim>> s = new ArrayList<>();
            for (int i = 0; i < n.inputs().size(); i++) if (n.hasInput(i)) s.add(dims(n, i));
            if (op.equals("Sum") || op.equals("Add") || op.equals("Sub") || op.equals("Mul") || op.equals("Div")) arith(n, op);
            DType dt = dt(n, 0);
            if (dt == null && !op.equals("Pow")) for (int i = 1; i < n.inputs().size() && dt == null; i++) dt = dt(n, i);
            return one(type(dt, broadcast(n, s)));
        }
        if (COMPARE.contains(op)) return one(type(DType.BOOL, broadcast(n, List.of(dims(n, 0), dims(n, 1)))));
        if (REDUCE.contains(op)) return reduce(n, op, opset);
        return switch (op) {
            case "Not" -> one(type(DType.BOOL, dims(n, 0)));
            case "IsNaN", "IsInf" -> one(type(DType.BOOL, dims(n, 0)));
            case "Where" -> one(type(dt(n, 1) != null ? dt(n, 1) : dt(n, 2),
                    broadcast(n, List.of(dims(n, 0), dims(n, 1), dims(n, 2)))));
            case "Dropout" -> new TensorType[] {in(n, 0), type(opset < 10 ? dt(n, 0) : DType.BOOL, dims(n, 0))};
            case "BatchNormalization" -> batchNorm(n);
            case "LayerNormalization" -> layerNorm(n);
            case "Conv" -> one(type(dt(n, 0), conv(n, dims(n, 0), dims(n, 1), false)));
            case "ConvInteger" -> one(type(DType.INT32, conv(n, dims(n, 0), dims(n, 1), false)));
            case "QLinearConv" -> one(type(n.hasInput(7) ? dt(n, 7) : DType.UINT8, conv(n, dims(n, 0), dims(n, 3), false)));
            case "ConvTranspose" -> one(type(dt(n, 0), conv(n, dims(n, 0), dims(n, 1), true)));
            case "MaxPool", "AveragePool", "LpPool" -> {
                List<Dim> d = pool(n, dims(n, 0));
                yield new TensorType[] {type(dt(n, 0), d), type(DType.INT64, d)};
            }
            case "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool" -> one(type(dt(n, 0), global(n, dims(n, 0), false)));
            case "MatMul" -> one(type(dt(n, 0), matmul(n, dims(n, 0), dims(n, 1))));
            case "MatMulInteger" -> one(type(DType.INT32, matmul(n, dims(n, 0), dims(n, 1))));
            case "QLinearMatMul" -> one(type(n.hasInput(7) ? dt(n, 7) : dt(n, 0), matmul(n, dims(n, 0), dims(n, 3))));
            case "Gemm" -> gemm(n);
            case "Reshape" -> reshape(n, opset);
            case "Flatten" -> flatten(n);
            case "Transpose" -> transpose(n);
            case "Concat" -> concat(n);
            case "Split" -> split(n, opset);
            case "Slice" -> slice(n, opset);
            case "Gather" -> gather(n);
            case "Squeeze" -> squeeze(n, opset);
            case "Unsqueeze" -> unsqueeze(n, opset);
            case "Shape" -> shape(n);
            case "Size" -> one(TensorType.of(DType.INT64));
            case "Cast" -> {
                DType to = DType.fromOnnx((int) n.attrLong("to", 0));
                IntVal v = values.get(n.input(0));
                if (v != null && to.isInteger()) values.put(n.output(0), v);
                yield one(type(to, dims(n, 0)));
            }
            case "QuantizeLinear" -> {
                DType t = n.hasInput(2) ? dt(n, 2) : null;
                if (n.hasAttr("output_dtype") && n.attrLong("output_dtype", 0) != 0) {
                    t = DType.fromOnnx((int) n.attrLong("output_dtype", 0));
                }
                if (t == null && !n.hasInput(2)) t = DType.UINT8;
                yield one(type(t, dims(n, 0)));
            }
            case "DequantizeLinear" -> one(type(opset >= 19 && dt(n, 1) != null ? dt(n, 1) : DType.FLOAT32, dims(n, 0)));
            case "DynamicQuantizeLinear" -> new TensorType[] {type(DType.UINT8, dims(n, 0)),
                    TensorType.of(DType.FLOAT32), TensorType.of(DType.UINT8)};
            case "Constant" -> constant(n);
            case "ConstantOfShape" -> constantOfShape(n);
            case "Pad" -> pad(n, opset);
            case "Expand" -> {
                IntVal v = values.get(n.input(1));
                if (v == null) {
                    List<Dim> sd = dims(n, 1);
                    yield one(type(dt(n, 0), sd != null && sd.size() == 1 && sd.get(0).isKnown() && dims(n, 0) != null
                            ? unknownDims((int) Math.max(sd.get(0).value(), dims(n, 0).size())) : null));
                }
                yield one(type(dt(n, 0), broadcast(n, List.of(dims(n, 0), v.dims()))));
            }
            case "Tile" -> {
                long[] r = constInts(n, 1);
                List<Dim> d = dims(n, 0);
                if (d == null) yield one(type(dt(n, 0), null));
                if (r == null) yield one(type(dt(n, 0), unknownDims(d.size())));
                if (r.length != d.size()) throw err(n, "repeats has " + r.length + " values for rank " + d.size());
                List<Dim> o = new ArrayList<>();
                for (int i = 0; i < d.size(); i++) o.add(d.get(i).isKnown() ? Dim.of(d.get(i).value() * r[i]) : r[i] == 1 ? d.get(i) : Dim.UNKNOWN);
                yield one(type(dt(n, 0), o));
            }
            case "GatherElements" -> one(type(dt(n, 0), dims(n, 1)));
            case "ScatterND", "ScatterElements", "Scatter" -> one(in(n, 0));
            case "GatherND" -> gatherNd(n);
            case "Range" -> range(n);
            case "TopK" -> topK(n, opset);
            case "Resize", "Upsample" -> resize(n, opset);
            case "NonZero" -> one(type(DType.INT64, dims(n, 0) == null ? null : List.of(Dim.of(dims(n, 0).size()), Dim.UNKNOWN)));
            case "OneHot" -> {
                List<Dim> idx = dims(n, 0);
                long[] depth = constInts(n, 1);
                if (idx == null) yield one(type(dt(n, 2), null));
                int r = idx.size() + 1;
                int a = axis(n, n.attrLong("axis", -1), r, this);
                List<Dim> o = new ArrayList<>(idx);
                o.add(a, depth != null && depth.length == 1 ? Dim.of(depth[0]) : Dim.UNKNOWN);
                yield one(type(dt(n, 2), o));
            }
            case "ArgMax", "ArgMin" -> {
                List<Dim> d = dims(n, 0);
                if (d == null) yield one(type(DType.INT64, null));
                int a = axis(n, n.attrLong("axis", 0), d.size(), this);
                List<Dim> o = new ArrayList<>(d);
                if (n.attrLong("keepdims", 1) != 0) o.set(a, Dim.of(1)); else o.remove(a);
                yield one(type(DType.INT64, o));
            }
            default -> null;
        };
    }

    private void propagateSame(Node n) {
        if (n.opType().equals("Identity") && values.containsKey(n.input(0))) values.put(n.output(0), values.get(n.input(0)));
    }

    /** Tracks integer arithmetic on known values (shape computations); x+0, x-0, x*1, x/1 keep a symbol. */
    private void arith(Node n, String op) {
        List<IntVal> ins = new ArrayList<>();
        for (String i : n.inputs()) {
            IntVal v = values.get(i);
            if (v == null) return;
            ins.add(v);
        }
        if (ins.isEmpty()) return;
        int len = 1;
        boolean scalar = true;
        for (IntVal v : ins) {
            scalar &= v.scalar();
            if (v.elems().size() != 1) {
                if (len != 1 && len != v.elems().size()) return;
                len = v.elems().size();
            }
        }
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < len; i++) {
            Dim acc = null;
            for (IntVal v : ins) {
                Dim x = v.elems().get(v.elems().size() == 1 ? 0 : i);
                acc = acc == null ? x : combine(op, acc, x);
            }
            out.add(acc);
        }
        values.put(n.output(0), new IntVal(out, scalar));
    }

    private static Dim combine(String op, Dim a, Dim b) {
        boolean an = numeric(a), bn = numeric(b);
        if (an && bn) {
            long x = a.value(), y = b.value();
            return switch (op) {
                case "Add", "Sum" -> new Dim(x + y, null);
                case "Sub" -> new Dim(x - y, null);
                case "Mul" -> new Dim(x * y, null);
                case "Div" -> y == 0 ? UNK : new Dim(Math.floorDiv(x, y), null);
                default -> UNK;
            };
        }
        long identity = op.equals("Mul") || op.equals("Div") ? 1 : 0;
        if (bn && b.value() == identity && !op.equals("Sum")) return a;
        if (bn && b.value() == identity) return a;
        if (an && a.value() == identity && (op.equals("Add") || op.equals("Sum") || op.equals("Mul"))) return b;
        return UNK;
    }

    private TensorType[] microsoft(Node n, String op) {
        return switch (op) {
            case "QLinearAdd", "QLinearMul" -> one(type(n.hasInput(7) ? dt(n, 7) : dt(n, 0),
                    broadcast(n, List.of(dims(n, 0), dims(n, 3)))));
            case "QLinearGlobalAveragePool" -> one(type(dt(n, 0), global(n, dims(n, 0), n.attrLong("channels_last", 0) != 0)));
            case "QLinearSigmoid", "QLinearLeakyRelu" -> one(type(dt(n, 0), dims(n, 0)));
            case "Gelu", "FastGelu", "BiasGelu" -> one(in(n, 0));
            case "MatMulNBits" -> {
                List<Dim> a = dims(n, 0);
                if (a == null || a.isEmpty()) yield one(type(dt(n, 0), null));
                List<Dim> o = new ArrayList<>(a.subList(0, a.size() - 1));
                o.add(Dim.of(n.attrLong("N", -1)));
                yield one(type(dt(n, 0), o));
            }
            default -> null;
        };
    }

    private TensorType[] gatherNd(Node n) {
        List<Dim> x = dims(n, 0), idx = dims(n, 1);
        if (x == null || idx == null || idx.isEmpty() || !idx.get(idx.size() - 1).isKnown()) return one(type(dt(n, 0), null));
        int b = (int) n.attrLong("batch_dims", 0);
        long last = idx.get(idx.size() - 1).value();
        if (b + last > x.size()) throw err(n, "indices address " + (b + last) + " dims of a rank-" + x.size() + " input");
        List<Dim> o = new ArrayList<>(idx.subList(0, idx.size() - 1));
        o.addAll(x.subList((int) (b + last), x.size()));
        return one(type(dt(n, 0), o));
    }

    private TensorType[] range(Node n) {
        DType dt = dt(n, 0);
        Tensor[] c = new Tensor[3];
        for (int i = 0; i < 3; i++) {
            c[i] = g.initializers().get(n.input(i));
            if (c[i] == null || c[i].size() != 1) {
                IntVal v = values.get(n.input(i));
                if (v == null || !v.allNumeric() || v.elems().size() != 1) return one(type(dt, List.of(Dim.UNKNOWN)));
                c[i] = Tensor.scalar(v.longs()[0]);
            }
        }
        double start = c[0].getDouble(0), limit = c[1].getDouble(0), delta = c[2].getDouble(0);
        if (delta == 0) throw err(n, "delta is 0");
        long count = (long) Math.max(0, Math.ceil((limit - start) / delta));
        return one(type(dt, List.of(Dim.of(count))));
    }

    private TensorType[] topK(Node n, int opset) {
        List<Dim> x = dims(n, 0);
        if (x == null) return new TensorType[] {type(dt(n, 0), null), type(DType.INT64, null)};
        int a = axis(n, n.attrLong("axis", -1), x.size(), this);
        long[] k = opset >= 10 ? constInts(n, 1) : new long[] {n.attrLong("k", -1)};
        List<Dim> o = new ArrayList<>(x);
        o.set(a, k != null && k.length == 1 && k[0] >= 0 ? Dim.of(k[0]) : Dim.UNKNOWN);
        if (k != null && k.length == 1 && x.get(a).isKnown() && k[0] > x.get(a).value()) {
            throw err(n, "k = " + k[0] + " exceeds axis size " + x.get(a).value());
        }
        return new TensorType[] {type(dt(n, 0), o), type(DType.INT64, o)};
    }

    private TensorType[] resize(Node n, int opset) {
        List<Dim> x = dims(n, 0);
        DType dt = dt(n, 0);
        if (x == null) return one(type(dt, null));
        float[] scales = null;
        long[] sizes = null;
        if (n.opType().equals("Upsample") && opset < 9) {
            scales = n.attrFloats("scales", null);
        } else {
            int si = n.opType().equals("Upsample") ? 1 : opset >= 11 ? 2 : 1;
            Tensor st = g.initializers().get(n.input(si));
            if (st != null && st.size() > 0) scales = st.toFloatArray();
            if (n.opType().equals("Resize") && opset >= 11 && n.hasInput(3)) sizes = constInts(n, 3);
        }
        long[] axes = n.attrLongs("axes", null);
        List<Dim> o = new ArrayList<>(x);
        int count = sizes != null ? sizes.length : scales != null ? scales.length : -1;
        if (count < 0) return one(type(dt, unknownDims(x.size())));
        if (axes == null && count != x.size()) throw err(n, (sizes != null ? "sizes" : "scales") + " has " + count + " values for rank " + x.size());
        for (int i = 0; i < count; i++) {
            int a = axes == null ? i : axis(n, axes[i], x.size(), this);
            if (sizes != null && !n.attrString("keep_aspect_ratio_policy", "stretch").equals("stretch")) o.set(a, Dim.UNKNOWN);
            else if (sizes != null) o.set(a, Dim.of(sizes[i]));
            else if (x.get(a).isKnown()) o.set(a, Dim.of((long) Math.floor(x.get(a).value() * (double) scales[i])));
            else if (scales[i] != 1f) o.set(a, Dim.UNKNOWN);
        }
        return one(type(dt, o));
    }

    private TensorType[] reduce(Node n, String op, int opset) {
        DType dt = dt(n, 0);
        List<Dim> d = dims(n, 0);
        if (d == null) return one(type(dt, null));
        boolean axesInput = opset >= 18 || (op.equals("ReduceSum") && opset >= 13);
        long[] axes;
        if (axesInput) {
            if (n.hasInput(1)) {
                axes = constInts(n, 1);
                if (axes == null) {
                    return one(type(dt, n.attrLong("keepdims", 1) != 0 ? unknownDims(d.size()) : null));
                }
            } else axes = null;
        } else axes = n.attrLongs("axes", null);
        if (axes != null && axes.length == 0) axes = null;
        if (axes == null && n.attrLong("noop_with_empty_axes", 0) != 0) return one(in(n, 0));
        boolean keep = n.attrLong("keepdims", 1) != 0;
        boolean[] red = new boolean[d.size()];
        if (axes == null) Arrays.fill(red, true);
        else for (long a : axes) red[axis(n, a, d.size(), this)] = true;
        List<Dim> o = new ArrayList<>();
        for (int i = 0; i < d.size(); i++) {
            if (!red[i]) o.add(d.get(i));
            else if (keep) o.add(Dim.of(1));
        }
        return one(type(dt, o));
    }

    private TensorType[] batchNorm(Node n) {
        List<Dim> d = dims(n, 0);
        if (d != null && d.size() < 2) throw err(n, "input must have rank >= 2, has " + d.size());
        for (int i = 1; i <= 4 && d != null; i++) {
            List<Dim> p = dims(n, i);
            if (p != null && n.hasInput(i)) {
                if (p.size() != 1) throw err(n, "input " + i + " must be 1-D, has rank " + p.size());
                same(n, d.get(1), p.get(0), "channel count");
            }
        }
        TensorType[] out = new TensorType[n.outputs().size()];
        out[0] = in(n, 0);
        for (int i = 1; i < out.length; i++) out[i] = type(dt(n, 1), d == null ? null : List.of(d.get(1)));
        return out;
    }

    private TensorType[] layerNorm(Node n) {
        List<Dim> d = dims(n, 0);
        TensorType[] out = new TensorType[n.outputs().size()];
        out[0] = in(n, 0);
        if (out.length > 1) {
            List<Dim> s = null;
            if (d != null) {
                int a = axis(n, n.attrLong("axis", -1), d.size(), this);
                s = new ArrayList<>(d);
                for (int i = a; i < s.size(); i++) s.set(i, Dim.of(1));
            }
            DType st = DType.fromOnnx((int) n.attrLong("stash_type", 1));
            for (int i = 1; i < out.length; i++) out[i] = type(st, s);
        }
        return out;
    }

    /** Output spatial size of a sliding window. */
    private static long window(long in, long k, long s, long d, long padBegin, long padEnd, boolean ceil) {
        long eff = (k - 1) * d + 1;
        long num = in + padBegin + padEnd - eff;
        if (num < 0) return -2;
        long out = ceil ? Math.floorDiv(num + s - 1, s) + 1 : Math.floorDiv(num, s) + 1;
        if (ceil && (out - 1) * s >= in + padBegin) out--;
        return out;
    }

    private List<Dim> conv(Node n, List<Dim> x, List<Dim> w, boolean transpose) {
        if (x == null) return null;
        int sp = x.size() - 2;
        if (sp < 1) throw err(n, "input must have rank >= 3, has " + x.size());
        if (w != null && w.size() != x.size()) {
            throw err(n, "weight rank " + w.size() + " does not match input rank " + x.size());
        }
        long group = n.attrLong("group", 1);
        long[] k = n.attrLongs("kernel_shape", null);
        if (k == null && w != null) {
            k = new long[sp];
            for (int i = 0; i < sp; i++) k[i] = w.get(i + 2).isKnown() ? w.get(i + 2).value() : -1;
        }
        Dim channels;
        if (w == null) channels = Dim.UNKNOWN;
        else if (!transpose) {
            channels = w.get(0);
            if (x.get(1).isKnown() && w.get(1).isKnown() && x.get(1).value() != w.get(1).value() * group) {
                throw err(n, "input has " + x.get(1).value() + " channels, weight expects " + w.get(1).value() * group);
            }
        } else {
            channels = w.get(1).isKnown() ? Dim.of(w.get(1).value() * group) : Dim.UNKNOWN;
            if (x.get(1).isKnown() && w.get(0).isKnown() && x.get(1).value() != w.get(0).value()) {
                throw err(n, "input has " + x.get(1).value() + " channels, weight expects " + w.get(0).value());
            }
        }
        List<Dim> out = new ArrayList<>();
        out.add(x.get(0));
        out.add(channels);
        if (k == null) {
            for (int i = 0; i < sp; i++) out.add(Dim.UNKNOWN);
            return out;
        }
        spatial(n, x, k, transpose, false, out);
        return out;
    }

    private List<Dim> pool(Node n, List<Dim> x) {
        if (x == null) return null;
        int sp = x.size() - 2;
        if (sp < 1) throw err(n, "input must have rank >= 3, has " + x.size());
        long[] k = n.attrLongs("kernel_shape", null);
        if (k == null) throw err(n, "kernel_shape is required");
        List<Dim> out = new ArrayList<>();
        out.add(x.get(0));
        out.add(x.get(1));
        spatial(n, x, k, false, n.attrLong("ceil_mode", 0) != 0, out);
        return out;
    }

    private void spatial(Node n, List<Dim> x, long[] k, boolean transpose, boolean ceil, List<Dim> out) {
        int sp = x.size() - 2;
        if (k.length != sp) throw err(n, "kernel has " + k.length + " spatial dims, input has " + sp);
        long[] s = n.attrLongs("strides", null);
        long[] d = n.attrLongs("dilations", null);
        long[] p = n.attrLongs("pads", null);
        if (s == null) { s = new long[sp]; Arrays.fill(s, 1); }
        if (d == null) { d = new long[sp]; Arrays.fill(d, 1); }
        if (p == null) p = new long[2 * sp];
        if (s.length != sp || d.length != sp || p.length != 2 * sp) throw err(n, "strides/dilations/pads do not match " + sp + " spatial dims");
        for (long v : s) if (v <= 0) throw err(n, "strides must be positive");
        String autoPad = n.attrString("auto_pad", "NOTSET");
        if (transpose) {
            long[] os = n.attrLongs("output_shape", null);
            long[] op = n.attrLongs("output_padding", new long[sp]);
            for (int i = 0; i < sp; i++) {
                if (os != null) { out.add(Dim.of(os[os.length - sp + i])); continue; }
                Dim xi = x.get(i + 2);
                if (!xi.isKnown() || k[i] < 0) { out.add(Dim.UNKNOWN); continue; }
                long eff = (k[i] - 1) * d[i] + 1;
                long o;
                if (autoPad.equals("SAME_UPPER") || autoPad.equals("SAME_LOWER")) o = xi.value() * s[i];
                else if (autoPad.equals("VALID")) o = s[i] * (xi.value() - 1) + op[i] + eff;
                else o = s[i] * (xi.value() - 1) + op[i] + eff - p[i] - p[i + sp];
                out.add(Dim.of(o));
            }
            return;
        }
        for (int i = 0; i < sp; i++) {
            Dim xi = x.get(i + 2);
            if (!xi.isKnown() || k[i] < 0) { out.add(Dim.UNKNOWN); continue; }
            long o;
            switch (autoPad) {
                case "SAME_UPPER", "SAME_LOWER" -> o = Math.floorDiv(xi.value() + s[i] - 1, s[i]);
                case "VALID" -> o = window(xi.value(), k[i], s[i], d[i], 0, 0, ceil);
                default -> o = window(xi.value(), k[i], s[i], d[i], p[i], p[i + sp], ceil);
            }
            if (o < 0) throw err(n, "kernel " + k[i] + " (dilation " + d[i] + ") is larger than padded input " + xi.value());
            out.add(Dim.of(o));
        }
    }

    private List<Dim> global(Node n, List<Dim> x, boolean channelsLast) {
        if (x == null) return null;
        if (x.size() < 3) throw err(n, "input must have rank >= 3, has " + x.size());
        List<Dim> o = new ArrayList<>();
        o.add(x.get(0));
        if (!channelsLast) o.add(x.get(1));
        for (int i = 2; i < x.size(); i++) o.add(Dim.of(1));
        if (channelsLast) o.add(x.get(x.size() - 1));
        return o;
    }

    private List<Dim> matmul(Node n, List<Dim> a, List<Dim> b) {
        if (a == null || b == null) return null;
        if (a.isEmpty() || b.isEmpty()) throw err(n, "MatMul inputs must have rank >= 1");
        boolean a1 = a.size() == 1, b1 = b.size() == 1;
        List<Dim> aa = a1 ? List.of(Dim.of(1), a.get(0)) : a;
        List<Dim> bb = b1 ? List.of(b.get(0), Dim.of(1)) : b;
        Dim ka = aa.get(aa.size() - 1), kb = bb.get(bb.size() - 2);
        same(n, ka, kb, "inner dimensions differ");
        List<Dim> batch = broadcast(n, List.of(aa.subList(0, aa.size() - 2), bb.subList(0, bb.size() - 2)));
        List<Dim> o = new ArrayList<>(batch);
        if (!a1) o.add(aa.get(aa.size() - 2));
        if (!b1) o.add(bb.get(bb.size() - 1));
        return o;
    }

    private TensorType[] gemm(Node n) {
        List<Dim> a = dims(n, 0), b = dims(n, 1);
        if (a == null || b == null) return one(type(dt(n, 0), a == null && b == null ? null : unknownDims(2)));
        if (a.size() != 2 || b.size() != 2) throw err(n, "Gemm inputs must be 2-D, got ranks " + a.size() + " and " + b.size());
        boolean ta = n.attrLong("transA", 0) != 0, tb = n.attrLong("transB", 0) != 0;
        Dim m = a.get(ta ? 1 : 0), ka = a.get(ta ? 0 : 1);
        Dim kb = b.get(tb ? 1 : 0), nn = b.get(tb ? 0 : 1);
        same(n, ka, kb, "inner dimensions differ");
        return one(type(dt(n, 0), List.of(m, nn)));
    }

    private TensorType[] reshape(Node n, int opset) {
        List<Dim> x = dims(n, 0);
        List<Dim> target;
        if (opset < 5) {
            long[] s = n.attrLongs("shape", null);
            if (s == null) return one(type(dt(n, 0), null));
            target = new ArrayList<>();
            for (long v : s) target.add(new Dim(v, null));
        } else {
            IntVal v = values.get(n.input(1));
            if (v == null) {
                List<Dim> sd = dims(n, 1);
                if (sd != null && sd.size() == 1 && sd.get(0).isKnown()) return one(type(dt(n, 0), unknownDims((int) sd.get(0).value())));
                return one(type(dt(n, 0), null));
            }
            target = v.elems();
        }
        boolean allowZero = n.attrLong("allowzero", 0) != 0;
        List<Dim> o = new ArrayList<>();
        int minusOne = -1;
        for (int i = 0; i < target.size(); i++) {
            Dim t = target.get(i);
            if (t == UNK || t.equals(UNK)) {
                o.add(Dim.UNKNOWN);
            } else if (t.symbol() == null && t.value() == 0 && !allowZero) {
                if (x == null) o.add(Dim.UNKNOWN);
                else if (i >= x.size()) throw err(n, "shape copies dimension " + i + " of a rank-" + x.size() + " input");
                else o.add(x.get(i));
            } else if (t.symbol() == null && t.value() == -1) {
                if (minusOne >= 0) throw err(n, "shape has more than one -1");
                minusOne = i;
                o.add(Dim.UNKNOWN);
            } else if (t.symbol() == null && t.value() < -1) {
                throw err(n, "shape has invalid value " + t.value());
            } else o.add(t);
        }
        if (minusOne >= 0 && o.stream().filter(d -> !d.isKnown() && d.symbol() == null).count() > 1) {
            return one(type(dt(n, 0), o)); // other unknown dims: the -1 cannot be resolved
        }
        if (minusOne >= 0 && x != null) {
            long total = prod(x, 0, x.size());
            long rest = 1;
            boolean known = true;
            for (int i = 0; i < o.size(); i++) {
                if (i == minusOne) continue;
                if (!o.get(i).isKnown()) known = false; else rest *= o.get(i).value();
            }
            if (total >= 0 && known) {
                if (rest == 0 || total % rest != 0) throw err(n, "cannot reshape " + total + " elements to " + target);
                o.set(minusOne, Dim.of(total / rest));
            } else {
                // symbolic: equal symbols on both sides cancel; one symbol left on the input side is the -1
                List<Dim> xs = new ArrayList<>(x);
                List<Dim> os = new ArrayList<>(o);
                os.remove(minusOne);
                for (Dim od : new ArrayList<>(os)) {
                    if (od.symbol() != null && xs.remove(od)) os.remove(od);
                }
                List<Dim> sym = xs.stream().filter(d -> !d.isKnown()).toList();
                List<Dim> fixed = xs.stream().filter(Dim::isKnown).toList();
                if (os.stream().allMatch(Dim::isKnown)) {
                    long a = prod(fixed, 0, fixed.size()), b = prod(os, 0, os.size());
                    if (sym.isEmpty() && b > 0 && a % b == 0) o.set(minusOne, Dim.of(a / b));
                    else if (sym.size() == 1 && sym.get(0).symbol() != null && a == b) o.set(minusOne, sym.get(0));
                }
            }
        } else if (x != null) {
            long total = prod(x, 0, x.size()), to = prod(o, 0, o.size());
            if (total >= 0 && to >= 0 && total != to) throw err(n, "cannot reshape " + total + " elements to " + o);
        }
        return one(type(dt(n, 0), o));
    }

    private TensorType[] flatten(Node n) {
        List<Dim> x = dims(n, 0);
        if (x == null) return one(type(dt(n, 0), unknownDims(2)));
        long a = n.attrLong("axis", 1);
        if (a < 0) a += x.size();
        if (a < 0 || a > x.size()) throw err(n, "axis " + n.attrLong("axis", 1) + " is out of range for rank " + x.size());
        long p0 = prod(x, 0, (int) a), p1 = prod(x, (int) a, x.size());
        Dim d0 = p0 >= 0 ? Dim.of(p0) : (a == 1 ? x.get(0) : Dim.UNKNOWN);
        Dim d1 = p1 >= 0 ? Dim.of(p1) : (a == x.size() - 1 ? x.get(x.size() - 1) : Dim.UNKNOWN);
        return one(type(dt(n, 0), List.of(d0, d1)));
    }

    private TensorType[] transpose(Node n) {
        List<Dim> x = dims(n, 0);
        if (x == null) return one(type(dt(n, 0), null));
        long[] perm = n.attrLongs("perm", null);
        if (perm == null) {
            perm = new long[x.size()];
            for (int i = 0; i < perm.length; i++) perm[i] = perm.length - 1 - i;
        }
        if (perm.length != x.size()) throw err(n, "perm has " + perm.length + " entries for rank " + x.size());
        List<Dim> o = new ArrayList<>();
        boolean[] seen = new boolean[x.size()];
        for (long p : perm) {
            int a = axis(n, p, x.size(), this);
            if (seen[a]) throw err(n, "perm repeats axis " + a);
            seen[a] = true;
            o.add(x.get(a));
        }
        return one(type(dt(n, 0), o));
    }

    private TensorType[] concat(Node n) {
        DType dt = null;
        List<Dim> o = null;
        int rank = -1;
        for (int i = 0; i < n.inputs().size(); i++) {
            if (!n.hasInput(i)) continue;
            TensorType t = in(n, i);
            if (dt == null) dt = t.dtype();
            if (t.dims() == null) continue;
            if (rank >= 0 && t.dims().size() != rank) {
                throw err(n, "inputs have different ranks (" + rank + " and " + t.dims().size() + ")");
            }
            rank = t.dims().size();
        }
        if (rank < 0) return one(type(dt, null));
        int a = axis(n, n.attrLong("axis", 0), rank, this);
        long sum = 0;
        boolean known = true;
        for (int i = 0; i < n.inputs().size(); i++) {
            if (!n.hasInput(i)) continue;
            List<Dim> d = dims(n, i);
            if (d == null) { known = false; continue; }
            if (o == null) o = new ArrayList<>(d);
            else for (int j = 0; j < rank; j++) if (j != a) o.set(j, same(n, o.get(j), d.get(j), "dimension " + j + " differs"));
            if (d.get(a).isKnown()) sum += d.get(a).value(); else known = false;
        }
        if (o == null) o = unknownDims(rank);
        o.set(a, known ? Dim.of(sum) : Dim.UNKNOWN);
        if (rank == 1 && a == 0) {
            List<Dim> vals = new ArrayList<>();
            boolean ok = true;
            for (String i : n.inputs()) {
                IntVal v = values.get(i);
                if (v == null) { ok = false; break; }
                vals.addAll(v.elems());
            }
            if (ok) values.put(n.output(0), new IntVal(vals, false));
        }
        return one(type(dt, o));
    }

    private TensorType[] split(Node n, int opset) {
        int k = n.outputs().size();
        TensorType[] out = new TensorType[k];
        List<Dim> x = dims(n, 0);
        DType dt = dt(n, 0);
        if (x == null) { Arrays.fill(out, type(dt, null)); return out; }
        int a = axis(n, n.attrLong("axis", 0), x.size(), this);
        long[] sizes = opset >= 13 ? (n.hasInput(1) ? constInts(n, 1) : null) : n.attrLongs("split", null);
        boolean haveSizes = sizes != null || (opset >= 13 && !n.hasInput(1)) || (opset < 13 && !n.hasAttr("split"));
        if (sizes == null && haveSizes && x.get(a).isKnown()) {
            long total = x.get(a).value();
            long parts = n.hasAttr("num_outputs") ? n.attrLong("num_outputs", k) : k;
            if (parts <= 0) throw err(n, "num_outputs must be positive");
            long chunk = (total + parts - 1) / parts;
            sizes = new long[k];
            long left = total;
            for (int i = 0; i < k; i++) { sizes[i] = Math.min(chunk, Math.max(left, 0)); left -= sizes[i]; }
            if (!n.hasAttr("num_outputs") && total % k != 0) throw err(n, "cannot split " + total + " evenly into " + k + " outputs");
        }
        if (sizes != null && sizes.length != k) throw err(n, "split has " + sizes.length + " sizes for " + k + " outputs");
        if (sizes != null && x.get(a).isKnown()) {
            long s = 0;
            for (long v : sizes) s += v;
            if (s != x.get(a).value()) throw err(n, "split sizes sum to " + s + ", axis has " + x.get(a).value());
        }
        for (int i = 0; i < k; i++) {
            List<Dim> o = new ArrayList<>(x);
            o.set(a, sizes == null ? Dim.UNKNOWN : Dim.of(sizes[i]));
            out[i] = type(dt, o);
        }
        return out;
    }

    private TensorType[] slice(Node n, int opset) {
        List<Dim> x = dims(n, 0);
        DType dt = dt(n, 0);
        if (x == null) return one(type(dt, null));
        long[] starts, ends, axes, steps;
        if (opset < 10) {
            starts = n.attrLongs("starts", null);
            ends = n.attrLongs("ends", null);
            axes = n.attrLongs("axes", null);
            steps = null;
        } else {
            starts = constInts(n, 1);
            ends = constInts(n, 2);
            axes = n.hasInput(3) ? constInts(n, 3) : null;
            steps = n.hasInput(4) ? constInts(n, 4) : null;
            if ((n.hasInput(3) && axes == null) || (n.hasInput(4) && steps == null)) starts = null;
        }
        IntVal endVal = opset >= 10 ? values.get(n.input(2)) : null;
        if (starts != null && ends == null && endVal != null && endVal.elems().size() == 1
                && endVal.elems().get(0).symbol() != null && starts.length == 1 && starts[0] == 0
                && (steps == null || steps[0] == 1)) {
            // x[0:n] along one axis with n a symbolic size: the result has that size (as ONNX data propagation)
            List<Dim> o = new ArrayList<>(x);
            o.set(axes == null ? 0 : axis(n, axes[0], x.size(), this), endVal.elems().get(0));
            return one(type(dt, o));
        }
        if (starts == null || ends == null) {
            List<Dim> o = new ArrayList<>(x);
            if (axes != null) for (long a : axes) o.set(axis(n, a, x.size(), this), Dim.UNKNOWN);
            else o = unknownDims(x.size());
            return one(type(dt, o));
        }
        if (starts.length != ends.length) throw err(n, "starts and ends have different lengths");
        if (axes == null) { axes = new long[starts.length]; for (int i = 0; i < axes.length; i++) axes[i] = i; }
        if (steps == null) { steps = new long[starts.length]; Arrays.fill(steps, 1); }
        if (axes.length != starts.length || steps.length != starts.length) throw err(n, "axes/steps length differs from starts");
        List<Dim> o = new ArrayList<>(x);
        int[] ax = new int[axes.length];
        long[][] ranges = new long[axes.length][];
        for (int i = 0; i < axes.length; i++) {
            int a = axis(n, axes[i], x.size(), this);
            ax[i] = a;
            if (steps[i] == 0) throw err(n, "slice step is 0");
            Dim d = x.get(a);
            if (!d.isKnown()) { o.set(a, Dim.UNKNOWN); continue; }
            long len = d.value();
            long st = steps[i];
            long s = starts[i] < 0 ? starts[i] + len : starts[i];
            long e = ends[i] < 0 ? ends[i] + len : ends[i];
            long cnt;
            if (st > 0) {
                s = Math.max(0, Math.min(s, len));
                e = Math.max(0, Math.min(e, len));
                cnt = e > s ? (e - s + st - 1) / st : 0;
            } else {
                s = Math.max(-1, Math.min(s, len - 1));
                e = Math.max(-1, Math.min(e, len - 1));
                cnt = s > e ? (s - e + (-st) - 1) / (-st) : 0;
            }
            ranges[i] = new long[] {s, st, cnt};
            o.set(a, Dim.of(cnt));
        }
        IntVal v = values.get(n.input(0));
        if (v != null && !v.scalar() && axes.length == 1 && ranges[0] != null) {
            List<Dim> vals = new ArrayList<>();
            for (long j = 0, p = ranges[0][0]; j < ranges[0][2]; j++, p += ranges[0][1]) vals.add(v.elems().get((int) p));
            values.put(n.output(0), new IntVal(vals, false));
        }
        return one(type(dt, o));
    }

    private TensorType[] gather(Node n) {
        List<Dim> x = dims(n, 0), idx = dims(n, 1);
        DType dt = dt(n, 0);
        if (x == null || idx == null) return one(type(dt, null));
        if (x.isEmpty()) throw err(n, "data must have rank >= 1");
        int a = axis(n, n.attrLong("axis", 0), x.size(), this);
        List<Dim> o = new ArrayList<>(x.subList(0, a));
        o.addAll(idx);
        o.addAll(x.subList(a + 1, x.size()));
        IntVal v = values.get(n.input(0));
        long[] ix = constInts(n, 1);
        if (v != null && !v.scalar() && ix != null && a == 0) {
            List<Dim> vals = new ArrayList<>();
            int len = v.elems().size();
            for (long i : ix) {
                long j = i < 0 ? i + len : i;
                if (j < 0 || j >= len) throw err(n, "index " + i + " is out of range for size " + len);
                vals.add(v.elems().get((int) j));
            }
            values.put(n.output(0), new IntVal(vals, idx.isEmpty()));
        }
        return one(type(dt, o));
    }

    private long[] axesOf(Node n, int opset) {
        return opset >= 13 ? (n.hasInput(1) ? constInts(n, 1) : null) : n.attrLongs("axes", null);
    }

    private TensorType[] squeeze(Node n, int opset) {
        List<Dim> x = dims(n, 0);
        DType dt = dt(n, 0);
        if (x == null) return one(type(dt, null));
        long[] axes = axesOf(n, opset);
        if (axes == null && opset >= 13 && n.hasInput(1)) return one(type(dt, null));
        List<Dim> o = new ArrayList<>();
        if (axes == null) {
            for (Dim d : x) {
                if (!d.isKnown()) return one(type(dt, null));
                if (d.value() != 1) o.add(d);
            }
        } else {
            boolean[] drop = new boolean[x.size()];
            for (long a : axes) {
                int i = axis(n, a, x.size(), this);
                if (x.get(i).isKnown() && x.get(i).value() != 1) throw err(n, "cannot squeeze axis " + i + " of size " + x.get(i).value());
                drop[i] = true;
            }
            for (int i = 0; i < x.size(); i++) if (!drop[i]) o.add(x.get(i));
        }
        IntVal v = values.get(n.input(0));
        if (v != null && v.elems().size() == 1 && o.isEmpty()) values.put(n.output(0), new IntVal(v.elems(), true));
        return one(type(dt, o));
    }

    private TensorType[] unsqueeze(Node n, int opset) {
        List<Dim> x = dims(n, 0);
        DType dt = dt(n, 0);
        long[] axes = axesOf(n, opset);
        if (x == null) return one(type(dt, null));
        if (axes == null) {
            List<Dim> ad = dims(n, 1);
            if (ad != null && ad.size() == 1 && ad.get(0).isKnown()) return one(type(dt, unknownDims(x.size() + (int) ad.get(0).value())));
            return one(type(dt, null));
        }
        int r = x.size() + axes.length;
        boolean[] ins = new boolean[r];
        for (long a : axes) {
            int i = axis(n, a, r, this);
            if (ins[i]) throw err(n, "axes repeat " + i);
            ins[i] = true;
        }
        List<Dim> o = new ArrayList<>();
        int j = 0;
        for (int i = 0; i < r; i++) o.add(ins[i] ? Dim.of(1) : x.get(j++));
        IntVal v = values.get(n.input(0));
        if (v != null && v.scalar() && r == 1) values.put(n.output(0), new IntVal(v.elems(), false));
        return one(type(dt, o));
    }

    private TensorType[] shape(Node n) {
        List<Dim> x = dims(n, 0);
        if (x == null) return one(type(DType.INT64, unknownDims(1)));
        int r = x.size();
        long start = n.attrLong("start", 0), end = n.attrLong("end", r);
        if (start < 0) start += r;
        if (end < 0) end += r;
        start = Math.max(0, Math.min(start, r));
        end = Math.max(start, Math.min(end, r));
        List<Dim> vals = x.subList((int) start, (int) end).stream().map(ShapeInference::fromDim).toList();
        values.put(n.output(0), new IntVal(vals, false));
        return one(TensorType.of(DType.INT64, end - start));
    }

    private TensorType[] constant(Node n) {
        Tensor t = null;
        if (n.hasAttr("value")) t = n.attr("value").asTensor();
        else if (n.hasAttr("value_float")) t = Tensor.scalar(n.attrFloat("value_float", 0));
        else if (n.hasAttr("value_floats")) { float[] f = n.attrFloats("value_floats", null); t = Tensor.of(f, f.length); }
        else if (n.hasAttr("value_int")) t = Tensor.scalar(n.attrLong("value_int", 0));
        else if (n.hasAttr("value_ints")) { long[] l = n.attrLongs("value_ints", null); t = Tensor.of(l, l.length); }
        else if (n.hasAttr("value_string")) return one(TensorType.of(DType.STRING));
        else if (n.hasAttr("value_strings")) return one(TensorType.of(DType.STRING, n.attr("value_strings").asStrings().size()));
        if (t == null) throw err(n, "Constant has no value attribute");
        track(n.output(0), t);
        return one(t.type());
    }

    private TensorType[] constantOfShape(Node n) {
        DType dt = n.hasAttr("value") ? n.attr("value").asTensor().dtype() : DType.FLOAT32;
        IntVal v = values.get(n.input(0));
        if (v != null) {
            for (Dim d : v.elems()) if (numeric(d) && d.value() < 0) throw err(n, "negative dimension " + d.value());
            return one(type(dt, v.dims()));
        }
        List<Dim> sd = dims(n, 0);
        if (sd != null && sd.size() == 1 && sd.get(0).isKnown()) return one(type(dt, unknownDims((int) sd.get(0).value())));
        return one(type(dt, null));
    }

    private TensorType[] pad(Node n, int opset) {
        List<Dim> x = dims(n, 0);
        DType dt = dt(n, 0);
        if (x == null) return one(type(dt, null));
        long[] pads = opset < 11 ? n.attrLongs("pads", n.attrLongs("paddings", null)) : constInts(n, 1);
        if (pads == null) return one(type(dt, unknownDims(x.size())));
        int[] axes;
        if (opset >= 18 && n.hasInput(3)) {
            long[] a = constInts(n, 3);
            if (a == null) return one(type(dt, unknownDims(x.size())));
            axes = new int[a.length];
            for (int i = 0; i < a.length; i++) axes[i] = axis(n, a[i], x.size(), this);
        } else {
            axes = new int[x.size()];
            for (int i = 0; i < axes.length; i++) axes[i] = i;
        }
        if (pads.length != 2 * axes.length) throw err(n, "pads has " + pads.length + " values for " + axes.length + " axes");
        List<Dim> o = new ArrayList<>(x);
        for (int i = 0; i < axes.length; i++) {
            Dim d = x.get(axes[i]);
            long add = pads[i] + pads[i + axes.length];
            if (add == 0) continue;
            if (!d.isKnown()) { o.set(axes[i], Dim.UNKNOWN); continue; }
            long v = d.value() + add;
            if (v < 0) throw err(n, "pads make axis " + axes[i] + " negative");
            o.set(axes[i], Dim.of(v));
        }
        return one(type(dt, o));
    }
}
