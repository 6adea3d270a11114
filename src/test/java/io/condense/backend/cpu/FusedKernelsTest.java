package io.condense.backend.cpu;

import io.condense.OrtTestSupport;
import io.condense.TensorAssert;
import io.condense.backend.Session;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import io.condense.passes.Fusion;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The session's fused and small-input paths (FusedConv/FusedMatMul from {@link Fusion}, Java loops of
 * {@link SmallConv}, in-place epilogues on the large path) against ONNX Runtime on the unfused graph.
 */
class FusedKernelsTest {
    private static final Random R = new Random(7);

    static Tensor random(long... shape) {
        Tensor t = Tensor.zeros(DType.FLOAT32, shape);
        for (int i = 0; i < t.size(); i++) t.setDouble(i, R.nextFloat() * 2 - 1);
        return t;
    }

    static Map<String, Attribute> attrs(Object... kv) {
        Map<String, Attribute> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            Object v = kv[i + 1];
            m.put((String) kv[i], v instanceof long[] l ? Attribute.of(l) : v instanceof String s ? Attribute.of(s) : Attribute.of((Long) v));
        }
        return m;
    }

    /** Conv [+B] -> Add(constant of addShape) -> Relu [-> MaxPool], checked against ORT; returns the optimized op count. */
    private static void convCase(long[] xs, long m, long[] k, Map<String, Attribute> convAttrs, boolean convBias,
                                 long[] addShape, boolean relu, Map<String, Attribute> poolAttrs) {
        Graph.Builder b = Graph.builder().name("t").opset("", 13);
        b.addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, xs)));
        b.initializer("w", random(m, xs[1] / (convAttrs.containsKey("group") ? (Long) convAttrs.get("group").value() : 1), k[0], k[1]));
        List<String> ins = new ArrayList<>(List.of("x", "w"));
        if (convBias) {
            b.initializer("b", random(m));
            ins.add("b");
        }
        b.addNode(new Node("conv", "Conv", "", ins, List.of("c"), convAttrs));
        String y = "c";
        if (addShape != null) {
            b.initializer("a", random(addShape));
            b.addNode(new Node("add", "Add", "", List.of("a", y), List.of("s"), Map.of()));
            y = "s";
        }
        if (relu) {
            b.addNode(new Node("relu", "Relu", "", List.of(y), List.of("r"), Map.of()));
            y = "r";
        }
        if (poolAttrs != null) {
            b.addNode(new Node("pool", "MaxPool", "", List.of(y), List.of("p"), poolAttrs));
            y = "p";
        }
        b.addOutput(new ValueInfo(y, TensorType.unknown()));
        Graph g = b.build();
        Graph o = SessionOptimizer.optimize(g, KernelRegistry.standard());
        assertTrue(o.nodes().stream().anyMatch(x -> x.opType().equals(Fusion.FUSED_CONV)), o.nodes().toString());
        assertEquals(addShape != null && !java.util.Arrays.equals(addShape, new long[] {1, 1, 1, 6}) ? 0 : addShape == null ? 0 : 1,
                o.nodes().stream().filter(x -> x.opType().equals("Add")).count(), o.nodes().toString());
        check(g, Map.of("x", random(xs)));
    }

    private static void check(Graph g, Map<String, Tensor> in) {
        Map<String, Tensor> ref = OrtTestSupport.run(OnnxExporter.toBytes(g), in);
        Map<String, Tensor> got, plain;
        try (Session s = new CpuSession(g, KernelRegistry.standard(), true)) {
            got = s.run(in);
        }
        try (Session s = new CpuSession(g, KernelRegistry.standard(), false)) {
            plain = s.run(in);
        }
        for (String k : ref.keySet()) {
            TensorAssert.assertClose(ref.get(k), got.get(k), 1e-4, 1e-4, "optimized " + k);
            TensorAssert.assertClose(ref.get(k), plain.get(k), 1e-4, 1e-4, "plain " + k);
        }
    }

    @Test
    void smallConvsMatchOrt() {
        // mnist-8's first layer: 1->8 channels, 5x5, same padding, + per-channel Add + Relu + MaxPool 2x2
        convCase(new long[] {1, 1, 28, 28}, 8, new long[] {5, 5}, attrs("kernel_shape", new long[] {5, 5}, "auto_pad", "SAME_UPPER"),
                false, new long[] {8, 1, 1}, true, attrs("kernel_shape", new long[] {2, 2}, "strides", new long[] {2, 2}));
        // strides, asymmetric pads, bias + Add [1, M, 1, 1], batch 2
        convCase(new long[] {2, 3, 9, 7}, 4, new long[] {3, 3}, attrs("strides", new long[] {2, 2}, "pads", new long[] {0, 1, 1, 0}),
                true, new long[] {1, 4, 1, 1}, true, null);
        // dilation, stride 1 x 2, no Add, no Relu
        convCase(new long[] {1, 2, 11, 10}, 3, new long[] {3, 2}, attrs("dilations", new long[] {2, 3}, "strides", new long[] {1, 2},
                "pads", new long[] {2, 1, 0, 3}), true, null, false, null);
        // an Add that is not per channel (broadcast along W) must stay a separate Add
        convCase(new long[] {1, 2, 6, 6}, 3, new long[] {3, 3}, attrs("pads", new long[] {1, 1, 1, 1}), false,
                new long[] {1, 1, 1, 6}, true, null);
        // grouped conv (not the Java path), pooling with pads and ceil_mode, dilated pooling
        convCase(new long[] {1, 4, 8, 8}, 4, new long[] {3, 3}, attrs("group", 2L), true, new long[] {4, 1, 1}, true,
                attrs("kernel_shape", new long[] {3, 3}, "strides", new long[] {2, 2}, "pads", new long[] {1, 1, 1, 1}, "ceil_mode", 1L));
        convCase(new long[] {1, 2, 9, 9}, 2, new long[] {1, 1}, attrs(), false, null, false,
                attrs("kernel_shape", new long[] {2, 2}, "dilations", new long[] {2, 2}));
    }

    @Test
    void largeConvEpilogueInPlace() {
        // above the small-input threshold: the registered Conv kernel, then bias and ReLU in place
        convCase(new long[] {1, 16, 32, 32}, 32, new long[] {3, 3}, attrs("pads", new long[] {1, 1, 1, 1}), true,
                new long[] {32, 1, 1}, true, attrs("kernel_shape", new long[] {2, 2}, "strides", new long[] {2, 2}));
    }

    private static void matmulCase(long[] as, long k, long n, long[] addShape, boolean relu, boolean expectFused) {
        Graph.Builder b = Graph.builder().name("t").opset("", 13);
        b.addInput(new ValueInfo("a", TensorType.of(DType.FLOAT32, as)));
        b.initializer("w", random(k, n));
        b.addNode(new Node("mm", "MatMul", "", List.of("a", "w"), List.of("c"), Map.of()));
        String y = "c";
        if (addShape != null) {
            b.initializer("bias", random(addShape));
            b.addNode(new Node("add", "Add", "", List.of(y, "bias"), List.of("s"), Map.of()));
            y = "s";
        }
        if (relu) {
            b.addNode(new Node("relu", "Relu", "", List.of(y), List.of("r"), Map.of()));
            y = "r";
        }
        b.addOutput(new ValueInfo(y, TensorType.unknown()));
        Graph g = b.build();
        Graph f = new Fusion().apply(g);
        assertEquals(expectFused, f.nodes().stream().anyMatch(x -> x.opType().equals(Fusion.FUSED_MATMUL)), "fused: " + f.nodes());
        check(g, Map.of("a", random(as)));
    }

    @Test
    void matmulEpilogues() {
        matmulCase(new long[] {1, 256}, 256, 10, new long[] {1, 10}, false, true);      // mnist-8's classifier
        matmulCase(new long[] {2, 3, 16}, 16, 5, new long[] {5}, true, true);           // batched A, Java path
        matmulCase(new long[] {1, 128, 384}, 384, 384, new long[] {384}, false, true);  // MiniLM size: ND4J + in-place bias
        matmulCase(new long[] {1, 128, 384}, 384, 96, new long[] {96}, true, true);
        matmulCase(new long[] {4, 8}, 8, 6, new long[] {4, 6}, true, false);            // not a bias: stays MatMul + Add
    }

    @Test
    void fusionKeepsGraphOutputsAndSharedValues() {
        // the Conv output is also a graph output: nothing may be fused away
        Graph.Builder b = Graph.builder().name("t").opset("", 13);
        b.addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, 1, 1, 5, 5)));
        b.initializer("w", random(2, 1, 3, 3));
        b.initializer("a", random(2, 1, 1));
        b.addNode(new Node("conv", "Conv", "", List.of("x", "w"), List.of("c"), Map.of()));
        b.addNode(new Node("add", "Add", "", List.of("c", "a"), List.of("s"), Map.of()));
        b.addNode(new Node("relu", "Relu", "", List.of("s"), List.of("r"), Map.of()));
        b.addNode(new Node("relu2", "Relu", "", List.of("s"), List.of("r2"), Map.of()));
        b.addOutput(new ValueInfo("c", TensorType.unknown()));
        b.addOutput(new ValueInfo("r", TensorType.unknown()));
        b.addOutput(new ValueInfo("r2", TensorType.unknown()));
        Graph g = b.build();
        Graph f = new Fusion().apply(g);
        assertTrue(f.nodes().stream().anyMatch(n -> n.opType().equals("Add")), f.nodes().toString());
        check(g, Map.of("x", random(1, 1, 5, 5)));
    }

    @Test
    void decomposedLayerNormIsFused() {
        Graph.Builder b = Graph.builder().name("t").opset("", 13);
        b.addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, 2, 5, 16)));
        b.initializer("two", Tensor.scalar(2f));
        b.initializer("eps", Tensor.scalar(1e-12f));
        b.initializer("gamma", random(16));
        b.initializer("beta", random(16));
        Map<String, Attribute> mean = attrs("axes", new long[] {-1});
        b.addNode(new Node("rm1", "ReduceMean", "", List.of("x"), List.of("m"), mean));
        b.addNode(new Node("sub", "Sub", "", List.of("x", "m"), List.of("d"), Map.of()));
        b.addNode(new Node("pow", "Pow", "", List.of("d", "two"), List.of("p"), Map.of()));
        b.addNode(new Node("rm2", "ReduceMean", "", List.of("p"), List.of("v"), mean));
        b.addNode(new Node("adde", "Add", "", List.of("v", "eps"), List.of("e"), Map.of()));
        b.addNode(new Node("sqrt", "Sqrt", "", List.of("e"), List.of("s"), Map.of()));
        b.addNode(new Node("div", "Div", "", List.of("d", "s"), List.of("n"), Map.of()));
        b.addNode(new Node("mul", "Mul", "", List.of("n", "gamma"), List.of("o"), Map.of()));
        b.addNode(new Node("add", "Add", "", List.of("o", "beta"), List.of("y"), Map.of()));
        b.addNode(new Node("relu", "Relu", "", List.of("y"), List.of("r"), Map.of()));
        b.addOutput(new ValueInfo("r", TensorType.unknown()));
        Graph g = b.build();
        Graph o = SessionOptimizer.optimize(g, KernelRegistry.standard());
        assertEquals(List.of(Fusion.LAYER_NORM, "Relu"), o.nodes().stream().map(Node::opType).toList());
        check(g, Map.of("x", random(2, 5, 16)));
        // the centred value also read elsewhere: no fusion, same values
        Graph.Builder b2 = g.toBuilder();
        b2.addOutput(new ValueInfo("d", TensorType.unknown()));
        Graph g2 = b2.build();
        assertTrue(SessionOptimizer.optimize(g2, KernelRegistry.standard()).nodes().stream().noneMatch(n -> n.opType().equals(Fusion.LAYER_NORM)));
        check(g2, Map.of("x", random(2, 5, 16)));
    }
}
