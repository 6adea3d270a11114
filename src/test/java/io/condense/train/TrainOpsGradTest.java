package io.condense.train;

import io.condense.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Per-op gradient checks (float64 central differences, relative error < 1e-3) and forward checks against ONNX Runtime. */
class TrainOpsGradTest {
    @org.junit.jupiter.api.BeforeAll
    static void threads() { Threads.auto(); }

    private static void both(GradCheck g, boolean training) throws Exception {
        g.checkAgainstOrt();
        g.checkGradients(training);
    }

    private static void both(GradCheck g) throws Exception { both(g, false); }

    @Test void conv() throws Exception {
        both(new GradCheck(1).input("x", 2, 3, 7, 6).param("w", 4, 3, 3, 2).param("b", 4)
                .node("Conv", List.of("x", "w", "b"), List.of("y")).output("y"));
    }

    @Test void convStridesPadsDilations() throws Exception {
        both(new GradCheck(2).input("x", 1, 2, 9, 8).param("w", 3, 2, 3, 3).param("b", 3)
                .node("Conv", List.of("x", "w", "b"), List.of("y"), "strides", new long[] {2, 1},
                        "pads", new long[] {1, 2, 1, 2}, "dilations", new long[] {2, 1}).output("y"));
    }

    @Test void convAsymmetricPadsGroups() throws Exception {
        both(new GradCheck(3).input("x", 2, 4, 6, 6).param("w", 6, 2, 3, 3)
                .node("Conv", List.of("x", "w"), List.of("y"), "group", 2L, "pads", new long[] {0, 1, 2, 1}, "strides", new long[] {2, 2}).output("y"));
    }

    @Test void convDepthwiseSameUpper() throws Exception {
        both(new GradCheck(4).input("x", 1, 3, 5, 5).param("w", 3, 1, 3, 3).param("b", 3)
                .node("Conv", List.of("x", "w", "b"), List.of("y"), "group", 3L, "auto_pad", "SAME_UPPER", "strides", new long[] {2, 2}).output("y"));
    }

    @Test void conv1d() throws Exception {
        both(new GradCheck(5).input("x", 2, 3, 10).param("w", 2, 3, 3).param("b", 2)
                .node("Conv", List.of("x", "w", "b"), List.of("y"), "pads", new long[] {1, 1}).output("y"));
    }

    @Test void gemm() throws Exception {
        both(new GradCheck(6).input("a", 3, 4).param("b", 5, 4).param("c", 5)
                .node("Gemm", List.of("a", "b", "c"), List.of("y"), "transB", 1L, "alpha", 0.7f, "beta", 1.3f).output("y"));
    }

    @Test void gemmTransA() throws Exception {
        both(new GradCheck(7).input("a", 4, 3).param("b", 4, 5).param("c", 3, 1)
                .node("Gemm", List.of("a", "b", "c"), List.of("y"), "transA", 1L).output("y"));
    }

    @Test void gemmTransAB() throws Exception {
        // both transposes and alpha: every branch of the GEMM-with-flags backward (a and b both parameters)
        both(new GradCheck(17).input("x", 1).param("a", 4, 3).param("b", 5, 4).param("c", 1, 5)
                .node("Gemm", List.of("a", "b", "c"), List.of("g"), "transA", 1L, "transB", 1L, "alpha", 0.6f)
                .node("Mul", List.of("g", "x"), List.of("y")).output("y"));
    }

    @Test void matmul() throws Exception {
        both(new GradCheck(8).input("a", 2, 3, 4).param("b", 4, 5).node("MatMul", List.of("a", "b"), List.of("y")).output("y"));
    }

    @Test void matmulBatched() throws Exception {
        both(new GradCheck(9).input("a", 2, 3, 4).param("b", 2, 4, 2).node("MatMul", List.of("a", "b"), List.of("y")).output("y"));
    }

    @Test void addBroadcast() throws Exception {
        both(new GradCheck(10).input("a", 2, 3, 4).param("b", 3, 1).node("Add", List.of("a", "b"), List.of("y")).output("y"));
    }

    @Test void subBroadcast() throws Exception {
        both(new GradCheck(11).input("a", 3, 1).param("b", 2, 1, 4).node("Sub", List.of("a", "b"), List.of("y")).output("y"));
    }

    @Test void mulBroadcast() throws Exception {
        both(new GradCheck(12).input("a", 2, 3, 4).param("b", 4).node("Mul", List.of("a", "b"), List.of("y")).output("y"));
    }

    @Test void divBroadcast() throws Exception {
        GradCheck g = new GradCheck(13);
        g.input("a", 2, 3).param("b", g.random(0.3, 2, 1)).node("Div", List.of("a", "b"), List.of("y")).output("y");
        both(g);
    }

    private static GradCheck unary(String op, long seed, double gap, Object... attrs) {
        GradCheck g = new GradCheck(seed);
        return g.input("x", g.random(gap, 3, 5)).node(op, List.of("x"), List.of("y"), attrs).output("y");
    }

    @Test void relu() throws Exception { both(unary("Relu", 14, 0.01)); }

    @Test void leakyRelu() throws Exception { both(unary("LeakyRelu", 15, 0.01, "alpha", 0.2f)); }

    @Test void sigmoid() throws Exception { both(unary("Sigmoid", 16, 0)); }

    @Test void tanh() throws Exception { both(unary("Tanh", 17, 0)); }

    @Test void erf() throws Exception { both(unary("Erf", 18, 0)); }

    @Test void gelu() throws Exception { both(unary("Gelu", 19, 0)); }

    @Test void geluTanh() throws Exception { both(unary("Gelu", 20, 0, "approximate", "tanh")); }

    @Test void softmax() throws Exception { both(unary("Softmax", 21, 0, "axis", 0L)); }

    @Test void logSoftmax() throws Exception { both(unary("LogSoftmax", 22, 0)); }

    @Test void softmaxOpset11Coerces2d() throws Exception {
        both(new GradCheck(23).opset(11).input("x", 2, 3, 4).node("Softmax", List.of("x"), List.of("y"), "axis", 1L).output("y"));
    }

    @Test void maxPool() throws Exception {
        both(new GradCheck(24).input("x", 2, 2, 6, 6).node("MaxPool", List.of("x"), List.of("y"),
                "kernel_shape", new long[] {3, 3}, "strides", new long[] {2, 2}, "pads", new long[] {1, 1, 1, 1}).output("y"));
    }

    @Test void maxPoolCeilAsymmetric() throws Exception {
        both(new GradCheck(25).input("x", 1, 2, 7, 7).node("MaxPool", List.of("x"), List.of("y"),
                "kernel_shape", new long[] {2, 2}, "strides", new long[] {2, 2}, "ceil_mode", 1L).output("y"));
    }

    @Test void averagePool() throws Exception {
        both(new GradCheck(26).input("x", 2, 2, 6, 6).node("AveragePool", List.of("x"), List.of("y"),
                "kernel_shape", new long[] {3, 3}, "strides", new long[] {2, 2}, "pads", new long[] {1, 1, 1, 1}).output("y"));
    }

    @Test void averagePoolCountIncludePad() throws Exception {
        both(new GradCheck(27).input("x", 1, 2, 5, 5).node("AveragePool", List.of("x"), List.of("y"),
                "kernel_shape", new long[] {2, 2}, "pads", new long[] {1, 1, 1, 1}, "count_include_pad", 1L).output("y"));
    }

    @Test void globalAveragePool() throws Exception {
        both(new GradCheck(28).input("x", 2, 3, 4, 5).node("GlobalAveragePool", List.of("x"), List.of("y")).output("y"));
    }

    private static GradCheck batchNorm(long seed) {
        GradCheck g = new GradCheck(seed);
        Tensor var = Tensor.of(new float[] {0.5f, 1.5f, 0.8f}, 3);
        return g.input("x", 4, 3, 2, 2).param("s", 3).param("b", 3).param("m", 3).param("v", var)
                .node("BatchNormalization", List.of("x", "s", "b", "m", "v"), List.of("y"), "epsilon", 1e-3f).output("y");
    }

    @Test void batchNormInference() throws Exception { both(batchNorm(29)); }

    @Test void batchNormTraining() { batchNorm(30).checkGradients(true); }

    @Test void batchNormUpdatesRunningStatistics() {
        GradCheck g = new GradCheck(42);
        Tensor x = g.random(0, 4, 2, 3);
        g.input("x", x).param("s", Tensor.of(new float[] {1, 1}, 2)).param("b", Tensor.of(new float[] {0, 0}, 2))
                .param("m", Tensor.of(new float[] {0.5f, -1f}, 2)).param("v", Tensor.of(new float[] {2f, 1f}, 2))
                .node("BatchNormalization", List.of("x", "s", "b", "m", "v"), List.of("y"), "momentum", 0.8f).output("y");
        Tape tape = new Tape(g.graph(), n -> true, org.nd4j.linalg.api.buffer.DataType.DOUBLE, 0);
        assertTrue(!tape.parameters().containsKey("m") && !tape.parameters().containsKey("v"), "running stats are state, not parameters");
        tape.forward(GradCheck.nd(g.feeds, org.nd4j.linalg.api.buffer.DataType.DOUBLE), true);
        double[] xv = x.toDoubleArray();
        double[] m0 = {0.5, -1}, v0 = {2, 1};
        for (int c = 0; c < 2; c++) {
            double s = 0, s2 = 0;
            for (int n = 0; n < 4; n++) for (int k = 0; k < 3; k++) s += xv[n * 6 + c * 3 + k];
            double mean = s / 12;
            for (int n = 0; n < 4; n++) for (int k = 0; k < 3; k++) s2 += Math.pow(xv[n * 6 + c * 3 + k] - mean, 2);
            assertEquals(0.8 * m0[c] + 0.2 * mean, tape.constants().get("m").getDouble(c), 1e-6);
            assertEquals(0.8 * v0[c] + 0.2 * s2 / 12, tape.constants().get("v").getDouble(c), 1e-6);
        }
        // inference does not touch them
        double before = tape.constants().get("m").getDouble(0);
        tape.infer(GradCheck.nd(g.feeds, org.nd4j.linalg.api.buffer.DataType.DOUBLE));
        assertEquals(before, tape.constants().get("m").getDouble(0), 0);
    }

    @Test void layerNorm() throws Exception {
        both(new GradCheck(31).input("x", 2, 3, 4).param("s", 3, 4).param("b", 3, 4)
                .node("LayerNormalization", List.of("x", "s", "b"), List.of("y"), "axis", -2L).output("y"));
    }

    @Test void dropoutTraining() {
        new GradCheck(32).input("x", 4, 6).node("Dropout", List.of("x"), List.of("y"), "seed", 3L).output("y").checkGradients(true);
    }

    @Test void dropoutInference() throws Exception {
        both(new GradCheck(33).input("x", 4, 6).node("Dropout", List.of("x"), List.of("y")).output("y"));
    }

    @Test void reshape() throws Exception {
        both(new GradCheck(34).input("x", 2, 3, 4).ints("shape", 0, -1).node("Reshape", List.of("x", "shape"), List.of("y")).output("y"));
    }

    @Test void flatten() throws Exception {
        both(new GradCheck(35).input("x", 2, 3, 4).node("Flatten", List.of("x"), List.of("y"), "axis", 2L).output("y"));
    }

    @Test void transpose() throws Exception {
        both(new GradCheck(36).input("x", 2, 3, 4).node("Transpose", List.of("x"), List.of("y"), "perm", new long[] {1, 2, 0}).output("y"));
    }

    @Test void concat() throws Exception {
        both(new GradCheck(37).input("a", 2, 3).param("b", 2, 2).node("Concat", List.of("a", "b", "a"), List.of("y"), "axis", 1L).output("y"));
    }

    @Test void slice() throws Exception {
        both(new GradCheck(38).input("x", 4, 7).ints("st", 1, -6).ints("en", 100, 6).ints("ax", 1, 0).ints("sp", 2, 2)
                .node("Slice", List.of("x", "st", "en", "ax", "sp"), List.of("y")).output("y"));
    }

    @Test void gather() throws Exception {
        both(new GradCheck(39).param("x", 5, 3).input("i", Tensor.of(new float[] {0}, 1)).ints("idx", 4, 0, -1, 2)
                .node("Gather", List.of("x", "idx"), List.of("g")).node("Add", List.of("g", "i"), List.of("y")).output("y"));
    }

    @Test void gatherAxis1() throws Exception {
        both(new GradCheck(40).input("x", 2, 4, 3).ints("idx", 1, 3, 1).node("Gather", List.of("x", "idx"), List.of("y"), "axis", 1L).output("y"));
    }

    @Test void sharedValueAccumulatesGradients() throws Exception {
        // y = tanh(x W) * (x W): two uses of one value
        both(new GradCheck(41).input("x", 3, 4).param("w", 4, 2).node("MatMul", List.of("x", "w"), List.of("h"))
                .node("Tanh", List.of("h"), List.of("t")).node("Mul", List.of("t", "h"), List.of("y")).output("y"));
    }
}
