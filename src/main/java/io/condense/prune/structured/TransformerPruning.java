package io.condense.prune.structured;

import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.data.text.TextBatch;
import io.condense.ir.Graph;
import io.condense.ir.GraphValidator;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.passes.DeadCodeElimination;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Attention-head and FFN-neuron pruning of BERT-style ONNX graphs.
 *
 * <p>Heads: each Softmax whose scores come from {@code MatMul(Q, K^T)} of two reshaped projections
 * {@code Add(b, MatMul(x, W))} and whose probabilities multiply a third (V) is an attention block; removing head
 * h cuts columns {@code [h*D, (h+1)*D)} of Wq/Wk/Wv and their biases, the same rows of the output projection, and
 * rewrites the head count (and H*D) in the Reshape shape constants. A head whose Q/K/V weights are zero outputs
 * its V bias everywhere (softmax over a constant row sums to one), so {@code bv_h @ Wo_h} is folded into the output
 * bias: the pruned graph equals the masked one.
 *
 * <p>FFN neurons are the prunable {@link DependencyGraph} groups whose sources are MatMuls (the intermediate
 * dense layer: columns of the first FFN MatMul, its bias, rows of the second); GELU(b) of a removed neuron is
 * folded into the second bias by {@link ChannelPruner}.
 *
 * <p>Importance from calibration text: a head scores the mean norm of its contribution {@code ctx_h @ Wo_h}
 * over the real tokens; a neuron scores {@code mean|a_j| * ||W2[j,:]||} (Wanda's product on the output side).
 */
public final class TransformerPruning {
    private TransformerPruning() {}

    /** One self-attention block: projection MatMuls/biases, the reshapes that carry the head count, the output projection. */
    public record Attention(String q, String k, String v, String qBias, String kBias, String vBias,
                            List<String> headReshapes, String contextReshape, String context,
                            String out, String outBias, int heads, int headDim) {}

    /** The attention blocks of a graph (by Softmax order). */
    public static List<Attention> attentions(Graph g) {
        Map<String, Node> prod = g.producers();
        Map<String, List<Node>> cons = g.consumers();
        List<Attention> out = new ArrayList<>();
        for (Node s : g.nodes()) {
            if (!s.opType().equals("Softmax")) continue;
            try {
                Attention a = attention(g, s, prod, cons);
                if (a != null) out.add(a);
            } catch (RuntimeException e) {
                if (Boolean.getBoolean("condense.debug")) e.printStackTrace();
            }
        }
        return out;
    }

    private static Attention attention(Graph g, Node s, Map<String, Node> prod, Map<String, List<Node>> cons) {
        Node qk = findBack(s.input(0), prod, g, 4);
        if (qk == null) return null;
        List<Node> after = cons.getOrDefault(s.output(0), List.of());
        if (after.size() != 1 || !after.get(0).opType().equals("MatMul")) return null;
        Node pv = after.get(0);
        Node rq = reshapeBack(qk.input(0), prod), rk = reshapeBack(qk.input(1), prod), rv = reshapeBack(pv.input(1), prod);
        if (rq == null || rk == null || rv == null) return null;
        String[] q = projection(g, rq.input(0), prod), k = projection(g, rk.input(0), prod), v = projection(g, rv.input(0), prod);
        if (q == null || k == null || v == null) return null;
        // context: pv -> Transpose -> Reshape -> MatMul(Wo) -> Add(bo)
        Node t = single(cons, pv.output(0), "Transpose");
        Node ro = t == null ? null : single(cons, t.output(0), "Reshape");
        Node mo = ro == null ? null : single(cons, ro.output(0), "MatMul");
        if (mo == null || !mo.input(0).equals(ro.output(0)) || !g.initializers().containsKey(mo.input(1))) return null;
        Node ao = single(cons, mo.output(0), "Add");
        String ob = ao == null ? null : (g.initializers().containsKey(ao.input(0)) ? ao.input(0) : g.initializers().containsKey(ao.input(1)) ? ao.input(1) : null);
        long[] shq = shapeOf(g, rq.input(1), prod);
        if (shq == null || shq.length != 4) return null;
        int heads = (int) shq[2];
        Tensor wq = g.initializers().get(q[0]);
        int hd = (int) wq.dim(1) / heads;
        if (hd != shq[3] && shq[3] != -1) return null;
        return new Attention(q[2], k[2], v[2], q[1], k[1], v[1], List.of(rq.output(0), rk.output(0), rv.output(0)), ro.output(0),
                pv.output(0), DependencyGraph.key(mo), ob, heads, hd);
    }

    private static Node single(Map<String, List<Node>> cons, String v, String op) {
        List<Node> c = cons.getOrDefault(v, List.of()).stream().filter(n -> !n.opType().equals("Shape")).toList();
        return c.size() == 1 && c.get(0).opType().equals(op) ? c.get(0) : null;
    }

    /** The MatMul of two non-constant operands within {@code depth} producers of {@code v}. */
    private static Node findBack(String v, Map<String, Node> prod, Graph g, int depth) {
        Node n = prod.get(v);
        if (n == null || depth == 0) return null;
        if (n.opType().equals("MatMul") && !g.initializers().containsKey(n.input(1))) return n;
        if (!Arrays.asList("Add", "Div", "Mul", "Sub", "Where", "Cast").contains(n.opType())) return null;
        for (String i : n.inputs()) {
            Node r = findBack(i, prod, g, depth - 1);
            if (r != null) return r;
        }
        return null;
    }

    private static Node reshapeBack(String v, Map<String, Node> prod) {
        Node n = prod.get(v);
        while (n != null && n.opType().equals("Transpose")) n = prod.get(n.input(0));
        return n != null && n.opType().equals("Reshape") ? n : null;
    }

    /** {weight, bias, matmul key} of {@code Add(bias, MatMul(x, W))}, or null. */
    private static String[] projection(Graph g, String v, Map<String, Node> prod) {
        Node a = prod.get(v);
        if (a == null || !a.opType().equals("Add")) return null;
        for (int i = 0; i < 2; i++) {
            Node m = prod.get(a.input(i));
            String b = a.input(1 - i);
            if (m != null && m.opType().equals("MatMul") && g.initializers().containsKey(m.input(1)) && g.initializers().containsKey(b)) {
                return new String[] {m.input(1), b, DependencyGraph.key(m)};
            }
        }
        return null;
    }

    /** The values of a shape input: an initializer, or a Concat of initializers and unknown length-1 parts (-1). */
    private static long[] shapeOf(Graph g, String v, Map<String, Node> prod) {
        Tensor t = g.initializers().get(v);
        if (t != null) return t.toLongArray();
        Node c = prod.get(v);
        if (c == null || !c.opType().equals("Concat")) return null;
        List<Long> out = new ArrayList<>();
        for (String i : c.inputs()) {
            Tensor p = g.initializers().get(i);
            if (p != null) { for (long x : p.toLongArray()) out.add(x); continue; }
            out.add(-1L); // a dynamic dim (Unsqueeze of a Gather of a Shape): one element
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    // ---- importance from calibration text ----

    /** Per attention block, the score of each head (higher is more important). */
    public static List<double[]> headScores(Graph g, List<Attention> blocks, List<TextBatch> batches) {
        List<ValueInfo> outs = new ArrayList<>(g.outputs());
        for (Attention a : blocks) outs.add(new ValueInfo(a.context(), TensorType.unknown()));
        Graph probe = g.toBuilder().outputs(outs).build();
        List<double[]> scores = new ArrayList<>();
        for (Attention a : blocks) scores.add(new double[a.heads()]);
        long tokens = 0;
        try (Session s = Backends.cpu().open(probe)) {
            for (TextBatch b : batches) {
                Map<String, Tensor> r = s.run(b.feeds(g.inputs()));
                for (int i = 0; i < blocks.size(); i++) {
                    Attention a = blocks.get(i);
                    float[] ctx = r.get(a.context()).toFloatArray(); // [B, H, S, D]
                    Tensor wo = g.initializers().get(outWeight(g, a));
                    float[] w = (float[]) wo.data();
                    int hidden = (int) wo.dim(1), H = a.heads(), D = a.headDim(), S = b.length();
                    double[] acc = new double[hidden];
                    for (int bi = 0; bi < b.size(); bi++) {
                        for (int si = 0; si < S; si++) {
                            if (b.mask()[bi][si] == 0) continue;
                            for (int h = 0; h < H; h++) {
                                Arrays.fill(acc, 0);
                                int base = ((bi * H + h) * S + si) * D;
                                for (int d = 0; d < D; d++) {
                                    float c = ctx[base + d];
                                    int row = (h * D + d) * hidden;
                                    for (int o = 0; o < hidden; o++) acc[o] += c * w[row + o];
                                }
                                double n = 0;
                                for (double x : acc) n += x * x;
                                scores.get(i)[h] += Math.sqrt(n);
                            }
                        }
                    }
                }
                for (int bi = 0; bi < b.size(); bi++) tokens += b.tokens(bi);
            }
        }
        for (double[] sc : scores) for (int h = 0; h < sc.length; h++) sc[h] /= Math.max(1, tokens);
        return scores;
    }

    private static String outWeight(Graph g, Attention a) {
        for (Node n : g.nodes()) if (DependencyGraph.key(n).equals(a.out())) return n.input(1);
        throw new ModelException("output projection " + a.out() + " not found");
    }

    /** FFN groups of an analysed graph: prunable groups produced by MatMuls. */
    public static List<PruningGroup> ffnGroups(DependencyGraph dg) {
        List<PruningGroup> out = new ArrayList<>();
        Map<String, Node> byKey = new HashMap<>();
        for (Node n : dg.graph().nodes()) byKey.put(n.name().isEmpty() ? DependencyGraph.key(n) : n.name(), n);
        for (PruningGroup p : dg.groups()) {
            if (!p.prunable() || p.sourceNodes().isEmpty()) continue;
            boolean matmul = p.sourceNodes().stream().allMatch(s -> byKey.containsKey(s) && byKey.get(s).opType().equals("MatMul"));
            if (matmul) out.add(p);
        }
        return out;
    }

    /** Per FFN group: mean |activation| over real tokens times the L2 norm of the second layer's row. */
    public static List<double[]> ffnScores(DependencyGraph dg, List<PruningGroup> groups, List<TextBatch> batches) {
        Graph g = dg.graph();
        List<String> acts = new ArrayList<>();
        List<PruningGroup.Member> sinks = new ArrayList<>();
        Map<String, Node> byValue = new HashMap<>();
        for (Node n : g.nodes()) for (String i : n.inputs()) byValue.putIfAbsent(i + "@" + n.opType(), n);
        for (PruningGroup p : groups) {
            PruningGroup.Member sink = p.members().stream().filter(m -> m.role() == PruningGroup.Role.SINK).findFirst()
                    .orElseThrow(() -> new ModelException("FFN group " + p.id() + " has no consumer weights"));
            sinks.add(sink);
            Node mm = null;
            for (Node n : g.nodes()) if (n.opType().equals("MatMul") && n.input(1).equals(sink.value())) mm = n;
            acts.add(mm.input(0));
        }
        List<ValueInfo> outs = new ArrayList<>(g.outputs());
        for (String a : acts) outs.add(new ValueInfo(a, TensorType.unknown()));
        Graph probe = g.toBuilder().outputs(outs).build();
        List<double[]> scores = new ArrayList<>();
        for (PruningGroup p : groups) scores.add(new double[p.size()]);
        long tokens = 0;
        try (Session s = Backends.cpu().open(probe)) {
            for (TextBatch b : batches) {
                Map<String, Tensor> r = s.run(b.feeds(g.inputs()));
                for (int i = 0; i < groups.size(); i++) {
                    float[] a = r.get(acts.get(i)).toFloatArray(); // [B, S, F]
                    int f = groups.get(i).size(), S = b.length();
                    for (int bi = 0; bi < b.size(); bi++) for (int si = 0; si < S; si++) {
                        if (b.mask()[bi][si] == 0) continue;
                        int base = (bi * S + si) * f;
                        for (int j = 0; j < f; j++) scores.get(i)[j] += Math.abs(a[base + j]);
                    }
                }
                for (int bi = 0; bi < b.size(); bi++) tokens += b.tokens(bi);
            }
        }
        for (int i = 0; i < groups.size(); i++) {
            Tensor w2 = g.initializers().get(sinks.get(i).value());
            float[] w = (float[]) w2.data();
            int f = (int) w2.dim(0), hidden = (int) w2.dim(1);
            for (int j = 0; j < f; j++) {
                double n = 0;
                for (int o = 0; o < hidden; o++) n += (double) w[j * hidden + o] * w[j * hidden + o];
                scores.get(i)[j] = scores.get(i)[j] / Math.max(1, tokens) * Math.sqrt(n);
            }
        }
        return scores;
    }

    /** The indices of the {@code round(ratio * n)} lowest scores (at least one kept), sorted. */
    public static int[] lowest(double[] s, double ratio) {
        int k = Math.min(s.length - 1, (int) Math.round(ratio * s.length));
        Integer[] idx = new Integer[s.length];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        Arrays.sort(idx, (a, b) -> s[a] != s[b] ? Double.compare(s[a], s[b]) : Integer.compare(a, b));
        int[] out = new int[Math.max(0, k)];
        for (int i = 0; i < out.length; i++) out[i] = idx[i];
        Arrays.sort(out);
        return out;
    }

    // ---- rewriting ----

    /** The graph with Q/K/V weights of the given heads zeroed (same shapes): what head pruning must reproduce. */
    public static Graph maskHeads(Graph g, List<Attention> blocks, Map<Integer, int[]> removed) {
        Graph.Builder b = g.toBuilder();
        for (Map.Entry<Integer, int[]> e : removed.entrySet()) {
            Attention a = blocks.get(e.getKey());
            for (String w : weightsOf(g, a)) {
                Tensor t = g.initializers().get(w);
                float[] d = ((float[]) t.data()).clone();
                int cols = (int) t.dim(1);
                for (int h : e.getValue()) for (int r = 0; r < t.dim(0); r++) Arrays.fill(d, r * cols + h * a.headDim(), r * cols + (h + 1) * a.headDim(), 0f);
                b.initializer(w, Tensor.of(d, t.shape()));
            }
        }
        return b.build();
    }

    private static List<String> weightsOf(Graph g, Attention a) {
        List<String> w = new ArrayList<>();
        for (String key : List.of(a.q(), a.k(), a.v())) {
            for (Node n : g.nodes()) if (DependencyGraph.key(n).equals(key)) w.add(n.input(1));
        }
        return w;
    }

    /** Removes heads (block index -> head indices) physically. */
    public static Graph pruneHeads(Graph g, List<Attention> blocks, Map<Integer, int[]> removed) {
        Graph.Builder b = g.toBuilder();
        ChannelPruner.Rewriter rw = new ChannelPruner.Rewriter(b);
        Map<String, Node> prod = g.producers();
        List<Node> nodes = new ArrayList<>(g.nodes());
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) index.put(DependencyGraph.key(nodes.get(i)), i);
        for (Map.Entry<Integer, int[]> e : removed.entrySet()) {
            Attention a = blocks.get(e.getKey());
            int H = a.heads(), D = a.headDim();
            if (e.getValue().length == 0) continue;
            if (e.getValue().length >= H) throw new ModelException("cannot remove all " + H + " heads of an attention block");
            boolean[] cut = new boolean[H * D];
            for (int h : e.getValue()) {
                if (h < 0 || h >= H) throw new ModelException("head " + h + " out of range (0.." + (H - 1) + ")");
                Arrays.fill(cut, h * D, (h + 1) * D, true);
            }
            int kept = H - e.getValue().length;
            // fold bv_h @ Wo_h of the removed heads into the output bias
            String wo = outWeight(g, a);
            Tensor wot = g.initializers().get(wo), bv = g.initializers().get(a.vBias());
            int hidden = (int) wot.dim(1);
            if (a.outBias() != null) {
                float[] ob = g.initializers().get(a.outBias()).toFloatArray();
                float[] w = (float[]) wot.data();
                float[] bvd = bv.toFloatArray();
                for (int r = 0; r < H * D; r++) {
                    if (!cut[r] || bvd[r] == 0) continue;
                    for (int o = 0; o < hidden; o++) ob[o] += bvd[r] * w[r * hidden + o];
                }
                b.initializer(a.outBias(), Tensor.of(ob, g.initializers().get(a.outBias()).shape()));
            }
            for (String w : weightsOf(g, a)) b.initializer(w, ChannelPruner.cut(g.initializers().get(w), Map.of(1, cut)));
            for (String bias : List.of(a.qBias(), a.kBias(), a.vBias())) b.initializer(bias, ChannelPruner.cut(g.initializers().get(bias), Map.of(0, cut)));
            b.initializer(wo, ChannelPruner.cut(wot, Map.of(0, cut)));
            for (String r : a.headReshapes()) setShapeEntry(g, prod, nodes, index, r, 2, kept, rw);
            setShapeEntry(g, prod, nodes, index, a.contextReshape(), 2, (long) kept * D, rw);
        }
        b.nodes(nodes);
        b.valueInfo(Map.of());
        Graph out = new DeadCodeElimination().apply(b.build());
        GraphValidator.validate(out);
        return out;
    }

    /** Sets entry {@code pos} of the shape input of the Reshape producing {@code reshapeOut}. */
    private static void setShapeEntry(Graph g, Map<String, Node> prod, List<Node> nodes, Map<String, Integer> index,
                                      String reshapeOut, int pos, long value, ChannelPruner.Rewriter rw) {
        int ri = index.get(reshapeOut);
        Node r = nodes.get(ri);
        String shape = r.input(1);
        Tensor t = g.initializers().get(shape);
        if (t != null) {
            long[] v = t.toLongArray();
            v[pos] = value;
            nodes.set(ri, r.withInputs(List.of(r.input(0), rw.addInitializer(shape, v))));
            return;
        }
        Node c = prod.get(shape);
        int ci = index.get(DependencyGraph.key(c));
        int at = 0;
        List<String> in = new ArrayList<>(c.inputs());
        for (int i = 0; i < in.size(); i++) {
            Tensor p = g.initializers().get(in.get(i));
            int len = p == null ? 1 : p.size();
            if (pos >= at && pos < at + len) {
                if (p == null) throw new ModelException("Reshape " + reshapeOut + ": the head count is not a constant");
                long[] v = p.toLongArray();
                v[pos - at] = value;
                in.set(i, rw.addInitializer(in.get(i), Tensor.of(v, p.shape())));
                nodes.set(ci, nodes.get(ci).withInputs(in));
                return;
            }
            at += len;
        }
        throw new ModelException("Reshape " + reshapeOut + ": shape has no entry " + pos);
    }

    /** Removes FFN neurons (group id -> indices) with {@link ChannelPruner}. */
    public static Graph pruneFfn(DependencyGraph dg, Map<Integer, int[]> removed) {
        return ChannelPruner.prune(dg, removed).graph();
    }

    /** Convenience: prunes {@code ratio} of the heads of every block by calibration scores. */
    public static Graph pruneHeads(Graph g, double ratio, List<TextBatch> calibration) {
        List<Attention> blocks = attentions(g);
        if (blocks.isEmpty()) throw new ModelException("no attention blocks found (expected Softmax(MatMul(Q, K^T)) with reshaped projections)");
        List<double[]> sc = headScores(g, blocks, calibration);
        Map<Integer, int[]> rm = new LinkedHashMap<>();
        for (int i = 0; i < blocks.size(); i++) rm.put(i, lowest(sc.get(i), ratio));
        return pruneHeads(g, blocks, rm);
    }

    /** Convenience: prunes {@code ratio} of the neurons of every FFN by calibration scores. */
    public static Graph pruneFfn(Graph g, double ratio, List<TextBatch> calibration) {
        DependencyGraph dg = DependencyGraph.build(g);
        List<PruningGroup> groups = ffnGroups(dg);
        if (groups.isEmpty()) throw new ModelException("no prunable FFN (MatMul -> activation -> MatMul) found");
        List<double[]> sc = ffnScores(dg, groups, calibration);
        Map<Integer, int[]> rm = new LinkedHashMap<>();
        for (int i = 0; i < groups.size(); i++) rm.put(groups.get(i).id(), lowest(sc.get(i), ratio));
        return pruneFfn(dg, rm);
    }
}
