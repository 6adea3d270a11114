package io.condense.passes;

import io.condense.NodeTestCases;
import io.condense.OrtTestSupport;
import io.condense.TensorAssert;
import io.condense.TestData;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Opset upgrade must not change what a model computes: ONNX Runtime on the original (old opset) and on the
 * upgraded model (13 and 21) gives the same outputs, for one synthetic graph per adapter, every staged model, the
 * model-zoo light graphs, every staged node test and MiniLM.
 */
class OpsetConversionTest {
    /** Runs both models in ORT on the same inputs and compares (1e-6 relative: the rewrites compute the same arithmetic). */
    static void assertSameInOrt(Graph original, Graph upgraded, Map<String, Tensor> feeds, String what) {
        byte[] a = OnnxExporter.toBytes(original), b = OnnxExporter.toBytes(upgraded);
        Map<String, Tensor> x = OrtTestSupport.run(a, feeds), y = OrtTestSupport.run(b, feeds);
        assertEquals(new ArrayList<>(x.keySet()), new ArrayList<>(y.keySet()), what + ": outputs");
        for (String k : x.keySet()) TensorAssert.assertClose(x.get(k), y.get(k), 1e-6, 1e-6, what + " " + k);
    }

    static void checkBothTargets(Graph g, Map<String, Tensor> feeds, String what) {
        for (int target : new int[] {13, 21}) {
            if (g.opset() >= target) continue;
            OpsetConversion p = new OpsetConversion(target);
            Graph u = p.apply(g);
            assertEquals(target, u.opset(), what);
            assertSameInOrt(g, u, feeds, what + " -> " + target + " (" + p.summary(g.opset()) + ")");
        }
    }

    // ---------- synthetic graphs, one per adapter ----------

    private static ValueInfo in(String name, long... shape) { return new ValueInfo(name, TensorType.of(DType.FLOAT32, shape)); }

    private static Node node(String op, List<String> ins, List<String> outs, Object... kv) {
        Map<String, Attribute> a = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            Object v = kv[i + 1];
            a.put((String) kv[i], v instanceof Attribute at ? at : v instanceof long[] l ? Attribute.of(l) : v instanceof float[] f ? Attribute.of(f)
                    : v instanceof String s ? Attribute.of(s) : v instanceof Float f1 ? Attribute.of(f1) : Attribute.of(((Number) v).longValue()));
        }
        return new Node(outs.get(0) + "_node", op, "", ins, outs, a);
    }

    private static Graph graph(int opset, List<ValueInfo> inputs, List<Node> nodes, String... outputs) {
        Graph.Builder b = Graph.builder().name("t").opset("", opset).irVersion(opset >= 9 ? 4 : 3).inputs(inputs).nodes(nodes);
        for (String o : outputs) b.addOutput(new ValueInfo(o, TensorType.unknown()));
        return b.build();
    }

    private static Map<String, Tensor> feeds(Graph g) { return OrtTestSupport.randomInputs(g.inputs(), 7, 3, 3); }

    private static void check(Graph g, String what) { checkBothTargets(g, feeds(g), what); }

    @Test
    void axesAttributesBecomeInputs() {
        check(graph(11, List.of(in("x", 2, 1, 3)), List.of(
                node("Unsqueeze", List.of("x"), List.of("u"), "axes", new long[] {0, 3}),
                node("Squeeze", List.of("u"), List.of("s"), "axes", new long[] {2}),
                node("ReduceSum", List.of("s"), List.of("rs"), "axes", new long[] {1}, "keepdims", 0),
                node("ReduceMean", List.of("x"), List.of("rm"), "axes", new long[] {-1}),
                node("ReduceMax", List.of("x"), List.of("rx"), "axes", new long[] {0, 2}, "keepdims", 0),
                node("ReduceL2", List.of("x"), List.of("rl")),
                node("ReduceLogSumExp", List.of("x"), List.of("rle"), "axes", new long[] {1})), "s", "rs", "rm", "rx", "rl", "rle"), "axes");
    }

    @Test
    void splitSliceTopK() {
        check(graph(11, List.of(in("x", 2, 5)), List.of(
                node("Split", List.of("x"), List.of("a", "b"), "axis", 1, "split", new long[] {2, 3}),
                node("Split", List.of("x"), List.of("c", "d"), "axis", 0)), "a", "b", "c", "d"), "split");
        check(graph(9, List.of(in("x", 4, 6)), List.of(
                node("Slice", List.of("x"), List.of("y"), "starts", new long[] {1, 0}, "ends", new long[] {3, 1000}, "axes", new long[] {0, 1}),
                node("Slice", List.of("x"), List.of("z"), "starts", new long[] {2}, "ends", new long[] {-1}),
                node("TopK", List.of("x"), List.of("v", "i"), "k", 2)), "y", "z", "v", "i"), "slice/topk");
    }

    @Test
    void clipAndPad() {
        check(graph(9, List.of(in("x", 2, 3, 4)), List.of(
                node("Clip", List.of("x"), List.of("c"), "min", -0.5f, "max", 0.3f),
                node("Clip", List.of("x"), List.of("m"), "max", 0.1f),
                node("Pad", List.of("x"), List.of("p"), "pads", new long[] {0, 1, 2, 0, 2, 1}, "value", 1.5f),
                node("Pad", List.of("x"), List.of("r"), "pads", new long[] {0, 0, 1, 0, 0, 2}, "mode", "reflect"),
                node("Pad", List.of("x"), List.of("e"), "pads", new long[] {0, 0, 1, 0, 0, 2}, "mode", "edge")), "c", "m", "p", "r", "e"), "clip/pad");
    }

    @Test
    void softmaxFamilyKeepsItsTwoDimensionalMeaning() {
        check(graph(11, List.of(in("x", 2, 3, 4), in("v", 3, 5)), List.of(
                node("Softmax", List.of("x"), List.of("s1"), "axis", 1),
                node("Softmax", List.of("x"), List.of("s0"), "axis", 0),
                node("Softmax", List.of("x"), List.of("sd")),
                node("Softmax", List.of("x"), List.of("sl"), "axis", 2),
                node("Softmax", List.of("v"), List.of("sv")),
                node("LogSoftmax", List.of("x"), List.of("l1"), "axis", 1),
                node("LogSoftmax", List.of("x"), List.of("ln"), "axis", -1),
                node("Hardmax", List.of("x"), List.of("h1"), "axis", 1)), "s1", "s0", "sd", "sl", "sv", "l1", "ln", "h1"), "softmax");
        Graph u = OpsetConversion.upgrade(graph(11, List.of(in("x", 2, 3, 4)), List.of(node("Softmax", List.of("x"), List.of("s"), "axis", 1)), "s"), 13);
        assertTrue(u.nodes().stream().anyMatch(n -> n.opType().equals("Flatten")), "axis 1 of a rank-3 input is coerced through Flatten");
    }

    @Test
    void upsampleAndResize10() {
        check(graph(7, List.of(in("x", 1, 2, 3, 3)), List.of(
                node("Upsample", List.of("x"), List.of("n"), "scales", new float[] {1, 1, 2, 3}, "mode", "nearest"),
                node("Upsample", List.of("x"), List.of("l"), "scales", new float[] {1, 1, 2, 2}, "mode", "linear")), "n", "l"), "upsample-7");
        Graph g9 = graph(9, List.of(in("x", 1, 2, 3, 3)), List.of(node("Upsample", List.of("x", "sc"), List.of("n"), "mode", "nearest"),
                node("Upsample", List.of("x", "sc"), List.of("l"), "mode", "linear")), "n", "l")
                .toBuilder().initializer("sc", Tensor.of(new float[] {1, 1, 2, 2}, 4)).build();
        check(g9, "upsample-9");
        Graph r10 = graph(10, List.of(in("x", 1, 2, 4, 6)), List.of(node("Resize", List.of("x", "up"), List.of("n"), "mode", "nearest"),
                node("Resize", List.of("x", "up"), List.of("l"), "mode", "linear"),
                node("Resize", List.of("x", "down"), List.of("d"), "mode", "nearest")), "n", "l", "d")
                .toBuilder().initializer("up", Tensor.of(new float[] {1, 1, 1.5f, 2}, 4)).initializer("down", Tensor.of(new float[] {1, 1, 0.5f, 0.5f}, 4)).build();
        check(r10, "resize-10");
    }

    @Test
    void batchNormDropoutScatter() {
        Graph bn = graph(7, List.of(in("x", 2, 3, 2, 2)), List.of(
                node("BatchNormalization", List.of("x", "s", "b", "m", "v"), List.of("y"), "spatial", 1, "epsilon", 1e-3f),
                node("Dropout", List.of("y"), List.of("d", "mask"), "ratio", 0.3f)), "d")
                .toBuilder().initializer("s", Tensor.of(new float[] {1, 2, 3}, 3)).initializer("b", Tensor.of(new float[] {0.1f, 0.2f, 0.3f}, 3))
                .initializer("m", Tensor.of(new float[] {0.5f, -0.5f, 0}, 3)).initializer("v", Tensor.of(new float[] {1, 0.5f, 2}, 3)).build();
        check(bn, "batchnorm-7/dropout-7");
        check(graph(10, List.of(in("x", 2, 3)), List.of(node("Dropout", List.of("x"), List.of("d"), "ratio", 0.2f)), "d"), "dropout-10");
        Graph sc = graph(9, List.of(in("x", 3, 3), in("u", 2, 3)), List.of(node("Scatter", List.of("x", "i", "u"), List.of("y"), "axis", 0)), "y")
                .toBuilder().initializer("i", Tensor.of(new long[] {1, 0, 2, 0, 2, 1}, 2, 3)).build();
        check(sc, "scatter-9");
        Graph spatial0 = graph(7, List.of(in("x", 2, 3, 2, 2)), List.of(node("BatchNormalization", List.of("x", "s", "b", "m", "v"), List.of("y"), "spatial", 0)), "y");
        ModelException e = assertThrows(ModelException.class, () -> OpsetConversion.upgrade(spatial0, 13));
        assertTrue(e.getMessage().contains("spatial=0"), e.getMessage());
    }

    @Test
    void roiAlignKeepsOutputHalfPixel() {
        Graph g = graph(10, List.of(in("x", 1, 1, 6, 6), in("rois", 2, 4)), List.of(
                node("RoiAlign", List.of("x", "rois", "bi"), List.of("y"), "output_height", 2, "output_width", 2, "sampling_ratio", 2)), "y")
                .toBuilder().initializer("bi", Tensor.of(new long[] {0, 0}, 2)).build();
        Map<String, Tensor> f = new LinkedHashMap<>(feeds(g));
        f.put("rois", Tensor.of(new float[] {0, 0, 3, 3, 1, 1, 5, 4}, 2, 4));
        checkBothTargets(g, f, "roialign-10");
    }

    @Test
    void subgraphsAreConverted() {
        Graph then = Graph.builder().name("then").addNode(node("Unsqueeze", List.of("x"), List.of("t"), "axes", new long[] {0}))
                .addOutput(new ValueInfo("t", TensorType.unknown())).build();
        Graph els = Graph.builder().name("else").addNode(node("Unsqueeze", List.of("x"), List.of("e"), "axes", new long[] {1}))
                .addOutput(new ValueInfo("e", TensorType.unknown())).build();
        Graph g = graph(11, List.of(in("x", 2, 2), new ValueInfo("c", TensorType.of(DType.BOOL))), List.of(
                node("If", List.of("c"), List.of("y"), "then_branch", Attribute.of(then), "else_branch", Attribute.of(els))), "y");
        for (boolean c : new boolean[] {true, false}) {
            Map<String, Tensor> f = new LinkedHashMap<>(feeds(g));
            Tensor cond = Tensor.zeros(DType.BOOL);
            cond.setDouble(0, c ? 1 : 0);
            f.put("c", cond);
            checkBothTargets(g, f, "if-11 " + c);
        }
    }

    @Test
    void alreadyAtTargetIsUnchanged() {
        Graph g = graph(17, List.of(in("x", 2)), List.of(node("Relu", List.of("x"), List.of("y"))), "y");
        assertTrue(OpsetConversion.upgrade(g, 13) == g);
        assertThrows(ModelException.class, () -> new OpsetConversion(12));
    }

    // ---------- staged models and node tests ----------

    @TestFactory
    Stream<DynamicTest> stagedModels() throws IOException {
        List<Path> files = new ArrayList<>();
        for (String d : new String[] {"onnx/models", "onnx/light"}) {
            Path dir = TestData.require(d);
            try (Stream<Path> s = Files.walk(dir)) {
                files.addAll(s.filter(p -> p.toString().endsWith(".onnx")).sorted().toList());
            }
        }
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getParent().getFileName() + "/" + f.getFileName(), () -> {
            Graph g = OnnxImporter.load(f);
            checkBothTargets(g, OrtTestSupport.randomInputs(g.inputs(), 1234, 3, 2), f.getFileName().toString());
        }));
    }

    @TestFactory
    Stream<DynamicTest> nodeTests() throws IOException {
        return NodeTestCases.each(c -> {
            Graph g = OnnxImporter.load(c.resolve("model.onnx"));
            checkBothTargets(g, NodeTestCases.inputs(g, c.resolve("test_data_set_0")), c.getFileName().toString());
        });
    }

    @Test
    void miniLm() throws IOException {
        Path model = TestData.miniLm();
        assertNotNull(model, "all-minilm-l6-v2.onnx on the test classpath");
        Graph g = OnnxImporter.load(model);
        assertEquals(11, g.opset());
        Map<String, Tensor> feeds = TestData.bertFeeds(16, 5);
        OpsetConversion p = new OpsetConversion(21);
        Graph u = p.apply(g);
        assertFalse(p.changes().isEmpty());
        assertSameInOrt(g, u, feeds, "all-minilm-l6-v2 -> 21 (" + p.summary(11) + ")");
    }
}
