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

import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.condense.backend.cpu.OrtRef.op;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The float32 Java-loop paths of {@link FloatKernels} (each broadcast pattern, unary ops, Softmax, Transpose, fused GELU) against ONNX Runtime. */
class FloatKernelsTest {
    private static final Random R = new Random(11);

    private static final long[][][] PAIRS = {
        {{2, 3, 8}, {2, 3, 8}},          // same shape
        {{2, 3, 8}, {}},                 // scalar b
        {{}, {2, 3, 8}},                 // scalar a
        {{2, 3, 8}, {1}},                // one-element b of rank 1
        {{2, 3, 8}, {8}},                // bias: trailing vector
        {{3, 8}, {2, 3, 8}},             // trailing block on the left
        {{1, 2, 8, 8}, {1, 1, 1, 8}},    // attention mask
        {{2, 3, 8}, {2, 3, 1}},          // per-row value (LayerNorm mean)
        {{2, 1, 8}, {3, 1}},             // general broadcast on both sides
        {{2, 3, 1}, {1, 3, 8}},
        {{}, {}},
    };

    @Test
    void binaryOpsEveryBroadcastPatternMatchOrt() {
        for (String opType : List.of("Add", "Sub", "Mul", "Div", "Max", "Min")) {
            for (long[][] p : PAIRS) {
                Tensor a = OrtRef.randn(R, p[0]);
                Tensor b = OrtRef.uniform(R, 0.5f, 2f, p[1]);
                op(opType).opset(13).in(a).in(b).out(DType.FLOAT32).tol(1e-6).check();
                op(opType).opset(13).in(a).constIn(b).out(DType.FLOAT32).tol(1e-6).check();
            }
        }
    }

    @Test
    void powWithConstantAndTensorExponents() {
        Tensor x = OrtRef.uniform(R, 0.1f, 3f, 2, 3, 8);
        for (float e : new float[] {2f, 0.5f, 3f, 1f, -1.5f}) {
            op("Pow").opset(13).in(x).constIn(Tensor.scalar(e)).out(DType.FLOAT32).tol(1e-5).check();
        }
        op("Pow").opset(13).in(x).in(OrtRef.uniform(R, -2f, 2f, 8)).out(DType.FLOAT32).tol(1e-5).check();
    }

    @Test
    void unaryOpsMatchOrt() {
        Tensor x = OrtRef.uniform(R, -6f, 6f, 4, 1000);
        Tensor pos = OrtRef.uniform(R, 0.01f, 10f, 4, 1000);
        for (String o : List.of("Exp", "Tanh", "Sigmoid", "Relu", "Neg", "Abs")) op(o).in(x).out(DType.FLOAT32).tol(1e-6).check();
        for (String o : List.of("Sqrt", "Log", "Reciprocal")) op(o).in(pos).out(DType.FLOAT32).tol(1e-6).check();
        op("Gelu").opset(20).in(x).out(DType.FLOAT32).tol(1e-6).check();
    }

    @Test
    void erfWithinOneMillionthOfExact() {
        float[] v = new float[20001];
        for (int i = 0; i < v.length; i++) v[i] = -5f + i * 0.0005f;
        Tensor x = Tensor.of(v, v.length);
        Map<String, Tensor> got = op("Erf").in(x).out(DType.FLOAT32).tol(1e-6).check();
        Tensor y = got.get("out0");
        double worst = 0;
        for (int i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(y.getDouble(i) - erfExact(v[i])));
        assertTrue(worst <= 1e-6, "max |erf - exact| = " + worst);
    }

    /** erf by its Taylor series (|x| < 3) and continued fraction of erfc (otherwise), in double: a reference to ~1e-15. */
    static double erfExact(double x) {
        double a = Math.abs(x);
        double r;
        if (a < 3) {
            double sum = 0, term = a;
            for (int n = 0; n < 200; n++) {
                sum += term / (2 * n + 1);
                term *= -a * a / (n + 1);
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            double f = 0;
            for (int k = 60; k >= 1; k--) f = k / 2.0 / (a + f);
            r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
        }
        return x < 0 ? -r : r;
    }

    @Test
    void softmaxAndTransposeMatchOrt() {
        Tensor x = OrtRef.randn(R, 2, 3, 4, 17);
        op("Softmax").opset(13).in(x).out(DType.FLOAT32).tol(1e-6).check();
        op("LogSoftmax").opset(13).in(x).out(DType.FLOAT32).tol(1e-6).check();
        op("Softmax").opset(11).attr("axis", 3L).in(x).out(DType.FLOAT32).tol(1e-6).check();
        op("Softmax").opset(13).attr("axis", 1L).in(x).out(DType.FLOAT32).tol(1e-6).check();
        for (long[] perm : new long[][] {{0, 2, 1, 3}, {0, 2, 3, 1}, {3, 2, 1, 0}, {1, 0, 2, 3}}) {
            op("Transpose").attrs("perm", perm).in(x).out(DType.FLOAT32).tol(0).check();
        }
        op("Transpose").in(OrtRef.randn(R, 5, 7)).out(DType.FLOAT32).tol(0).check();
    }

    @Test
    void floatGatherMatchesOrt() {
        Tensor table = OrtRef.randn(R, 50, 16);
        op("Gather").in(table).in(Tensor.of(new long[] {3, 0, 49, -1, 7, 7, 12}, 1, 7)).out(DType.FLOAT32).tol(0).check();
        op("Gather").constIn(table).in(Tensor.of(new long[] {2, 5}, 2)).attr("axis", 1L).out(DType.FLOAT32).tol(0).check();
        op("Gather").in(OrtRef.randn(R, 4, 5, 6)).in(Tensor.scalar(3L)).attr("axis", 1L).out(DType.FLOAT32).tol(0).check();
        op("Gather").in(OrtRef.randn(R, 6)).in(Tensor.scalar(-2L)).out(DType.FLOAT32).tol(0).check();
    }

    @Test
    void decomposedGeluIsFused() {
        Graph.Builder b = Graph.builder().name("t").opset("", 13);
        b.addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, 2, 5, 16)));
        b.initializer("sqrt2", Tensor.scalar((float) Math.sqrt(2)));
        b.initializer("one", Tensor.scalar(1f));
        b.initializer("half", Tensor.scalar(0.5f));
        b.addNode(new Node("div", "Div", "", List.of("x", "sqrt2"), List.of("d"), Map.of()));
        b.addNode(new Node("erf", "Erf", "", List.of("d"), List.of("e"), Map.of()));
        b.addNode(new Node("add", "Add", "", List.of("e", "one"), List.of("a"), Map.of()));
        b.addNode(new Node("mul", "Mul", "", List.of("x", "a"), List.of("m"), Map.of()));
        b.addNode(new Node("mul2", "Mul", "", List.of("m", "half"), List.of("y"), Map.of()));
        b.addOutput(new ValueInfo("y", TensorType.unknown()));
        Graph g = b.build();
        Graph o = SessionOptimizer.optimize(g, KernelRegistry.standard());
        assertEquals(List.of(Fusion.GELU), o.nodes().stream().map(Node::opType).toList());
        Map<String, Tensor> in = Map.of("x", OrtRef.uniform(R, -5f, 5f, 2, 5, 16));
        Map<String, Tensor> ref = OrtTestSupport.run(OnnxExporter.toBytes(g), in);
        try (Session s = new CpuSession(g, KernelRegistry.standard(), true)) {
            TensorAssert.assertClose(ref.get("y"), s.run(in).get("y"), 1e-6, 1e-6, "fused gelu");
        }
        // the erf value also read elsewhere: no fusion
        Graph g2 = g.toBuilder().addOutput(new ValueInfo("e", TensorType.unknown())).build();
        assertTrue(SessionOptimizer.optimize(g2, KernelRegistry.standard()).nodes().stream().noneMatch(n -> n.opType().equals(Fusion.GELU)));
        // a different constant: no fusion
        Graph g3 = g.toBuilder().initializer("half", Tensor.scalar(0.25f)).build();
        assertTrue(SessionOptimizer.optimize(g3, KernelRegistry.standard()).nodes().stream().noneMatch(n -> n.opType().equals(Fusion.GELU)));
    }
}
