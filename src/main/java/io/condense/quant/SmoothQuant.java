package io.condense.quant;

import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.passes.DeadCodeElimination;
import io.condense.passes.GraphPass;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * SmoothQuant (Xiao et al., "SmoothQuant: Accurate and Efficient Post-Training Quantization for Large Language
 * Models", ICML 2023): for every activation X read by MatMul/Gemm weights W (one group per activation), the
 * per-input-channel factor {@code s_j = max|X_j|^alpha / max|W_j|^(1-alpha)} moves the activation outliers into the
 * weights: {@code X W = (X diag(1/s)) (diag(s) W)}. The weights are scaled in place; {@code 1/s} is folded into the
 * LayerNorm affine ({@code Mul} by gamma, {@code Add} of beta, as exported BERT graphs decompose it) when X is that
 * affine's output and nothing but the group reads it, otherwise a {@code Mul} by {@code 1/s} is inserted in front of
 * the group's MatMuls only (so e.g. a post-LN residual path keeps the unscaled X). The float graph computes the same
 * function (up to rounding); static INT8 quantization follows.
 */
public final class SmoothQuant implements GraphPass {
    /** @param alpha migration strength in [0, 1] (paper default 0.5) */
    public record Config(double alpha) {
        public Config {
            if (!(alpha >= 0 && alpha <= 1)) throw new ModelException("SmoothQuant alpha must be in [0, 1], got " + alpha);
        }

        public static Config defaults() { return new Config(0.5); }
    }

    private final Config cfg;
    private final Iterable<Map<String, Tensor>> data;
    private int smoothed, folded;

    public SmoothQuant(Config cfg, Iterable<Map<String, Tensor>> data) {
        if (data == null) throw new ModelException("SmoothQuant needs calibration data for the activation channel ranges");
        this.cfg = cfg;
        this.data = data;
    }

    public Config config() { return cfg; }

    /** Activation groups smoothed by the last {@link #apply}. */
    public int smoothed() { return smoothed; }

    /** Of those, how many had 1/s folded into a LayerNorm affine (the rest got a Mul). */
    public int folded() { return folded; }

    @Override
    public String name() { return "smoothquant-" + cfg.alpha(); }

    /** One weight read by a group: node index, weight name, whether stored [N, K] (Gemm transB). */
    record Member(int node, String weight, boolean kLast) {}

    @Override
    public Graph apply(Graph g) {
        smoothed = 0;
        folded = 0;
        Map<String, List<Member>> groups = groups(g);
        if (groups.isEmpty()) return g;
        Map<String, double[]> xMax = channelAbsMax(g, groups.keySet());
        Map<String, float[]> factors = new LinkedHashMap<>();
        for (Map.Entry<String, List<Member>> e : groups.entrySet()) {
            double[] ax = xMax.get(e.getKey());
            double[] aw = weightChannelAbsMax(g, e.getValue(), ax.length);
            float[] s = new float[ax.length];
            for (int j = 0; j < s.length; j++) {
                double v = ax[j] > 0 && aw[j] > 0 ? Math.pow(ax[j], cfg.alpha()) / Math.pow(aw[j], 1 - cfg.alpha()) : 1;
                s[j] = (float) Math.max(1e-5, Math.min(1e5, v));
            }
            factors.put(e.getKey(), s);
        }
        int[] counts = new int[2];
        Graph r = applyScales(g, factors, counts);
        smoothed = counts[0];
        folded = counts[1];
        return r;
    }

    /**
     * The MatMul/Gemm weight groups of {@code g}, keyed by the activation they read (input 0); weights read by more
     * than one group are left out (they cannot take two scalings).
     */
    static Map<String, List<Member>> groups(Graph g) {
        Set<String> inputs = new HashSet<>();
        for (ValueInfo v : g.inputs()) inputs.add(v.name());
        Map<String, List<Member>> groups = new LinkedHashMap<>();
        List<Node> nodes = g.nodes();
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            Tensor w = DynamicQuantization.weightOf(g, n, inputs);
            if (w == null) continue;
            boolean kLast = n.opType().equals("Gemm") && n.attrLong("transB", 0) != 0;
            groups.computeIfAbsent(n.input(0), k -> new ArrayList<>()).add(new Member(i, n.input(1), kLast));
        }
        Map<String, Integer> weightUse = new HashMap<>();
        for (List<Member> l : groups.values()) for (Member m : l) weightUse.merge(m.weight(), 1, Integer::sum);
        groups.values().removeIf(l -> l.stream().anyMatch(m -> weightUse.get(m.weight()) > 1));
        return groups;
    }

    /** The weight names of each group {@link #applyScales} would rewrite, keyed by activation. */
    public static Map<String, Set<String>> weightGroups(Graph g) {
        Map<String, Set<String>> m = new LinkedHashMap<>();
        for (Map.Entry<String, List<Member>> e : groups(g).entrySet()) {
            Set<String> w = new HashSet<>();
            for (Member x : e.getValue()) w.add(x.weight());
            m.put(e.getKey(), w);
        }
        return m;
    }

    /** max |W_j| over the group's weights per input channel j. */
    static double[] weightChannelAbsMax(Graph g, List<Member> members, int k) {
        double[] aw = new double[k];
        for (Member m : members) {
            Tensor w = g.initializers().get(m.weight());
            if ((m.kLast() ? w.dim(1) : w.dim(0)) != k) throw new ModelException("SmoothQuant: weight '" + m.weight() + "' does not have " + k + " input channels");
            float[] f = w.toFloatArray();
            int cols = (int) w.dim(1);
            for (int i = 0; i < f.length; i++) {
                int j = m.kLast() ? i % cols : i / cols;
                aw[j] = Math.max(aw[j], Math.abs(f[i]));
            }
        }
        return aw;
    }

    /**
     * {@code X W = (X diag(1/s)) (diag(s) W)} for every activation X in {@code factors} (its per-input-channel s):
     * the group's weights are scaled and 1/s is folded into a LayerNorm affine or applied by an inserted Mul.
     *
     * @param counts if not null: [0] groups rewritten, [1] of those folded
     */
    public static Graph applyScales(Graph g, Map<String, float[]> factors, int[] counts) {
        Map<String, List<Member>> groups = groups(g);
        Set<String> inputs = new HashSet<>();
        for (ValueInfo v : g.inputs()) inputs.add(v.name());
        List<Node> nodes = g.nodes();
        Map<String, Tensor> inits = new LinkedHashMap<>(g.initializers());
        Map<String, Node> producers = g.producers();
        Map<String, List<Node>> consumers = g.consumers();
        List<Node> out = new ArrayList<>(nodes);
        Set<String> names = new HashSet<>(inits.keySet());
        for (Node n : nodes) {
            names.add(n.name());
            names.addAll(n.outputs());
        }
        names.addAll(inputs);
        for (Map.Entry<String, float[]> e : factors.entrySet()) {
            String x = e.getKey();
            List<Member> members = groups.get(x);
            if (members == null) throw new ModelException("no MatMul/Gemm weight group reads '" + x + "'");
            float[] s = e.getValue();
            int k = s.length;
            for (Member m : members) {
                Tensor w = inits.get(m.weight());
                float[] f = w.toFloatArray().clone();
                int cols = (int) w.dim(1);
                for (int i = 0; i < f.length; i++) f[i] *= s[m.kLast() ? i % cols : i / cols];
                inits.put(m.weight(), Tensor.of(f, w.shape()));
            }
            Set<Integer> memberNodes = new HashSet<>();
            for (Member m : members) memberNodes.add(m.node());
            if (tryFold(x, s, producers, consumers, nodes, memberNodes, inits, out, names)) {
                if (counts != null) counts[1]++;
            } else {
                float[] inv = new float[k];
                for (int j = 0; j < k; j++) inv[j] = 1f / s[j];
                String sn = fresh(names, x + "_smooth_scale"), xs = fresh(names, x + "_smoothed");
                inits.put(sn, Tensor.of(inv, k));
                out.add(new Node(fresh(names, x + "_SmoothQuant_Mul"), "Mul", "", List.of(x, sn), List.of(xs), Map.of()));
                for (int idx : memberNodes) {
                    Node n = out.get(idx);
                    List<String> in = new ArrayList<>(n.inputs());
                    in.set(0, xs);
                    out.set(idx, n.withInputs(in));
                }
            }
            if (counts != null) counts[0]++;
        }
        Graph r = g.toBuilder().nodes(out).initializers(inits).build().sorted();
        return new DeadCodeElimination().apply(r);
    }

    /** Folds 1/s into x = Add(Mul(y, gamma), beta) (either operand order) when only the group reads x and only the Add reads the Mul. */
    private static boolean tryFold(String x, float[] s, Map<String, Node> producers, Map<String, List<Node>> consumers, List<Node> nodes,
                                   Set<Integer> members, Map<String, Tensor> inits, List<Node> out, Set<String> names) {
        Node add = producers.get(x);
        if (add == null || !add.opType().equals("Add") || !add.domain().isEmpty()) return false;
        List<Node> readers = consumers.getOrDefault(x, List.of());
        if (readers.size() != members.size()) return false;
        for (Node r : readers) if (!members.contains(nodes.indexOf(r))) return false;
        int bi = vectorInput(add, inits, s.length);
        if (bi < 0) return false;
        Node mul = producers.get(add.input(1 - bi));
        if (mul == null || !mul.opType().equals("Mul") || consumers.getOrDefault(mul.output(0), List.of()).size() != 1) return false;
        int gi = vectorInput(mul, inits, s.length);
        if (gi < 0) return false;
        String gamma = fresh(names, mul.input(gi) + "_smoothed"), beta = fresh(names, add.input(bi) + "_smoothed");
        inits.put(gamma, divide(inits.get(mul.input(gi)), s));
        inits.put(beta, divide(inits.get(add.input(bi)), s));
        int mi = nodes.indexOf(mul), ai = nodes.indexOf(add);
        List<String> mIn = new ArrayList<>(mul.inputs());
        mIn.set(gi, gamma);
        out.set(mi, mul.withInputs(mIn));
        List<String> aIn = new ArrayList<>(add.inputs());
        aIn.set(bi, beta);
        out.set(ai, add.withInputs(aIn));
        return true;
    }

    /** The input index (0/1) of {@code n} that is a 1-D float initializer of {@code k} values, else -1. */
    private static int vectorInput(Node n, Map<String, Tensor> inits, int k) {
        for (int i = 0; i < 2; i++) {
            Tensor t = inits.get(n.input(i));
            if (t != null && t.dtype().isFloating() && t.rank() == 1 && t.dim(0) == k) return i;
        }
        return -1;
    }

    private static Tensor divide(Tensor t, float[] s) {
        float[] f = t.toFloatArray().clone();
        for (int i = 0; i < f.length; i++) f[i] /= s[i];
        return Tensor.of(f, t.shape());
    }

    private static String fresh(Set<String> names, String base) { return io.condense.ir.Names.fresh(names, base); }

    /** max |x_j| over every row of each activation (last axis = channel) over the calibration data. */
    private Map<String, double[]> channelAbsMax(Graph g, Set<String> values) {
        return channelAbsMax(g, values, data);
    }

    /** max |x_j| over every row of each activation (last axis = channel) over {@code data}. */
    static Map<String, double[]> channelAbsMax(Graph g, Set<String> values, Iterable<Map<String, Tensor>> data) {
        Set<String> outs = new HashSet<>();
        for (ValueInfo o : g.outputs()) outs.add(o.name());
        List<ValueInfo> all = new ArrayList<>(g.outputs());
        for (String v : values) if (!outs.contains(v)) all.add(new ValueInfo(v, TensorType.unknown()));
        Graph probe = g.toBuilder().outputs(all).build();
        Map<String, double[]> m = new LinkedHashMap<>();
        int nb = 0;
        try (Session sess = Backends.cpu().open(probe)) {
            for (Map<String, Tensor> feed : data) {
                Map<String, Tensor> res = sess.run(feed);
                for (String v : values) {
                    Tensor t = feed.containsKey(v) ? feed.get(v) : res.get(v);
                    if (t == null) throw new ModelException("SmoothQuant: activation '" + v + "' was not computed");
                    int k = (int) t.dim(t.rank() - 1);
                    double[] a = m.computeIfAbsent(v, q -> new double[k]);
                    float[] f = t.toFloatArray();
                    for (int i = 0; i < f.length; i++) {
                        float x = Math.abs(f[i]);
                        if (!Float.isFinite(x)) throw new ModelException("SmoothQuant: activation '" + v + "' has NaN/infinite values");
                        if (x > a[i % k]) a[i % k] = x;
                    }
                }
                nb++;
            }
        }
        if (nb == 0) throw new ModelException("calibration data is empty");
        return m;
    }
}
