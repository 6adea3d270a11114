package io.condense.passes;

import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Half;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.ShapeInference;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Converts a model's float32 computation to float16 or bfloat16: float32 initializers and Constant values become
 * the target type (out-of-range values clamped to its largest finite value), nodes that compute in float32 compute
 * in the target type, and float32 <em>islands</em> stay where low precision hurts: the decomposed LayerNorm chain
 * (ReduceMean, Sub, Pow, ReduceMean, Add eps, Sqrt, Div, whose eps underflows and whose squares overflow float16),
 * integer accumulators turned into floats (the Cast of a MatMulInteger/ConvInteger output and its rescaling Mul: int32
 * sums overflow float16), the ops of {@link Config#keepOps} and the nodes of {@link Config#keepNodes}. Cast nodes are inserted at island
 * borders and, by default, at the float32 graph inputs and outputs (which keep their float32 types); each value is
 * cast at most once per type, and Cast pairs that cancel (a widening Cast followed by the narrowing one back) are
 * removed, as are Casts that became no-ops.
 *
 * <p>Attributes that carry a float32 element type are rewritten in converted nodes: Cast {@code to},
 * ConstantOfShape {@code value} (also its float32 zero default), EyeLike/RandomNormal(Like)/RandomUniform(Like)/
 * Bernoulli {@code dtype}, the window functions' and MelWeightMatrix's {@code output_datatype}, Constant values.
 *
 * <p>QDQ models: QuantizeLinear/DequantizeLinear are converted like other nodes, so their scales become float16
 * and DequantizeLinear's output type follows its scale (a QuantizeLinear whose input stays float32 anyway, e.g. one
 * reading a float32 graph input, stays float32; ONNX allows float16/bfloat16 scales from opset 19: a QDQ
 * model below 19 is first raised to opset 21 by {@link OpsetConversion}). Integer-only parts are left alone; ops
 * whose float inputs are float32 by definition (DynamicQuantizeLinear, QLinearConv, QLinearMatMul, the
 * com.microsoft domain, control flow) stay float32 with Casts around them; values that subgraphs read keep their
 * float32 type. Only float32 values change: float64 and existing float16 parts stay as they are. A model below
 * opset 7 (Cast's {@code to} was a string) is raised to 13 first, as is a model converted to bfloat16 below 13; in
 * bfloat16 below opset 22 the ops that take bfloat16 only from 22 (Conv, pooling, ...: {@link #BF16_FROM_22}) stay float32.
 *
 * <p>Measured (FloatConversionMiniLmTest, 300 held-out Brown sentences, ONNX Runtime): all-MiniLM-L6-v2 in fp16 is
 * 1.996x smaller with mean cosine 0.999999 of mean-pooled embeddings to float32 (also without the LayerNorm islands
 * and with a float32 Softmax: no digit changes, so Softmax is not kept by default; the LayerNorm islands keep the
 * 1e-12 epsilon, which float16 flushes to 0); bf16 0.99992 on the condense CPU backend (ONNX Runtime's CPU provider
 * has no bfloat16 kernels).
 */
public final class FloatConversion implements GraphPass {
    /** The low-precision type. */
    public enum Target {
        FP16(DType.FLOAT16), BF16(DType.BFLOAT16);

        private final DType dtype;

        Target(DType d) { dtype = d; }

        public DType dtype() { return dtype; }

        public String cliName() { return name().toLowerCase(Locale.ROOT); }

        public static Target parse(String s) {
            String k = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
            return switch (k) {
                case "fp16", "float16", "half" -> FP16;
                case "bf16", "bfloat16" -> BF16;
                default -> throw new ModelException("unknown float target '" + s + "' (fp16, bf16)");
            };
        }
    }

    /**
     * Op types kept in float32 by default: the random generators (ONNX Runtime has no float16 kernels for them; a
     * config without them gets them converted with their dtype rewritten). Softmax and LayerNormalization are not
     * kept: on all-MiniLM-L6-v2 a float32 Softmax changed no digit of the fidelity (FloatConversionMiniLmTest), and
     * LayerNormalization computes its statistics in float32 by its stash_type.
     */
    public static final Set<String> DEFAULT_KEEP_OPS = Set.of("RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Bernoulli");

    /**
     * @param target        float16 or bfloat16
     * @param keepOps       op types (default domain) that stay in float32
     * @param keepNodes     node names that stay in float32
     * @param keepIo        float32 graph inputs and outputs keep their type (Casts at the border); false: they change too
     * @param keepLayerNorm keep decomposed LayerNorm chains (mean, variance, sqrt, divide) in float32
     */
    public record Config(Target target, Set<String> keepOps, Set<String> keepNodes, boolean keepIo, boolean keepLayerNorm) {
        public Config {
            if (target == null) throw new ModelException("float conversion needs a target (fp16 or bf16)");
            keepOps = keepOps == null ? DEFAULT_KEEP_OPS : Set.copyOf(keepOps);
            keepNodes = keepNodes == null ? Set.of() : Set.copyOf(keepNodes);
            for (String s : keepOps) if (s == null || s.isBlank()) throw new ModelException("keep-float32 op names must not be empty");
            for (String s : keepNodes) if (s == null || s.isBlank()) throw new ModelException("keep-float32 node names must not be empty");
        }

        /** The defaults: float32 inputs/outputs and LayerNorm chains, {@link #DEFAULT_KEEP_OPS}. */
        public static Config of(Target t) { return new Config(t, DEFAULT_KEEP_OPS, Set.of(), true, true); }

        public Config withKeepOps(Set<String> ops) { return new Config(target, ops, keepNodes, keepIo, keepLayerNorm); }

        public Config withKeepNodes(Set<String> n) { return new Config(target, keepOps, n, keepIo, keepLayerNorm); }

        public Config withKeepIo(boolean b) { return new Config(target, keepOps, keepNodes, b, keepLayerNorm); }

        public Config withKeepLayerNorm(boolean b) { return new Config(target, keepOps, keepNodes, keepIo, b); }
    }

    /** What the last {@link #apply} did. */
    public record Summary(Target target, int nodesConverted, int nodesKept, int layerNormIslands, int castsInserted,
                          int castsRemoved, int constantsConverted, long clampedValues, long flushedToZero, int opsetFrom, int opsetTo) {
        public String format() {
            return String.format(Locale.ROOT, "%s: %d nodes converted, %d kept in float32 (%d LayerNorm islands), %d Casts inserted, "
                            + "%d removed, %d constants converted (%d values clamped to the %s range, %d tiny values became 0)%s",
                    target.cliName(), nodesConverted, nodesKept, layerNormIslands, castsInserted, castsRemoved, constantsConverted,
                    clampedValues, target.cliName(), flushedToZero, opsetFrom == opsetTo ? "" : "; opset raised " + opsetFrom + " -> " + opsetTo
                            + (opsetTo >= 19 ? " (low-precision Q/DQ scales need 19)" : opsetFrom < 7 ? " (Cast takes a numeric type from 6)" : " (bfloat16 types need 13)"));
        }
    }

    /** Ops whose float inputs are float32 by their definition (or that hold subgraphs): never converted. */
    private static final Set<String> FIXED_FLOAT32 = Set.of("DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul", "If", "Loop",
            "Scan", "SequenceMap", "TfIdfVectorizer");
    /** Ops whose output type comes from a dtype attribute that defaults to float32. */
    private static final Set<String> DTYPE_DEFAULT_FLOAT = Set.of("RandomNormal", "RandomUniform");
    private static final Set<String> DTYPE_ATTR = Set.of("EyeLike", "RandomNormalLike", "RandomUniformLike", "Bernoulli");
    private static final Set<String> OUTPUT_DATATYPE = Set.of("HannWindow", "HammingWindow", "BlackmanWindow", "MelWeightMatrix");

    /**
     * Ops that accept bfloat16 only from opset 22 (onnx/onnx#6099): below 22 a bfloat16 conversion keeps them in
     * float32 so that the model stays valid.
     */
    static final Set<String> BF16_FROM_22 = Set.of("Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "AveragePool", "Bernoulli",
            "Conv", "ConvTranspose", "Cos", "Cosh", "DeformConv", "Det", "Dropout", "Elu", "EyeLike", "GRU", "GlobalAveragePool",
            "GlobalLpPool", "GlobalMaxPool", "GridSample", "HardSigmoid", "HardSwish", "InstanceNormalization", "LSTM",
            "LpNormalization", "LpPool", "MaxPool", "MaxRoiPool", "MaxUnpool", "Mish", "Multinomial", "NegativeLogLikelihoodLoss",
            "RNN", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "RoiAlign", "Round", "Selu", "Sin",
            "Sinh", "Softplus", "Softsign", "Tan", "ThresholdedRelu");

    private enum Prec { NONE, LOW, F32 }

    private final Config cfg;
    private Summary summary;

    public FloatConversion(Config cfg) { this.cfg = cfg; }

    public FloatConversion(Target t) { this(Config.of(t)); }

    public static Graph convert(Graph g, Target t) { return new FloatConversion(t).apply(g); }

    @Override
    public String name() { return "float-" + cfg.target().cliName(); }

    public Config config() { return cfg; }

    /** What the last {@link #apply} did (null before). */
    public Summary summary() { return summary; }

    @Override
    public Graph apply(Graph input) {
        int opsetFrom = input.opset();
        Graph g = input;
        boolean qdq = g.nodes().stream().anyMatch(n -> n.domain().isEmpty()
                && (n.opType().equals("QuantizeLinear") || n.opType().equals("DequantizeLinear")));
        if (g.opset() < 7) g = new OpsetConversion(13).apply(g); // Cast's `to` is a string before opset 6
        if (qdq && g.opset() < 19) g = new OpsetConversion(21).apply(g);
        else if (cfg.target() == Target.BF16 && g.opset() < 13) g = new OpsetConversion(13).apply(g); // most ops take bfloat16 from 13
        g = declareAttributeTypes(g.sorted());
        return new Run(g, opsetFrom).run();
    }

    /** One conversion (the pass object holds only the config and the last summary). */
    private final class Run {
        final Graph g;
        final int opsetFrom;
        final DType low = cfg.target().dtype();
        final Map<String, TensorType> types;
        final Map<String, Node> producers;
        final Map<String, List<Node>> consumers;
        final Map<Node, Prec> prec = new IdentityHashMap<>();
        final Map<String, Tensor> inits;
        /** Float32 constants: initializers and Constant node outputs. */
        final Map<String, Tensor> constants = new LinkedHashMap<>();
        final Set<String> pinned = new HashSet<>();
        /** For each original float32 value: the name holding it in each precision available so far. */
        final Map<String, Map<Prec, String>> avail = new HashMap<>();
        final List<Node> out = new ArrayList<>();
        final Map<String, ValueInfo> newInfo = new LinkedHashMap<>();
        final Set<String> usedNames = new HashSet<>();
        int islands, casts, constConverted;
        long clamped, flushed;

        Run(Graph g, int opsetFrom) {
            this.g = g;
            this.opsetFrom = opsetFrom;
            this.types = ShapeInference.inferTypes(g);
            this.producers = g.producers();
            this.consumers = g.consumers();
            this.inits = new LinkedHashMap<>(g.initializers());
            for (ValueInfo v : g.inputs()) usedNames.add(v.name());
            usedNames.addAll(inits.keySet());
            for (Node n : g.nodes()) usedNames.addAll(n.outputs());
        }

        boolean f32(String v) {
            if (v.isEmpty()) return false;
            TensorType t = types.get(v);
            return t != null && t.dtype() == DType.FLOAT32;
        }

        Graph run() {
            // constants
            for (Map.Entry<String, Tensor> e : inits.entrySet()) if (e.getValue().dtype() == DType.FLOAT32) constants.put(e.getKey(), e.getValue());
            for (Node n : g.nodes()) {
                if (isConstantNode(n)) {
                    Tensor t = constantValue(n);
                    if (t != null && t.dtype() == DType.FLOAT32) constants.put(n.output(0), t);
                }
            }
            // values whose float32 name must stay: graph outputs (keepIo), values read by subgraphs
            if (cfg.keepIo()) for (ValueInfo o : g.outputs()) pinned.add(o.name());
            for (Node n : g.nodes()) pinned.addAll(DeadCodeElimination.subgraphReads(n));
            // precision of each node
            Set<Node> keep = Collections.newSetFromMap(new IdentityHashMap<>());
            if (cfg.keepLayerNorm()) keep.addAll(layerNormIslands());
            keep.addAll(accumulatorCasts());
            for (Node n : g.nodes()) {
                if (isConstantNode(n) && constants.containsKey(n.output(0))) continue;
                boolean touches = n.inputs().stream().anyMatch(this::f32) || n.outputs().stream().anyMatch(this::f32);
                if (!touches) { prec.put(n, Prec.NONE); continue; }
                boolean k = keep.contains(n) || cfg.keepOps().contains(n.opType()) || cfg.keepNodes().contains(n.name())
                        || !n.domain().isEmpty() || FIXED_FLOAT32.contains(n.opType())
                        || (n.opType().equals("LayerNormalization") && (used(n.output(1)) || used(n.output(2))))
                        || ((n.opType().equals("QuantizeLinear") || n.opType().equals("DequantizeLinear")) && g.opset() < 19)
                        || !DeadCodeElimination.subgraphReads(n).isEmpty()
                        || (low == DType.BFLOAT16 && g.opset() < 22 && BF16_FROM_22.contains(n.opType()));
                // a QuantizeLinear whose input stays float32 anyway (a float32 graph input, a float32 island's output)
                // quantizes it in float32: rounding it to the low type first would only move values across steps
                if (!k && n.opType().equals("QuantizeLinear") && staysFloat32(n.input(0))) k = true;
                prec.put(n, k ? Prec.F32 : Prec.LOW);
            }
            // graph inputs
            List<ValueInfo> inputs = new ArrayList<>();
            for (ValueInfo v : g.inputs()) {
                if (f32(v.name()) && !cfg.keepIo() && !pinned.contains(v.name())) {
                    avail.computeIfAbsent(v.name(), k -> new EnumMap<>(Prec.class)).put(Prec.LOW, v.name());
                    inputs.add(new ValueInfo(v.name(), v.type().withDtype(low)));
                } else {
                    if (f32(v.name())) avail.computeIfAbsent(v.name(), k -> new EnumMap<>(Prec.class)).put(Prec.F32, v.name());
                    inputs.add(v);
                }
            }
            Map<String, EnumMap<Prec, Boolean>> constNeeds = constantNeedsCache();
            for (Node n : g.nodes()) {
                if (isConstantNode(n) && constants.containsKey(n.output(0))) {
                    emitConstantNode(n, constNeeds.get(n.output(0)));
                    continue;
                }
                Prec p = prec.get(n);
                if (p == Prec.NONE) { // no float32 input or output: untouched
                    out.add(n);
                    continue;
                }
                List<String> ins = new ArrayList<>();
                for (int i = 0; i < n.inputs().size(); i++) {
                    String v = n.input(i);
                    if (p == Prec.LOW && !v.isEmpty() && (types.get(v) == null || types.get(v).dtype() == null)) {
                        throw new ModelException("float conversion: the element type of '" + v + "' (read by node " + n.label()
                                + ") cannot be inferred; keep the node in float32 (keep_nodes) or give the model value_info for it");
                    }
                    ins.add(f32(v) ? request(v, need(n, p, i)) : v);
                }
                Node m = n.withInputs(ins);
                if (p == Prec.LOW) m = rewriteAttributes(m);
                List<String> outs = new ArrayList<>();
                List<Node> after = new ArrayList<>();
                for (int i = 0; i < n.outputs().size(); i++) {
                    String v = n.output(i);
                    if (!f32(v)) { outs.add(v); continue; }
                    Prec op = p == Prec.LOW && !(n.opType().equals("LayerNormalization") && i > 0) ? Prec.LOW : Prec.F32;
                    Map<Prec, String> a = avail.computeIfAbsent(v, k -> new EnumMap<>(Prec.class));
                    if (op == Prec.LOW && pinned.contains(v)) {
                        String lowName = fresh(v + "_" + cfg.target().cliName());
                        outs.add(lowName);
                        a.put(Prec.LOW, lowName);
                        info(lowName, v, low);
                        a.put(Prec.F32, v);
                        after.add(cast(lowName, v, DType.FLOAT32));
                    } else {
                        outs.add(v);
                        a.put(op, v);
                        if (op == Prec.LOW) info(v, v, low);
                    }
                }
                out.add(m.withOutputs(outs));
                out.addAll(after);
            }
            Graph.Builder b = g.toBuilder().inputs(inputs).initializers(inits);
            List<ValueInfo> outputs = new ArrayList<>();
            for (ValueInfo o : g.outputs()) {
                if (f32(o.name()) && !pinned.contains(o.name())) {
                    String name = o.name();
                    Map<Prec, String> a = avail.getOrDefault(name, Map.of());
                    // an output that is also a graph input or a constant (rare): keep whatever the name holds
                    outputs.add(a.containsKey(Prec.LOW) && a.get(Prec.LOW).equals(name) ? new ValueInfo(name, o.type().withDtype(low)) : o);
                } else {
                    outputs.add(o);
                }
            }
            b.outputs(outputs);
            Map<String, ValueInfo> vi = new LinkedHashMap<>();
            for (ValueInfo v : g.valueInfo().values()) vi.put(v.name(), newInfo.containsKey(v.name()) ? newInfo.get(v.name()) : v);
            newInfo.forEach(vi::putIfAbsent);
            Set<String> ioNames = new HashSet<>();
            for (ValueInfo v : inputs) ioNames.add(v.name());
            for (ValueInfo v : outputs) ioNames.add(v.name());
            ioNames.addAll(inits.keySet());
            vi.keySet().removeIf(ioNames::contains);
            b.valueInfo(vi).nodes(out);
            Graph r = b.build();
            int before = countCasts(r);
            r = cleanCasts(r);
            int removed = before - countCasts(r);
            int conv = 0, kept = 0;
            for (Prec p : prec.values()) { if (p == Prec.LOW) conv++; else if (p == Prec.F32) kept++; }
            summary = new Summary(cfg.target(), conv, kept, islands, casts, removed, constConverted, clamped, flushed, opsetFrom, r.opset());
            return r.sorted();
        }

        /** Whether value {@code v} (read by a node not yet assigned) is float32 in the converted graph. */
        boolean staysFloat32(String v) {
            if (!f32(v)) return false;
            if (g.input(v) != null) return cfg.keepIo();
            Node p = producers.get(v);
            return p != null && prec.get(p) == Prec.F32;
        }

        boolean used(String v) {
            if (v.isEmpty()) return false;
            if (consumers.containsKey(v)) return true;
            for (ValueInfo o : g.outputs()) if (o.name().equals(v)) return true;
            return pinned.contains(v);
        }

        /** The precision node {@code n} of precision {@code p} needs at its float32 input {@code i}. */
        Prec need(Node n, Prec p, int i) {
            if (p != Prec.LOW) return Prec.F32;
            if (n.opType().equals("Resize") && i == 2) return Prec.F32; // scales: tensor(float) by definition
            if (n.opType().equals("Upsample") && i == 1) return Prec.F32;
            return Prec.LOW;
        }

        /** Which precisions each float32 constant is read in. */
        Map<String, EnumMap<Prec, Boolean>> constantNeeds() {
            Map<String, EnumMap<Prec, Boolean>> m = new HashMap<>();
            for (Node n : g.nodes()) {
                Prec p = prec.get(n);
                if (p == null || p == Prec.NONE) continue;
                for (int i = 0; i < n.inputs().size(); i++) {
                    String v = n.input(i);
                    if (constants.containsKey(v)) m.computeIfAbsent(v, k -> new EnumMap<>(Prec.class)).put(need(n, p, i), true);
                }
            }
            for (ValueInfo o : g.outputs()) {
                if (constants.containsKey(o.name())) {
                    m.computeIfAbsent(o.name(), k -> new EnumMap<>(Prec.class)).put(pinned.contains(o.name()) ? Prec.F32 : Prec.LOW, true);
                }
            }
            for (String v : pinned) if (constants.containsKey(v)) m.computeIfAbsent(v, k -> new EnumMap<>(Prec.class)).put(Prec.F32, true);
            return m;
        }

        /** Initializers: converted in place when only low-precision readers need them (else a converted copy is added on demand). */
        String request(String v, Prec want) {
            Map<Prec, String> a = avail.computeIfAbsent(v, k -> new EnumMap<>(Prec.class));
            if (a.isEmpty() && inits.containsKey(v) && constants.containsKey(v)) {
                Map<Prec, Boolean> needs = constantNeedsCache().getOrDefault(v, new EnumMap<>(Prec.class));
                boolean graphInputToo = g.input(v) != null;
                if (!graphInputToo && !needs.containsKey(Prec.F32) && !pinned.contains(v)) {
                    inits.put(v, toLow(constants.get(v)));
                    a.put(Prec.LOW, v);
                } else {
                    a.put(Prec.F32, v);
                }
            }
            String have = a.get(want);
            if (have != null) return have;
            if (constants.containsKey(v) && want == Prec.LOW) {
                String name = fresh(v + "_" + cfg.target().cliName());
                inits.put(name, toLow(constants.get(v)));
                a.put(Prec.LOW, name);
                return name;
            }
            String src = a.get(want == Prec.LOW ? Prec.F32 : Prec.LOW);
            if (src == null) throw new ModelException("float conversion: value '" + v + "' is read before it is defined");
            String name = fresh(v + (want == Prec.LOW ? "_to_" + cfg.target().cliName() : "_to_fp32"));
            out.add(cast(src, name, want == Prec.LOW ? low : DType.FLOAT32));
            info(name, v, want == Prec.LOW ? low : DType.FLOAT32);
            a.put(want, name);
            return name;
        }

        private Map<String, EnumMap<Prec, Boolean>> needsCache;

        Map<String, EnumMap<Prec, Boolean>> constantNeedsCache() {
            if (needsCache == null) needsCache = constantNeeds();
            return needsCache;
        }

        void emitConstantNode(Node n, EnumMap<Prec, Boolean> needs) {
            String v = n.output(0);
            Map<Prec, String> a = avail.computeIfAbsent(v, k -> new EnumMap<>(Prec.class));
            boolean onlyLow = needs != null && !needs.containsKey(Prec.F32) && !pinned.contains(v);
            if (onlyLow) {
                out.add(new Node(n.name(), "Constant", "", List.of(), List.of(v), Map.of("value", Attribute.of(toLow(constants.get(v))))));
                a.put(Prec.LOW, v);
                info(v, v, low);
            } else {
                out.add(n);
                a.put(Prec.F32, v);
            }
        }

        Node rewriteAttributes(Node n) {
            String op = n.opType();
            long f = DType.FLOAT32.onnxCode();
            if (op.equals("Cast") && n.attrLong("to", 0) == f) return n.withAttribute("to", Attribute.of((long) low.onnxCode()));
            if (op.equals("ConstantOfShape")) {
                Attribute a = n.attr("value");
                Tensor t = a == null ? Tensor.of(new float[] {0f}, 1) : a.asTensor();
                if (t.dtype() == DType.FLOAT32) return n.withAttribute("value", Attribute.of(toLow(t)));
                return n;
            }
            if (DTYPE_DEFAULT_FLOAT.contains(op) && n.attrLong("dtype", f) == f) return n.withAttribute("dtype", Attribute.of((long) low.onnxCode()));
            if (DTYPE_ATTR.contains(op) && n.hasAttr("dtype") && n.attrLong("dtype", 0) == f) return n.withAttribute("dtype", Attribute.of((long) low.onnxCode()));
            if (OUTPUT_DATATYPE.contains(op) && n.attrLong("output_datatype", f) == f) {
                return n.withAttribute("output_datatype", Attribute.of((long) low.onnxCode()));
            }
            return n;
        }

        Node cast(String from, String to, DType t) {
            casts++;
            return new Node(fresh(to + "_cast"), "Cast", "", List.of(from), List.of(to), Map.of("to", Attribute.of((long) t.onnxCode())));
        }

        void info(String name, String like, DType t) {
            TensorType tt = types.get(like);
            newInfo.put(name, new ValueInfo(name, tt == null ? new TensorType(t, null) : tt.withDtype(t)));
        }

        String fresh(String base) { return io.condense.ir.Names.fresh(usedNames, base); }

        Tensor toLow(Tensor t) {
            constConverted++;
            float[] v = t.toFloatArray();
            short[] d = new short[v.length];
            boolean fp16 = low == DType.FLOAT16;
            float max = fp16 ? 65504f : Half.bf16ToFloat((short) 0x7F7F);
            for (int i = 0; i < v.length; i++) {
                float x = v[i];
                if (Float.isFinite(x) && Math.abs(x) > max) {
                    x = Math.copySign(max, x);
                    clamped++;
                }
                short h = fp16 ? Half.fromFloat(x) : Half.floatToBf16(x);
                if (Float.isFinite(x) && !Float.isFinite(fp16 ? Half.toFloat(h) : Half.bf16ToFloat(h))) {
                    h = fp16 ? Half.fromFloat(Math.copySign(max, x)) : Half.floatToBf16(Math.copySign(max, x));
                    clamped++;
                }
                if (x != 0 && (h & 0x7FFF) == 0) flushed++;
                d[i] = h;
            }
            return Tensor.of(low, t.shape(), d);
        }

        /**
         * Decomposed LayerNorm: m = ReduceMean(x); d = Sub(x, m); Pow(d, 2) -> ReduceMean -> Add(eps) -> Sqrt -> Div(d, .).
         * Returns the nodes of every such chain.
         */
        Set<Node> layerNormIslands() {
            Set<Node> s = Collections.newSetFromMap(new IdentityHashMap<>());
            for (Node pow : g.nodes()) {
                if (!pow.opType().equals("Pow") || !pow.domain().isEmpty()) continue;
                Tensor e = constantOf(pow.input(1));
                if (e == null || e.size() != 1 || e.getDouble(0) != 2) continue;
                Node sub = producers.get(pow.input(0));
                if (sub == null || !sub.opType().equals("Sub")) continue;
                Node m1 = producers.get(sub.input(1));
                if (m1 == null || !m1.opType().equals("ReduceMean") || !m1.input(0).equals(sub.input(0))) continue;
                Node m2 = only(pow.output(0), "ReduceMean");
                Node add = m2 == null ? null : only(m2.output(0), "Add");
                Node sqrt = add == null ? null : only(add.output(0), "Sqrt");
                Node div = sqrt == null ? null : only(sqrt.output(0), "Div");
                if (div == null || !div.input(0).equals(sub.output(0))) continue;
                s.addAll(List.of(m1, sub, pow, m2, add, sqrt, div));
                islands++;
            }
            return s;
        }

        /**
         * Integer accumulators turned into floats: Cast(MatMulInteger/ConvInteger output, to float) and the Mul that
         * rescales it. An int32 accumulator easily exceeds float16's 65504 (K=384 int8 x uint8 products reach 1.2e7),
         * so the Cast and the scale multiplication stay float32 and only the rescaled value is cast down.
         */
        Set<Node> accumulatorCasts() {
            Set<Node> s = Collections.newSetFromMap(new IdentityHashMap<>());
            for (Node c : g.nodes()) {
                if (!c.opType().equals("Cast") || !c.domain().isEmpty() || !f32(c.output(0))) continue;
                Node p = producers.get(c.input(0));
                if (p == null || !p.domain().isEmpty() || !(p.opType().equals("MatMulInteger") || p.opType().equals("ConvInteger"))) continue;
                s.add(c);
                for (Node m : consumers.getOrDefault(c.output(0), List.of())) if (m.opType().equals("Mul") && m.domain().isEmpty()) s.add(m);
            }
            return s;
        }

        Node only(String v, String op) {
            List<Node> c = consumers.getOrDefault(v, List.of());
            return c.size() == 1 && c.get(0).opType().equals(op) && c.get(0).domain().isEmpty() ? c.get(0) : null;
        }

        Tensor constantOf(String v) {
            Tensor t = g.initializers().get(v);
            if (t != null) return t;
            Node p = producers.get(v);
            return p != null && isConstantNode(p) ? constantValue(p) : null;
        }
    }

    /**
     * Declares the output types of ops typed by a dtype attribute (RandomNormal/Uniform and their Like forms, Bernoulli)
     * and of If (from its then-branch) where the graph has none.
     */
    static Graph declareAttributeTypes(Graph g) {
        Graph.Builder b = null;
        for (Node n : g.nodes()) {
            if (n.opType().equals("If") && n.domain().isEmpty() && n.hasAttr("then_branch")) {
                // If outputs: the then-branch's declared output types (shape inference does not enter subgraphs)
                List<ValueInfo> bo = n.attr("then_branch").asGraph().outputs();
                for (int i = 0; i < n.outputs().size() && i < bo.size(); i++) {
                    String o = n.output(i);
                    if (o.isEmpty() || g.valueInfo().containsKey(o) || bo.get(i).type().dtype() == null) continue;
                    if (b == null) b = g.toBuilder();
                    b.putValueInfo(new ValueInfo(o, bo.get(i).type()));
                }
                continue;
            }
            boolean fixed = DTYPE_DEFAULT_FLOAT.contains(n.opType());
            if (!n.domain().isEmpty() || n.output(0).isEmpty() || g.valueInfo().containsKey(n.output(0))
                    || !(fixed || (DTYPE_ATTR.contains(n.opType()) && n.hasAttr("dtype")))) continue;
            DType t = DType.fromOnnx((int) n.attrLong("dtype", DType.FLOAT32.onnxCode()));
            long[] shape = fixed ? n.attrLongs("shape", null) : null;
            if (b == null) b = g.toBuilder();
            b.putValueInfo(new ValueInfo(n.output(0), shape == null ? new TensorType(t, null) : TensorType.of(t, shape)));
        }
        return b == null ? g : b.build();
    }

    static boolean isConstantNode(Node n) { return n.opType().equals("Constant") && n.domain().isEmpty(); }

    /** The value of a Constant node (value, value_float, value_floats), or null for other forms. */
    static Tensor constantValue(Node n) {
        Attribute a;
        if ((a = n.attr("value")) != null && a.kind() == Attribute.Kind.TENSOR) return a.asTensor();
        if ((a = n.attr("value_float")) != null) return Tensor.of(new float[] {a.asFloat()});
        if ((a = n.attr("value_floats")) != null) {
            float[] f = a.asFloats();
            return Tensor.of(f, f.length);
        }
        return null;
    }

    private static int countCasts(Graph g) {
        int c = 0;
        for (Node n : g.nodes()) if (n.opType().equals("Cast")) c++;
        return c;
    }

    /**
     * Removes Casts to the type their input already has, and the second of a widening-then-narrowing pair
     * ({@code Cast(Cast(x: f16, to f32), to f16)} reads x), then dead Casts.
     */
    static Graph cleanCasts(Graph g) {
        Map<String, TensorType> types = ShapeInference.inferTypes(g);
        Map<String, Node> producers = g.producers();
        List<Node> nodes = new ArrayList<>();
        boolean changed = false;
        for (Node n : g.nodes()) {
            if (n.opType().equals("Cast") && n.domain().isEmpty()) {
                DType to = DType.fromOnnx((int) n.attrLong("to", 0));
                TensorType in = types.get(n.input(0));
                if (in != null && in.dtype() == to) {
                    nodes.add(new Node(n.name(), "Identity", "", n.inputs(), n.outputs(), Map.of()));
                    changed = true;
                    continue;
                }
                Node p = producers.get(n.input(0));
                if (p != null && p.opType().equals("Cast") && p.domain().isEmpty()) {
                    TensorType src = types.get(p.input(0));
                    DType mid = DType.fromOnnx((int) p.attrLong("to", 0));
                    if (src != null && src.dtype() == to && mid == DType.FLOAT32 && (to == DType.FLOAT16 || to == DType.BFLOAT16)) {
                        nodes.add(new Node(n.name(), "Identity", "", List.of(p.input(0)), n.outputs(), Map.of()));
                        changed = true;
                        continue;
                    }
                }
            }
            nodes.add(n);
        }
        if (!changed) return g;
        Graph r = g.toBuilder().nodes(nodes).build();
        return new DeadCodeElimination().apply(new IdentityElimination().apply(r));
    }

}
