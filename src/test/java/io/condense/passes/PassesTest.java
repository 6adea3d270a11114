package io.condense.passes;

import io.condense.OrtTestSupport;
import io.condense.TestData;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.GraphValidator;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each pass must keep the graph's outputs (checked on ONNX Runtime: the exported original vs the exported
 * rewritten graph, max |diff| <= 1e-4 on a seeded input) and must actually simplify the graph.
 */
class PassesTest {
    static final double TOL = 1e-4;

    static Tensor random(Random r, float lo, float hi, long... shape) {
        Tensor t = Tensor.zeros(DType.FLOAT32, shape);
        for (int i = 0; i < t.size(); i++) t.setDouble(i, lo + (hi - lo) * r.nextFloat());
        return t;
    }

    static long count(Graph g, String op) { return g.nodes().stream().filter(n -> n.opType().equals(op)).count(); }

    /** Runs both graphs on ORT with the same seeded input; returns max |diff| over all outputs. */
    static double ortDiff(Graph original, Graph rewritten, long dynamicSize) {
        GraphValidator.validate(rewritten);
        Map<String, Tensor> in = OrtTestSupport.randomInputs(original.inputs(), 42, dynamicSize, 2);
        Map<String, Tensor> a = OrtTestSupport.run(OnnxExporter.toBytes(original), in);
        Map<String, Tensor> b = OrtTestSupport.run(OnnxExporter.toBytes(rewritten), in);
        double d = OrtTestSupport.maxAbsDiff(a, b);
        // and the same on condense's CPU backend: original vs rewritten
        Map<String, Tensor> c, e;
        try (Session s = Backends.cpu().open(original)) {
            c = s.run(in);
        }
        try (Session s = Backends.cpu().open(rewritten)) {
            e = s.run(in);
        }
        double cpu = OrtTestSupport.maxAbsDiff(c, e);
        System.out.println(original.name() + ": ORT original vs rewritten " + d + ", CPU original vs rewritten " + cpu
                + ", CPU vs ORT (original) " + OrtTestSupport.maxAbsDiff(a, c));
        return Math.max(d, cpu);
    }

    private static Node bn(String in, String out, String prefix) {
        return new Node(prefix + "_bn", "BatchNormalization", "", List.of(in, prefix + "_s", prefix + "_b", prefix + "_m", prefix + "_v"),
                List.of(out), Map.of("epsilon", Attribute.of(1e-3f)));
    }

    private static void bnParams(Graph.Builder b, Random r, String prefix, int c) {
        b.initializer(prefix + "_s", random(r, 0.5f, 2f, c));
        b.initializer(prefix + "_b", random(r, -1f, 1f, c));
        b.initializer(prefix + "_m", random(r, -1f, 1f, c));
        b.initializer(prefix + "_v", random(r, 0.1f, 3f, c));
    }

    @Test
    void convBatchNormFoldsIntoConv() {
        Random r = new Random(1);
        Graph.Builder b = Graph.builder().opset("", 13)
                .addInput(new ValueInfo("x", new TensorType(DType.FLOAT32, List.of(Dim.symbol("batch"), Dim.of(3), Dim.of(8), Dim.of(8)))))
                .initializer("w1", random(r, -1, 1, 4, 3, 3, 3)).initializer("b1", random(r, -1, 1, 4))
                .initializer("w2", random(r, -1, 1, 6, 2, 1, 1))
                .addNode(new Node("c1", "Conv", "", List.of("x", "w1", "b1"), List.of("y1"), Map.of("pads", Attribute.of(1, 1, 1, 1))))
                .addNode(bn("y1", "z1", "bn1"))
                .addNode(new Node("r1", "Relu", "", List.of("z1"), List.of("a1"), Map.of()))
                // grouped conv without bias
                .addNode(new Node("c2", "Conv", "", List.of("a1", "w2"), List.of("y2"), Map.of("group", Attribute.of(2L))))
                .addNode(bn("y2", "z2", "bn2"))
                // a conv whose output has a second reader must not be folded
                .addNode(new Node("c3", "Conv", "", List.of("z2", "w3"), List.of("y3"), Map.of()))
                .addNode(bn("y3", "z3", "bn3"))
                .addNode(new Node("add", "Add", "", List.of("y3", "z3"), List.of("out"), Map.of()))
                .initializer("w3", random(r, -1, 1, 5, 6, 1, 1))
                .addOutput(new ValueInfo("out", TensorType.unknown()));
        bnParams(b, r, "bn1", 4);
        bnParams(b, r, "bn2", 6);
        bnParams(b, r, "bn3", 5);
        Graph g = b.build();
        Graph f = new BatchNormFolding().apply(g);
        assertEquals(1, count(f, "BatchNormalization"), "two of three BNs folded");
        assertEquals(g.nodes().size() - 2, f.nodes().size());
        double d = ortDiff(g, f, 2);
        assertTrue(d <= TOL, "max abs diff " + d);
    }

    @Test
    void gemmBatchNormFoldsForBothTransB() {
        for (long transB : new long[] {0, 1}) {
            for (int bias = 0; bias < 3; bias++) { // none, [N], [M, N]
                Random r = new Random(7 + transB * 3 + bias);
                Graph.Builder b = Graph.builder().opset("", 13)
                        .addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, 3, 5)))
                        .initializer("w", transB == 1 ? random(r, -1, 1, 4, 5) : random(r, -1, 1, 5, 4))
                        .addOutput(new ValueInfo("z", TensorType.unknown()));
                List<String> ins = bias == 0 ? List.of("x", "w") : List.of("x", "w", "c");
                if (bias == 1) b.initializer("c", random(r, -1, 1, 4));
                if (bias == 2) b.initializer("c", random(r, -1, 1, 3, 4));
                b.addNode(new Node("gemm", "Gemm", "", ins, List.of("y"),
                        Map.of("transB", Attribute.of(transB), "alpha", Attribute.of(0.5f), "beta", Attribute.of(2f))));
                b.addNode(bn("y", "z", "bn"));
                bnParams(b, r, "bn", 4);
                Graph g = b.build();
                Graph f = new BatchNormFolding().apply(g);
                assertEquals(1, f.nodes().size(), "transB=" + transB + " bias=" + bias);
                double d = ortDiff(g, f, 1);
                assertTrue(d <= TOL, "transB=" + transB + " bias=" + bias + ": max abs diff " + d);
            }
        }
    }

    @Test
    void identityDropoutAndDeadCodeAreRemoved() {
        Random r = new Random(3);
        Graph g = Graph.builder().opset("", 13)
                .addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, 2, 4)))
                .initializer("w", random(r, -1, 1, 4, 4))
                .initializer("unused", random(r, -1, 1, 10))
                .addNode(new Node("i1", "Identity", "", List.of("x"), List.of("x1"), Map.of()))
                .addNode(new Node("mm", "MatMul", "", List.of("x1", "w"), List.of("m"), Map.of()))
                .addNode(new Node("d", "Dropout", "", List.of("m"), List.of("dm", "mask"), Map.of()))
                .addNode(new Node("i2", "Identity", "", List.of("dm"), List.of("i2o"), Map.of()))
                .addNode(new Node("relu", "Relu", "", List.of("i2o"), List.of("h"), Map.of()))
                .addNode(new Node("i3", "Identity", "", List.of("h"), List.of("y"), Map.of()))
                .addNode(new Node("dead", "Sigmoid", "", List.of("m"), List.of("nobody"), Map.of()))
                .addNode(new Node("i4", "Identity", "", List.of("x"), List.of("passthrough"), Map.of()))
                .addOutput(new ValueInfo("y", TensorType.unknown()))
                .addOutput(new ValueInfo("passthrough", TensorType.unknown()))
                .build();
        Graph f = GraphPass.run(g, new IdentityElimination(), new DeadCodeElimination());
        // left: MatMul, Relu (writing y directly), and the Identity that copies an input to an output
        assertEquals(List.of("MatMul", "Relu", "Identity"), f.nodes().stream().map(Node::opType).toList());
        assertEquals("y", f.nodes().get(1).output(0));
        assertTrue(!f.initializers().containsKey("unused"));
        double d = ortDiff(g, f, 1);
        assertEquals(0.0, d);
    }

    /** ONNX Runtime as the evaluator, so folding of arithmetic is tested independently of the CPU kernels. */
    static Map<String, Tensor> ort(Graph oneNode) {
        return OrtTestSupport.run(OnnxExporter.toBytes(oneNode), Map.of());
    }

    @Test
    void constantSubgraphsFoldToInitializers() {
        Random r = new Random(5);
        Graph g = Graph.builder().opset("", 13)
                .addInput(new ValueInfo("x", new TensorType(DType.FLOAT32, List.of(Dim.symbol("n"), Dim.of(6)))))
                .addNode(new Node("k", "Constant", "", List.of(), List.of("k"), Map.of("value", Attribute.of(random(r, -1, 1, 2, 3)))))
                .addNode(new Node("two", "Constant", "", List.of(), List.of("two"), Map.of("value_float", Attribute.of(2f))))
                .addNode(new Node("mul", "Mul", "", List.of("k", "two"), List.of("k2"), Map.of()))
                .addNode(new Node("shape", "Constant", "", List.of(), List.of("s"), Map.of("value_ints", Attribute.of(1, 6))))
                .addNode(new Node("rs", "Reshape", "", List.of("k2", "s"), List.of("k3"), Map.of()))
                .addNode(new Node("kshape", "Shape", "", List.of("k3"), List.of("ks"), Map.of()))
                .addNode(new Node("cos", "ConstantOfShape", "", List.of("ks"), List.of("ones"), Map.of("value", Attribute.of(Tensor.of(new float[] {1f}, 1)))))
                .addNode(new Node("add", "Add", "", List.of("k3", "ones"), List.of("bias"), Map.of()))
                .addNode(new Node("xs", "Shape", "", List.of("x"), List.of("xshape"), Map.of())) // dynamic: stays
                .addNode(new Node("rx", "Reshape", "", List.of("x", "xshape"), List.of("x2"), Map.of()))
                .addNode(new Node("out", "Add", "", List.of("x2", "bias"), List.of("y"), Map.of()))
                .addOutput(new ValueInfo("y", TensorType.unknown()))
                .build();
        Graph f = new ConstantFolding(PassesTest::ort, Tensor.MAX_ELEMENTS).apply(g);
        assertEquals(List.of("Shape", "Reshape", "Add"), f.nodes().stream().map(Node::opType).toList());
        assertEquals(1, f.initializers().size());
        double d = ortDiff(g, f, 3);
        assertTrue(d <= TOL, "max abs diff " + d);

        // the default evaluator (the CPU backend) folds the same nodes
        Graph c = new ConstantFolding().apply(g);
        assertEquals(List.of("Shape", "Reshape", "Add"), c.nodes().stream().map(Node::opType).toList());
        assertEquals(1, c.initializers().size());
        d = ortDiff(g, c, 3);
        assertTrue(d <= TOL, "max abs diff " + d);
    }

    static Stream<Path> files(String rel, String glob) throws java.io.IOException {
        Path dir = TestData.require(rel);
        List<Path> l;
        try (Stream<Path> s = Files.walk(dir)) {
            l = s.filter(p -> p.getFileName().toString().matches(glob)).sorted().toList();
        }
        return l.stream();
    }

    /** The light models keep their weights as ConstantOfShape nodes: all of them fold to initializers. */
    @TestFactory
    Stream<DynamicTest> lightModelsFold() throws java.io.IOException {
        return lightModels(Set.of("light_squeezenet.onnx", "light_shufflenet.onnx"));
    }

    /** The larger light models (a minute or more each on a busy machine): run with -Pall. */
    @org.junit.jupiter.api.Tag("slow")
    @TestFactory
    Stream<DynamicTest> largerLightModelsFold() throws java.io.IOException {
        return lightModels(Set.of("light_resnet50.onnx", "light_inception_v1.onnx", "light_inception_v2.onnx"));
    }

    Stream<DynamicTest> lightModels(Set<String> names) throws java.io.IOException {
        return files("onnx/light", "light_.*\\.onnx").filter(p -> names.contains(p.getFileName().toString()))
                .map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> {
                    Graph g = OnnxImporter.load(p);
                    Graph folded = new ConstantFolding().apply(g);
                    assertEquals(0, count(folded, "ConstantOfShape"), "every ConstantOfShape folded");
                    assertTrue(folded.parameterCount() > g.parameterCount());
                    double d = ortDiff(g, folded, 1);
                    assertTrue(d <= TOL, p.getFileName() + ": folded, max abs diff " + d);
                    // ConstantOfShape weights are all equal, which hides wrong folds: give them seeded random values
                    Graph random = randomizeWeights(folded, 11);
                    Graph all = GraphPass.run(random, new BatchNormFolding(), new IdentityElimination(), new DeadCodeElimination());
                    assertEquals(0, count(all, "BatchNormalization") + count(all, "Dropout") + count(all, "Identity"),
                            "every BN follows a Conv in these models");
                    assertTrue(all.nodes().size() < folded.nodes().size() || count(g, "BatchNormalization") + count(g, "Dropout") == 0);
                    d = ortDiff(random, all, 1);
                    assertTrue(d <= TOL, p.getFileName() + ": BN/identity folded, max abs diff " + d);
                }));
    }

    /**
     * Float initializers replaced by seeded random values: weights (rank >= 2) uniform with variance 1/fan-in,
     * vectors (biases, BN scale/mean/var) uniform in [0.5, 1.5) so variances stay positive.
     */
    static Graph randomizeWeights(Graph g, long seed) {
        Random r = new Random(seed);
        Graph.Builder b = g.toBuilder();
        for (Map.Entry<String, Tensor> e : g.initializers().entrySet()) {
            Tensor t = e.getValue();
            if (t.dtype() != DType.FLOAT32 || t.size() < 2) continue;
            Tensor x = Tensor.zeros(DType.FLOAT32, t.shape());
            float a = t.rank() >= 2 ? (float) Math.sqrt(3.0 / (t.size() / t.dim(0))) : 0;
            for (int i = 0; i < x.size(); i++) {
                x.setDouble(i, t.rank() >= 2 ? (r.nextFloat() * 2 - 1) * a : 0.5 + r.nextFloat());
            }
            b.initializer(e.getKey(), x);
        }
        return b.build();
    }

    /** All passes on the staged pretrained models keep their outputs. */
    @TestFactory
    Stream<DynamicTest> stagedModels() throws java.io.IOException {
        return files("onnx/models", ".*\\.onnx").map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> {
            Graph g = OnnxImporter.load(p);
            Graph f = GraphPass.run(g, GraphPass.standard());
            assertTrue(f.nodes().size() <= g.nodes().size());
            System.out.println("passes " + p.getFileName() + ": " + g.nodes().size() + " -> " + f.nodes().size() + " nodes");
            double d = ortDiff(g, f, 4);
            assertTrue(d <= TOL, p.getFileName() + ": max abs diff " + d);
        }));
    }
}
