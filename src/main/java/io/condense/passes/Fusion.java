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
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fuses elementwise epilogues into the op that produces their input, for the CPU executor:
 * <ul>
 * <li>{@code Conv -> Add(per-channel constant) -> Relu} becomes {@code io.condense.FusedConv(X, W, B)} with the
 * Conv's attributes and {@code activation="Relu"} (either epilogue may be absent; the constant is folded into B);</li>
 * <li>{@code MatMul(A, W constant [K, N]) -> Add(constant [N] or [1.., N]) -> Relu} becomes
 * {@code io.condense.FusedMatMul(A, W, bias)} (MatMul, plus bias along the last axis, then the activation).</li>
 * <li>the decomposed layer normalization of exported transformers, {@code ReduceMean(x) -> Sub -> Pow 2 -> ReduceMean
 * -> Add eps -> Sqrt -> Div -> Mul gamma -> Add beta} over the last axis, becomes
 * {@code io.condense.LayerNorm(x, gamma, beta)} with attribute {@code epsilon};</li>
 * <li>{@code MatMulInteger(A, B constant) -> Cast(float) -> Mul(scale) -> Add(constant [N])} of dynamically
 * quantized layers becomes {@code io.condense.MatMulIntegerToFloat(A, B, a_zp, b_zp, scale, bias)};</li>
 * <li>{@code QuantizeLinear -> DequantizeLinear} on activations (scalar constant scales and zero points) becomes
 * {@code io.condense.QuantizeDequantize}, one pass over the float values instead of two through an int8 tensor.</li>
 * </ul>
 * Only float32 constants that are not graph inputs are folded, and only intermediates with a single reader that
 * are not graph outputs disappear, so the graph's outputs keep their values. The fused node keeps the name of
 * the Conv/MatMul it replaces (errors name the same node). The result is for the CPU backend only: the
 * {@code io.condense} ops are not ONNX ops.
 */
public final class Fusion implements GraphPass {
    public static final String DOMAIN = "io.condense";
    public static final String FUSED_CONV = "FusedConv";
    public static final String FUSED_MATMUL = "FusedMatMul";
    public static final String LAYER_NORM = "LayerNorm";
    /** Exact (erf) GELU fused from the decomposed x * 0.5 * (1 + erf(x / sqrt 2)) of exported BERT graphs. */
    public static final String GELU = "Gelu";
    /**
     * {@code MatMulInteger -> Cast(float) -> Mul(scale) [-> Add(bias)]} of dynamically quantized linear layers:
     * inputs (A, B, a_zero_point or "", b_zero_point or "", scale[, bias]).
     */
    public static final String MATMUL_INTEGER_TO_FLOAT = "MatMulIntegerToFloat";
    /**
     * {@code QuantizeLinear -> DequantizeLinear} with one-element constant scales and zero points (the activation
     * pairs of QDQ models): inputs (x, q_scale, q_zero_point, dq_scale, dq_zero_point or ""), float32 out.
     */
    public static final String FAKE_QUANT = "QuantizeDequantize";

    /**
     * Which fusions run; {@code quantized} off leaves the quantized-op chains (MatMulInteger -> Cast -> Mul -> Add,
     * QuantizeLinear -> DequantizeLinear) as they are (tests compare both).
     */
    public record Config(boolean quantized) {
        public static Config defaults() { return new Config(true); }
    }

    private final Config config;

    public Fusion() { this(Config.defaults()); }

    public Fusion(Config config) { this.config = java.util.Objects.requireNonNull(config, "config"); }

    @Override
    public String name() { return "fusion"; }

    @Override
    public Graph apply(Graph g) {
        Set<String> outputs = new HashSet<>();
        for (ValueInfo o : g.outputs()) outputs.add(o.name());
        Set<String> inputs = new HashSet<>();
        for (ValueInfo v : g.inputs()) inputs.add(v.name());
        Map<String, Tensor> consts = new HashMap<>(g.initializers());
        consts.keySet().removeAll(inputs);
        Map<String, List<Node>> consumers = g.consumers();
        Set<String> subgraphReads = new HashSet<>();
        for (Node n : g.nodes()) subgraphReads.addAll(DeadCodeElimination.subgraphReads(n));
        Map<String, TensorType> types;
        try {
            types = ShapeInference.inferTypes(g);
        } catch (RuntimeException e) {
            types = Map.of();
        }
        Map<Node, Node> replace = new IdentityHashMap<>();
        Set<Node> removed = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        Map<String, Tensor> newInits = new LinkedHashMap<>();
        int fresh = 0;
        for (Node n : g.nodes()) {
            if (!n.domain().isEmpty() || removed.contains(n)) continue;
            boolean conv = n.opType().equals("Conv");
            boolean mm = n.opType().equals("MatMul");
            if (!conv && !mm) continue;
            Tensor w = n.hasInput(1) ? consts.get(n.input(1)) : null;
            if (w == null || w.dtype() != DType.FLOAT32) continue;
            if (mm && w.shape().length != 2) continue;
            if (conv && w.shape().length < 3) continue;
            long channels = mm ? w.shape()[1] : w.shape()[0];
            int outRank = conv ? w.shape().length : -1;
            if (mm) {
                TensorType ta = types.get(n.input(0));
                if (ta == null || !ta.hasRank() || ta.dims().size() < 2) continue; // rank-1 A changes the output rank
                outRank = ta.dims().size();
            }
            String y = n.output(0);
            Tensor bias = null;
            if (conv && n.hasInput(2)) {
                bias = consts.get(n.input(2));
                if (bias == null) bias = Tensor.of(new float[0], 0); // marker: non-constant B
            }
            boolean biasIsInput = conv && n.hasInput(2) && !consts.containsKey(n.input(2));
            List<Node> chain = new ArrayList<>();
            // Add(per-channel constant)
            Node add = single(y, consumers, outputs, subgraphReads);
            if (add != null && add.domain().isEmpty() && add.opType().equals("Add") && add.inputs().size() == 2 && !biasIsInput) {
                String other = add.input(0).equals(y) ? add.input(1) : add.input(0);
                Tensor c = consts.get(other);
                if (!other.equals(y) && c != null && c.dtype() == DType.FLOAT32
                        && perChannel(c.shape(), channels, outRank, conv)) {
                    float[] sum = new float[(int) channels];
                    for (int i = 0; i < channels; i++) sum[i] = (float) c.getDouble(i) + (bias == null ? 0f : (float) bias.getDouble(i));
                    // (conv + b) + c becomes conv + (b + c): the same up to float rounding
                    bias = Tensor.of(sum, channels);
                    chain.add(add);
                    y = add.output(0);
                }
            }
            boolean relu = false;
            Node r = single(y, consumers, outputs, subgraphReads);
            if (r != null && r.domain().isEmpty() && r.opType().equals("Relu")) {
                chain.add(r);
                y = r.output(0);
                relu = true;
            }
            if (chain.isEmpty() && mm) continue;
            if (chain.isEmpty() && !conv) continue;
            Map<String, Attribute> attrs = new LinkedHashMap<>(n.attributes());
            attrs.put("activation", Attribute.of(relu ? "Relu" : ""));
            List<String> ins = new ArrayList<>();
            ins.add(n.input(0));
            ins.add(n.input(1));
            boolean addedBias = chain.size() > (relu ? 1 : 0);
            if (addedBias) {
                String name = n.output(0) + "__fused_bias" + (fresh++);
                while (g.initializers().containsKey(name) || newInits.containsKey(name)) name = name + "_";
                newInits.put(name, bias);
                ins.add(name);
            } else if (conv && n.hasInput(2)) {
                ins.add(n.input(2));
            }
            replace.put(n, new Node(n.name(), conv ? FUSED_CONV : FUSED_MATMUL, DOMAIN, ins, List.of(y), attrs));
            removed.addAll(chain);
        }
        for (Node n : g.nodes()) {
            if (removed.contains(n) || replace.containsKey(n)) continue;
            List<Node> chain = new ArrayList<>();
            Node ln = layerNorm(n, consts, consumers, outputs, subgraphReads, types, chain);
            if (ln == null) continue;
            boolean clash = false;
            for (Node c : chain) clash |= removed.contains(c) || replace.containsKey(c);
            if (clash) continue;
            replace.put(n, ln);
            removed.addAll(chain);
        }
        for (Node n : g.nodes()) {
            if (removed.contains(n) || replace.containsKey(n)) continue;
            List<Node> chain = new ArrayList<>();
            Node gl = gelu(n, consts, consumers, outputs, subgraphReads, chain);
            if (gl == null) continue;
            boolean clash = false;
            for (Node c : chain) clash |= removed.contains(c) || replace.containsKey(c);
            if (clash) continue;
            replace.put(n, gl);
            removed.addAll(chain);
        }
        for (Node n : config.quantized() ? g.nodes() : List.<Node>of()) {
            if (removed.contains(n) || replace.containsKey(n)) continue;
            List<Node> chain = new ArrayList<>();
            Node mi = matMulIntegerToFloat(n, consts, consumers, outputs, subgraphReads, types, chain);
            if (mi == null) continue;
            boolean clash = false;
            for (Node c : chain) clash |= removed.contains(c) || replace.containsKey(c);
            if (clash) continue;
            replace.put(n, mi);
            removed.addAll(chain);
        }
        for (Node n : config.quantized() ? g.nodes() : List.<Node>of()) {
            if (removed.contains(n) || replace.containsKey(n)) continue;
            TensorType tx = n.inputs().isEmpty() ? null : types.get(n.input(0));
            if (tx == null || tx.dtype() != DType.FLOAT32) continue;
            Node dq = fakeQuantPartner(n, consts, consumers, outputs, subgraphReads);
            if (dq == null || removed.contains(dq) || replace.containsKey(dq)) continue;
            List<String> ins = List.of(n.input(0), n.input(1), n.input(2), dq.input(1), dq.hasInput(2) ? dq.input(2) : "");
            replace.put(n, new Node(n.name(), FAKE_QUANT, DOMAIN, ins, List.of(dq.output(0)), Map.of()));
            removed.add(dq);
        }
        if (replace.isEmpty()) return g;
        List<Node> nodes = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (removed.contains(n)) continue;
            nodes.add(replace.getOrDefault(n, n));
        }
        Graph.Builder b = g.toBuilder().nodes(nodes);
        newInits.forEach(b::initializer);
        Map<String, Integer> opsets = new LinkedHashMap<>(g.opsets());
        opsets.putIfAbsent(DOMAIN, 1);
        b.opsets(opsets);
        return new DeadCodeElimination().apply(b.build());
    }

    /** The fused LayerNorm node for the pattern starting at ReduceMean {@code rm1} (chain: its other nodes), or null. */
    private static Node layerNorm(Node rm1, Map<String, Tensor> consts, Map<String, List<Node>> consumers, Set<String> outputs,
                                  Set<String> subgraphReads, Map<String, TensorType> types, List<Node> chain) {
        if (!isOp(rm1, "ReduceMean") || !lastAxisMean(rm1, types)) return null;
        String x = rm1.input(0);
        TensorType tx = types.get(x);
        if (tx == null || tx.dtype() != DType.FLOAT32 || !tx.hasRank() || tx.dims().isEmpty()) return null;
        io.condense.ir.Dim last = tx.dims().get(tx.dims().size() - 1);
        if (!last.isKnown()) return null;
        Node sub = single(rm1.output(0), consumers, outputs, subgraphReads);
        if (!isOp(sub, "Sub") || !sub.input(0).equals(x) || !sub.input(1).equals(rm1.output(0))) return null;
        String d = sub.output(0);
        if (outputs.contains(d) || subgraphReads.contains(d)) return null;
        List<Node> ds = consumers.get(d);
        if (ds == null || ds.size() != 2) return null;
        Node pow = null, div = null;
        for (Node c : ds) {
            if (isOp(c, "Pow") && c.input(0).equals(d) && !c.input(1).equals(d)) pow = c;
            else if (isOp(c, "Div") && c.input(0).equals(d) && !c.input(1).equals(d)) div = c;
        }
        if (pow == null || div == null) return null;
        Tensor two = consts.get(pow.input(1));
        if (two == null || two.size() != 1 || two.getDouble(0) != 2.0) return null;
        Node rm2 = single(pow.output(0), consumers, outputs, subgraphReads);
        if (!isOp(rm2, "ReduceMean") || !lastAxisMean(rm2, types)) return null;
        Node addEps = single(rm2.output(0), consumers, outputs, subgraphReads);
        if (!isOp(addEps, "Add")) return null;
        Tensor eps = consts.get(addEps.input(0).equals(rm2.output(0)) ? addEps.input(1) : addEps.input(0));
        if (eps == null || eps.size() != 1 || !eps.dtype().isFloating()) return null;
        Node sqrt = single(addEps.output(0), consumers, outputs, subgraphReads);
        if (!isOp(sqrt, "Sqrt")) return null;
        if (single(sqrt.output(0), consumers, outputs, subgraphReads) != div || !div.input(1).equals(sqrt.output(0))) return null;
        Node mul = single(div.output(0), consumers, outputs, subgraphReads);
        if (!isOp(mul, "Mul")) return null;
        Tensor gamma = consts.get(mul.input(0).equals(div.output(0)) ? mul.input(1) : mul.input(0));
        Node add = single(mul.output(0), consumers, outputs, subgraphReads);
        if (!isOp(add, "Add")) return null;
        String betaName = add.input(0).equals(mul.output(0)) ? add.input(1) : add.input(0);
        Tensor beta = consts.get(betaName);
        String gammaName = mul.input(0).equals(div.output(0)) ? mul.input(1) : mul.input(0);
        if (gamma == null || beta == null || gamma.dtype() != DType.FLOAT32 || beta.dtype() != DType.FLOAT32
                || gamma.shape().length != 1 || beta.shape().length != 1
                || gamma.size() != last.value() || beta.size() != last.value()) return null;
        if (outputs.contains(d)) return null;
        chain.addAll(List.of(sub, pow, rm2, addEps, sqrt, div, mul, add));
        Map<String, Attribute> attrs = new LinkedHashMap<>();
        attrs.put("epsilon", Attribute.of((float) eps.getDouble(0)));
        return new Node(rm1.name(), LAYER_NORM, DOMAIN, List.of(x, gammaName, betaName), List.of(add.output(0)), attrs);
    }

    /**
     * The fused Gelu node for Div(x, sqrt 2) | Mul(x, 1/sqrt 2) -> Erf -> Add(1) -> Mul(x) -> Mul(0.5) starting at
     * {@code d} (chain: its other nodes), or null. Constants must match to float precision.
     */
    private static Node gelu(Node d, Map<String, Tensor> consts, Map<String, List<Node>> consumers, Set<String> outputs,
                             Set<String> subgraphReads, List<Node> chain) {
        boolean div = isOp(d, "Div");
        if (!div && !isOp(d, "Mul") || d.inputs().size() != 2) return null;
        String x = d.input(0);
        Double k = scalar(consts, d.input(1));
        if (k == null && !div) {
            x = d.input(1);
            k = scalar(consts, d.input(0));
        }
        if (k == null || consts.containsKey(x)) return null;
        if (div ? (float) (double) k != (float) Math.sqrt(2.0) : (float) (double) k != (float) Math.sqrt(0.5)) return null;
        Node erf = single(d.output(0), consumers, outputs, subgraphReads);
        if (!isOp(erf, "Erf")) return null;
        Node add = single(erf.output(0), consumers, outputs, subgraphReads);
        if (!isOp(add, "Add") || add.inputs().size() != 2) return null;
        Double one = scalar(consts, add.input(0).equals(erf.output(0)) ? add.input(1) : add.input(0));
        if (one == null || one != 1.0) return null;
        Node m1 = single(add.output(0), consumers, outputs, subgraphReads);
        if (!isOp(m1, "Mul") || m1.inputs().size() != 2) return null;
        String other = m1.input(0).equals(add.output(0)) ? m1.input(1) : m1.input(0);
        if (!other.equals(x)) return null;
        Node m2 = single(m1.output(0), consumers, outputs, subgraphReads);
        if (!isOp(m2, "Mul") || m2.inputs().size() != 2) return null;
        Double half = scalar(consts, m2.input(0).equals(m1.output(0)) ? m2.input(1) : m2.input(0));
        if (half == null || half != 0.5) return null;
        chain.addAll(List.of(erf, add, m1, m2));
        return new Node(d.name(), GELU, DOMAIN, List.of(x), List.of(m2.output(0)), Map.of());
    }

    /**
     * The fused node for {@code MatMulInteger(A, B constant 2-D, a_zp, b_zp) -> Cast(to float) -> Mul(S) [-> Add(bias
     * constant)]} starting at {@code mm} (chain: its other nodes), or null. S is any float32 value with a static shape
     * of one element or one per output column (the dynamic-quantization scale product); the bias is one float32 per
     * output column. The fused node computes float(acc) * S + bias per element, rounding after each operation as
     * the nodes do, so its values are those of the chain.
     */
    private static Node matMulIntegerToFloat(Node mm, Map<String, Tensor> consts, Map<String, List<Node>> consumers,
                                             Set<String> outputs, Set<String> subgraphReads, Map<String, TensorType> types,
                                             List<Node> chain) {
        if (!isOp(mm, "MatMulInteger") || mm.inputs().size() < 2 || mm.outputs().size() != 1) return null;
        Tensor w = consts.get(mm.input(1));
        if (w == null || w.shape().length != 2 || (w.dtype() != DType.INT8 && w.dtype() != DType.UINT8)) return null;
        TensorType ta = types.get(mm.input(0));
        if (ta == null || !ta.hasRank() || ta.dims().size() < 2) return null;
        int outRank = ta.dims().size();
        long cols = w.shape()[1];
        Node cast = single(mm.output(0), consumers, outputs, subgraphReads);
        if (!isOp(cast, "Cast") || cast.attrLong("to", 0) != DType.FLOAT32.onnxCode()) return null;
        Node mul = single(cast.output(0), consumers, outputs, subgraphReads);
        if (!isOp(mul, "Mul") || mul.inputs().size() != 2) return null;
        String sName = mul.input(0).equals(cast.output(0)) ? mul.input(1) : mul.input(0);
        if (sName.equals(cast.output(0))) return null;
        TensorType ts = types.get(sName);
        if (ts == null || ts.dtype() != DType.FLOAT32 || !ts.hasRank() || ts.dims().size() > outRank) return null;
        long[] ss = new long[ts.dims().size()];
        long sSize = 1;
        for (int i = 0; i < ss.length; i++) {
            if (!ts.dims().get(i).isKnown()) return null;
            ss[i] = ts.dims().get(i).value();
            sSize *= ss[i];
        }
        if (sSize != 1 && !perChannel(ss, cols, outRank, false)) return null;
        chain.add(cast);
        chain.add(mul);
        String y = mul.output(0);
        List<String> ins = new ArrayList<>();
        for (int i = 0; i < 4; i++) ins.add(mm.hasInput(i) ? mm.input(i) : "");
        ins.add(sName);
        Node add = single(y, consumers, outputs, subgraphReads);
        if (isOp(add, "Add") && add.inputs().size() == 2) {
            String bName = add.input(0).equals(y) ? add.input(1) : add.input(0);
            Tensor bias = consts.get(bName);
            if (!bName.equals(y) && bias != null && bias.dtype() == DType.FLOAT32 && perChannel(bias.shape(), cols, outRank, false)) {
                chain.add(add);
                y = add.output(0);
                ins.add(bName);
            }
        }
        return new Node(mm.name(), MATMUL_INTEGER_TO_FLOAT, DOMAIN, ins, List.of(y), Map.of());
    }

    /**
     * The DequantizeLinear that alone reads the output of QuantizeLinear {@code q}, when both use one-element
     * constant scales and zero points (the activation pairs of QDQ models) and {@code q} has an INT8/UINT8 zero point;
     * else null.
     */
    private static Node fakeQuantPartner(Node q, Map<String, Tensor> consts, Map<String, List<Node>> consumers,
                                         Set<String> outputs, Set<String> subgraphReads) {
        if (!isOp(q, "QuantizeLinear") || q.inputs().size() != 3 || q.outputs().size() != 1 || !q.hasInput(2)) return null;
        if (q.attrLong("block_size", 0) != 0) return null;
        Tensor qs = consts.get(q.input(1)), qz = consts.get(q.input(2));
        if (qs == null || qz == null || qs.size() != 1 || qz.size() != 1 || qs.dtype() != DType.FLOAT32) return null;
        if (qz.dtype() != DType.INT8 && qz.dtype() != DType.UINT8) return null;
        Node dq = single(q.output(0), consumers, outputs, subgraphReads);
        if (!isOp(dq, "DequantizeLinear") || !dq.input(0).equals(q.output(0)) || dq.outputs().size() != 1) return null;
        if (dq.attrLong("block_size", 0) != 0) return null;
        Tensor ds = consts.get(dq.input(1)), dz = dq.hasInput(2) ? consts.get(dq.input(2)) : null;
        if (ds == null || ds.size() != 1 || ds.dtype() != DType.FLOAT32) return null;
        if (dq.hasInput(2) && (dz == null || dz.size() != 1 || dz.dtype() != qz.dtype())) return null;
        return dq;
    }

    /** The value of a one-element float32 constant, else null. */
    private static Double scalar(Map<String, Tensor> consts, String name) {
        Tensor t = consts.get(name);
        if (t == null || t.dtype() != DType.FLOAT32 || t.size() != 1) return null;
        return t.getDouble(0);
    }

    private static boolean isOp(Node n, String op) { return n != null && n.domain().isEmpty() && n.opType().equals(op); }

    /** ReduceMean over the last axis only, dimensions kept (axes given as an attribute). */
    private static boolean lastAxisMean(Node n, Map<String, TensorType> types) {
        if (n.inputs().size() != 1 || n.attrLong("keepdims", 1) != 1) return false;
        long[] axes = n.attrLongs("axes", null);
        if (axes == null || axes.length != 1) return false;
        if (axes[0] == -1) return true;
        TensorType t = types.get(n.input(0));
        return t != null && t.hasRank() && axes[0] == t.dims().size() - 1;
    }

    /** The one node reading {@code v}, when {@code v} is an intermediate (not a graph output, not read by a subgraph). */
    private static Node single(String v, Map<String, List<Node>> consumers, Set<String> outputs, Set<String> subgraphReads) {
        if (outputs.contains(v) || subgraphReads.contains(v)) return null;
        List<Node> cs = consumers.get(v);
        if (cs == null || cs.size() != 1) return null;
        Node c = cs.get(0);
        int reads = 0;
        for (String i : c.inputs()) if (i.equals(v)) reads++;
        return reads == 1 ? c : null;
    }

    /**
     * Whether a constant of shape {@code s} added to the producer's output (rank {@code outRank}) is one value per
     * channel without changing the output's shape: Conv: [C, 1, ..] / [1, C, 1, ..] (channel axis 1);
     * MatMul: [N] / [1, .., N] (last axis).
     */
    static boolean perChannel(long[] s, long channels, int outRank, boolean conv) {
        if (s.length > outRank) return false;
        long size = 1;
        for (long d : s) size *= d;
        if (size != channels) return false;
        if (!conv) return s.length >= 1 && s[s.length - 1] == channels;
        int axis = s.length - (outRank - 1); // position of the channel axis in s (right-aligned broadcasting)
        if (axis < 0) return channels == 1 && allOnes(s);
        for (int i = 0; i < s.length; i++) if (i != axis && s[i] != 1) return false;
        return s[axis] == channels;
    }

    private static boolean allOnes(long[] s) {
        for (long d : s) if (d != 1) return false;
        return true;
    }
}
