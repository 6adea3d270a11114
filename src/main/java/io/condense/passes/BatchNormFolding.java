package io.condense.passes;

import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Folds an inference-mode BatchNormalization that directly follows a Conv or a Gemm into that node's weights
 * and bias: with {@code s = scale / sqrt(var + eps)} per output channel, {@code W' = W * s} (Conv: along
 * the output-channel axis 0; Gemm: the output column, i.e. B's column for transB=0 or row for transB=1) and
 * {@code b' = (b - mean) * s + bias}. Applies only when the weights and all BN parameters are initializers,
 * the producer's output has no other reader and is not a graph output, and the BN has a single output.
 * Arithmetic is done in double precision and stored in the weights' element type.
 */
public final class BatchNormFolding implements GraphPass {
    @Override
    public String name() { return "batchnorm-folding"; }

    @Override
    public Graph apply(Graph g) {
        Map<String, Node> producers = g.producers();
        Map<String, List<Node>> consumers = g.consumers();
        Set<String> graphOutputs = new HashSet<>();
        for (ValueInfo o : g.outputs()) graphOutputs.add(o.name());
        Map<String, Tensor> inits = new LinkedHashMap<>(g.initializers());
        Set<String> inputs = new HashSet<>();
        for (ValueInfo v : g.inputs()) inputs.add(v.name());
        Map<Node, Node> replace = new IdentityHashMap<>();
        Set<Node> drop = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        int counter = 0;
        for (Node bn : g.nodes()) {
            if (!bn.opType().equals("BatchNormalization") || !bn.domain().isEmpty()) continue;
            if (bn.outputs().stream().skip(1).anyMatch(o -> !o.isEmpty())) continue;
            if (bn.attrLong("training_mode", 0) != 0 || bn.attrLong("spatial", 1) == 0) continue;
            if (g.opset() < 7 && bn.attrLong("is_test", 0) == 0) continue;
            Node p = producers.get(bn.input(0));
            if (p == null || !p.domain().isEmpty() || replace.containsKey(p) || drop.contains(p)) continue;
            if (!p.opType().equals("Conv") && !p.opType().equals("Gemm")) continue;
            String mid = bn.input(0);
            if (graphOutputs.contains(mid) || consumers.getOrDefault(mid, List.of()).size() != 1) continue;
            Tensor[] bnp = new Tensor[4];
            boolean ok = true;
            for (int i = 0; i < 4; i++) {
                bnp[i] = constant(inits, inputs, bn.input(i + 1));
                if (bnp[i] == null || bnp[i].rank() != 1 || !bnp[i].dtype().isFloating()) ok = false;
            }
            if (!ok) continue;
            int c = bnp[0].size();
            for (Tensor t : bnp) if (t.size() != c) ok = false;
            if (!ok) continue;
            double eps = bn.attrFloat("epsilon", 1e-5f);
            double[] s = new double[c], shift = new double[c];
            for (int i = 0; i < c; i++) {
                s[i] = bnp[0].getDouble(i) / Math.sqrt(bnp[3].getDouble(i) + eps);
                shift[i] = bnp[1].getDouble(i) - bnp[2].getDouble(i) * s[i];
            }
            String tag = "_bnfold" + (counter++);
            Node folded = p.opType().equals("Conv")
                    ? foldConv(p, inits, inputs, s, shift, tag)
                    : foldGemm(p, inits, inputs, s, shift, tag);
            if (folded == null) continue;
            List<String> outs = new ArrayList<>(folded.outputs());
            outs.set(0, bn.output(0));
            replace.put(p, folded.withOutputs(outs));
            drop.add(bn);
        }
        if (replace.isEmpty()) return g;
        List<Node> nodes = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (drop.contains(n)) continue;
            nodes.add(replace.getOrDefault(n, n));
        }
        Graph out = g.toBuilder().nodes(nodes).initializers(inits).build();
        return new DeadCodeElimination().apply(out);
    }

    private static Tensor constant(Map<String, Tensor> inits, Set<String> inputs, String name) {
        if (name.isEmpty() || inputs.contains(name)) return null;
        return inits.get(name);
    }

    private static Node foldConv(Node conv, Map<String, Tensor> inits, Set<String> inputs, double[] s, double[] shift, String tag) {
        Tensor w = constant(inits, inputs, conv.input(1));
        if (w == null || !w.dtype().isFloating() || w.rank() < 3 || w.dim(0) != s.length) return null;
        Tensor b = conv.hasInput(2) ? constant(inits, inputs, conv.input(2)) : null;
        if (conv.hasInput(2) && (b == null || b.size() != s.length)) return null;
        int c = s.length;
        int per = w.size() / c;
        Tensor w2 = Tensor.zeros(w.dtype(), w.shape());
        for (int o = 0; o < c; o++) {
            for (int j = 0; j < per; j++) w2.setDouble(o * per + j, w.getDouble(o * per + j) * s[o]);
        }
        DType bt = b != null ? b.dtype() : w.dtype();
        Tensor b2 = Tensor.zeros(bt, c);
        for (int o = 0; o < c; o++) b2.setDouble(o, (b != null ? b.getDouble(o) : 0) * s[o] + shift[o]);
        String wn = conv.input(1) + tag, bn = (conv.hasInput(2) ? conv.input(2) : conv.output(0) + "_bias") + tag;
        inits.put(wn, w2);
        inits.put(bn, b2);
        return conv.withInputs(List.of(conv.input(0), wn, bn));
    }

    private static Node foldGemm(Node gemm, Map<String, Tensor> inits, Set<String> inputs, double[] s, double[] shift, String tag) {
        Tensor w = constant(inits, inputs, gemm.input(1));
        if (w == null || !w.dtype().isFloating() || w.rank() != 2) return null;
        boolean transB = gemm.attrLong("transB", 0) != 0;
        int n = s.length;
        long rows = w.dim(0), cols = w.dim(1);
        if ((transB ? rows : cols) != n) return null;
        double alpha = gemm.attrFloat("alpha", 1f), beta = gemm.attrFloat("beta", 1f);
        Tensor c = gemm.hasInput(2) ? constant(inits, inputs, gemm.input(2)) : null;
        if (gemm.hasInput(2) && c == null) return null;
        Tensor w2 = Tensor.zeros(w.dtype(), w.shape());
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < cols; k++) {
                int i = (int) (r * cols + k);
                w2.setDouble(i, w.getDouble(i) * s[transB ? r : k]);
            }
        }
        // C broadcasts to [M, N]: keep its shape when it has rows, else make it [N]
        Tensor c2;
        DType ct = c != null ? c.dtype() : w.dtype();
        if (c != null && c.rank() == 2 && c.dim(0) != 1) {
            long m = c.dim(0), cn = c.dim(1);
            c2 = Tensor.zeros(ct, m, n);
            for (int r = 0; r < m; r++) {
                for (int j = 0; j < n; j++) {
                    double cv = c.getDouble((int) (r * cn + (cn == 1 ? 0 : j)));
                    c2.setDouble(r * n + j, beta * cv * s[j] + shift[j]);
                }
            }
        } else {
            if (c != null && c.size() != 1 && c.size() != n) return null;
            c2 = Tensor.zeros(ct, n);
            for (int j = 0; j < n; j++) {
                double cv = c == null ? 0 : c.getDouble(c.size() == 1 ? 0 : j);
                c2.setDouble(j, beta * cv * s[j] + shift[j]);
            }
        }
        String wn = gemm.input(1) + tag, cn = (gemm.hasInput(2) ? gemm.input(2) : gemm.output(0) + "_bias") + tag;
        inits.put(wn, w2);
        inits.put(cn, c2);
        Map<String, Attribute> attrs = new LinkedHashMap<>(gemm.attributes());
        attrs.put("beta", Attribute.of(1f));
        if (alpha != 1f) attrs.put("alpha", Attribute.of((float) alpha));
        return new Node(gemm.name(), gemm.opType(), gemm.domain(), List.of(gemm.input(0), wn, cn), gemm.outputs(), attrs);
    }
}
