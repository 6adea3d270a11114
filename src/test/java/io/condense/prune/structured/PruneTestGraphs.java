package io.condense.prune.structured;

import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Small graphs for the structured pruning tests. */
final class PruneTestGraphs {
    private PruneTestGraphs() {}

    /** Every rank-1 float initializer (biases, BatchNorm parameters) replaced by seeded random values (variances positive). */
    static Graph randomizeVectors(Graph g, long seed) {
        Random r = new Random(seed);
        Graph.Builder b = g.toBuilder();
        for (Map.Entry<String, Tensor> e : g.initializers().entrySet()) {
            Tensor t = e.getValue();
            if (t.dtype() != DType.FLOAT32 || t.rank() != 1 || t.size() < 2) continue;
            float[] d = new float[t.size()];
            boolean positive = e.getKey().contains("var");
            for (int i = 0; i < d.length; i++) d[i] = positive ? 0.5f + r.nextFloat() : (float) (r.nextGaussian() * 0.5);
            b.initializer(e.getKey(), Tensor.of(d, t.shape()));
        }
        return b.build();
    }

    static Tensor random(Random r, long... shape) {
        float[] d = new float[(int) Tensor.checkedSize(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return Tensor.of(d, shape);
    }

    /** Builder helper. */
    static final class G {
        final Graph.Builder b = Graph.builder().name("t").opset("", 17);
        final Random r;
        int n;

        G(long seed) { r = new Random(seed); }

        String input(String name, long... shape) {
            List<Dim> d = new ArrayList<>();
            for (long s : shape) d.add(Dim.of(s));
            b.addInput(new ValueInfo(name, new TensorType(DType.FLOAT32, d)));
            return name;
        }

        String init(long... shape) {
            String name = "w" + (n++);
            Tensor t = random(r, shape);
            float[] d = (float[]) t.data();
            double sc = 1 / Math.sqrt(d.length / (double) shape[0]);
            for (int i = 0; i < d.length; i++) d[i] *= (float) sc;
            b.initializer(name, t);
            return name;
        }

        String positive(long c) {
            String name = "var" + (n++);
            float[] d = new float[(int) c];
            for (int i = 0; i < d.length; i++) d[i] = 0.5f + r.nextFloat();
            b.initializer(name, Tensor.of(d, c));
            return name;
        }

        String node(String op, List<String> in, Map<String, Attribute> attrs) {
            String out = op.toLowerCase() + (n++);
            b.addNode(new Node(out, op, "", in, List.of(out), new LinkedHashMap<>(attrs)));
            return out;
        }

        String conv(String x, long cin, long cout, long k, long pad, long group) {
            String w = init(cout, cin / group, k, k);
            String bias = init(cout);
            return node("Conv", List.of(x, w, bias), Map.of("kernel_shape", Attribute.of(k, k), "pads", Attribute.of(pad, pad, pad, pad),
                    "group", Attribute.of(group)));
        }

        String bn(String x, long c) {
            return node("BatchNormalization", List.of(x, init(c), init(c), init(c), positive(c)), Map.of("epsilon", Attribute.of(1e-5f)));
        }

        String relu(String x) { return node("Relu", List.of(x), Map.of()); }

        Graph output(String v, long... shape) {
            List<Node> nodes = new ArrayList<>(b.nodes());
            Node last = nodes.get(nodes.size() - 1);
            nodes.set(nodes.size() - 1, last.withOutputs(List.of("out")));
            b.nodes(nodes);
            List<Dim> d = new ArrayList<>();
            for (long s : shape) d.add(Dim.of(s));
            b.addOutput(new ValueInfo("out", new TensorType(DType.FLOAT32, d)));
            return b.build();
        }
    }

    /**
     * conv-BN-ReLU, depthwise conv, 1x1 conv + residual Add, Concat with a second branch, Split, a 3x3 conv without
     * padding, global pool, Flatten, Gemm; and a Flatten of a spatial map into a Gemm.
     */
    static Graph residualConcatDepthwise(long seed) {
        G g = new G(seed);
        String x = g.input("x", 2, 3, 12, 12);
        String a = g.relu(g.bn(g.conv(x, 3, 8, 3, 1, 1), 8));
        String dw = g.relu(g.conv(a, 8, 8, 3, 1, 8));
        String p = g.conv(dw, 8, 8, 1, 0, 1);
        String res = g.relu(g.node("Add", List.of(p, a), Map.of()));
        String c2 = g.relu(g.conv(x, 3, 6, 3, 1, 1));
        String cat = g.node("Concat", List.of(res, c2), Map.of("axis", Attribute.of(1L)));
        String d = g.relu(g.conv(cat, 14, 10, 3, 0, 1));
        String pooled = g.node("MaxPool", List.of(d), Map.of("kernel_shape", Attribute.of(2L, 2L), "strides", Attribute.of(2L, 2L)));
        String flat = g.node("Flatten", List.of(pooled), Map.of("axis", Attribute.of(1L)));
        String fc = g.node("Gemm", List.of(flat, g.init(7, 10 * 5 * 5), g.init(7)), Map.of("transB", Attribute.of(1L)));
        String h = g.relu(fc);
        g.node("Gemm", List.of(h, g.init(7, 4), g.init(4)), Map.of());
        return g.output("out", 2, 4);
    }
}
