package io.condense.backend.cuda.ref;

import ai.onnxruntime.OrtSession;
import io.condense.OrtTestSupport;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The kernels' reference semantics against ONNX Runtime, an implementation we did not write: per-axis
 * QuantizeLinear / DequantizeLinear and their composition (= fake quantization) must agree bit for bit with
 * {@link QuantRef} and {@link FakeQuantRef}, ties (exact half steps) and saturation included.
 */
class QuantRefVsOrtTest {
    /** Runs g in ONNX Runtime (no graph optimizations) on input x and copies the output's bytes (int8) or floats into {@code into}. */
    private static void runOrt(Graph g, float[] x, long[] shape, String output, Object into) throws Exception {
        Tensor t = OrtTestSupport.run(OnnxExporter.toBytes(g), Map.of("x", Tensor.of(x, shape)), 1,
                OrtSession.SessionOptions.OptLevel.NO_OPT).get(output);
        if (into instanceof byte[] b) System.arraycopy((byte[]) t.data(), 0, b, 0, b.length);
        else System.arraycopy((float[]) t.data(), 0, (float[]) into, 0, ((float[]) into).length);
    }

    private static Graph graph(long[] shape, float[] scale, byte[] zp, int axis, boolean dequantize) {
        Graph.Builder b = Graph.builder().opset("", 13)
                .addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, shape)))
                .initializer("s", Tensor.of(scale, scale.length))
                .initializer("z", Tensor.of(DType.INT8, new long[] {zp.length}, zp))
                .addNode(new Node("q", "QuantizeLinear", "", List.of("x", "s", "z"), List.of("q"), Map.of("axis", Attribute.of((long) axis))));
        if (dequantize) {
            b.addNode(new Node("d", "DequantizeLinear", "", List.of("q", "s", "z"), List.of("y"), Map.of("axis", Attribute.of((long) axis))));
            b.addOutput(new ValueInfo("y", TensorType.of(DType.FLOAT32, shape)));
        } else {
            b.addOutput(new ValueInfo("q", TensorType.of(DType.INT8, shape)));
        }
        return b.build();
    }

    @Test
    void perAxisQuantizeAndFakeQuantMatchOnnxRuntime() throws Exception {
        Random r = new Random(31);
        long[] shape = {4, 16, 9};
        ChannelLayout l = ChannelLayout.of(shape, 1);
        int n = (int) l.size();
        float[] scale = new float[16];
        byte[] zp = new byte[16];
        int[] zpi = new int[16];
        for (int c = 0; c < 16; c++) {
            scale[c] = c % 4 == 0 ? 0.25f : 0.01f + r.nextFloat() * 0.2f; // some power-of-two scales: exact ties
            zp[c] = (byte) (r.nextInt(21) - 10);
            zpi[c] = zp[c];
        }
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            float s = scale[l.channelOf(i)];
            int kind = r.nextInt(4);
            x[i] = kind == 0 ? (r.nextInt(80) - 40 + 0.5f) * s   // half steps
                    : kind == 1 ? (r.nextBoolean() ? 1 : -1) * 200 * s // saturates
                    : (float) r.nextGaussian() * 30 * s;
        }
        byte[] ortQ = new byte[n];
        runOrt(graph(shape, scale, zp, 1, false), x, shape, "q", ortQ);
        assertArrayEquals(ortQ, QuantRef.quantizePerChannel(x, l, scale, zpi, QRange.INT8), "QuantizeLinear");

        float[] ortY = new float[n];
        runOrt(graph(shape, scale, zp, 1, true), x, shape, "y", ortY);
        assertArrayEquals(ortY, FakeQuantRef.forward(x, l, scale, zpi, QRange.INT8), "Dequantize(Quantize(x))");
        assertArrayEquals(ortY, QuantRef.dequantizePerChannel(ortQ, l, scale, zpi, false), "DequantizeLinear");
    }

    @Test
    void blockedQuantizeMatchesOnnxRuntime() throws Exception {
        Random r = new Random(32);
        int rows = 6, cols = 128, block = 32, nb = cols / block;
        float[] scale = new float[rows * nb];
        for (int i = 0; i < scale.length; i++) scale[i] = i % 3 == 0 ? 0.125f : 0.01f + r.nextFloat() * 0.1f;
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) {
            float s = scale[(i / cols) * nb + (i % cols) / block];
            x[i] = r.nextInt(5) == 0 ? (r.nextInt(60) - 30 + 0.5f) * s : (float) r.nextGaussian() * 60 * s;
        }
        Graph g = Graph.builder().opset("", 21)
                .addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, rows, cols)))
                .initializer("s", Tensor.of(scale, rows, nb))
                .initializer("z", Tensor.zeros(DType.INT8, rows, nb))
                .addNode(new Node("q", "QuantizeLinear", "", List.of("x", "s", "z"), List.of("q"),
                        Map.of("axis", Attribute.of(1L), "block_size", Attribute.of((long) block))))
                .addOutput(new ValueInfo("q", TensorType.of(DType.INT8, rows, cols)))
                .build();
        byte[] ortQ = new byte[rows * cols];
        runOrt(g, x, new long[] {rows, cols}, "q", ortQ);
        assertArrayEquals(ortQ, QuantRef.quantizeBlocked(x, rows, cols, block, scale, QRange.INT8));
    }

    @Test
    void int4FakeQuantMatchesOnnxRuntime() throws Exception {
        Random r = new Random(33);
        long[] shape = {3, 8, 10};
        ChannelLayout l = ChannelLayout.of(shape, 1);
        int n = (int) l.size();
        float[] scale = new float[8];
        byte[] zp = new byte[8];
        int[] zpi = new int[8];
        for (int c = 0; c < 8; c++) {
            scale[c] = c % 2 == 0 ? 0.5f : 0.05f + r.nextFloat() * 0.3f;
            zp[c] = (byte) (r.nextInt(5) - 2);
            zpi[c] = zp[c];
        }
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            float s = scale[l.channelOf(i)];
            x[i] = r.nextInt(3) == 0 ? (r.nextInt(16) - 8 + 0.5f) * s : (float) r.nextGaussian() * 6 * s;
        }
        Graph g = Graph.builder().opset("", 21)
                .addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, shape)))
                .initializer("s", Tensor.of(scale, 8))
                .initializer("z", Tensor.of(DType.INT4, new long[] {8}, zp))
                .addNode(new Node("q", "QuantizeLinear", "", List.of("x", "s", "z"), List.of("q"), Map.of("axis", Attribute.of(1L))))
                .addNode(new Node("d", "DequantizeLinear", "", List.of("q", "s", "z"), List.of("y"), Map.of("axis", Attribute.of(1L))))
                .addOutput(new ValueInfo("y", TensorType.of(DType.FLOAT32, shape)))
                .build();
        float[] ortY = new float[n];
        runOrt(g, x, shape, "y", ortY);
        assertArrayEquals(ortY, FakeQuantRef.forward(x, l, scale, zpi, QRange.INT4));
    }

    @Test
    void int8GemmAccumulatorMatchesMatMulInteger() throws Exception {
        Random r = new Random(34);
        int m = 7, n = 9, k = 40;
        byte[] a = new byte[m * k], b = new byte[n * k], bt = new byte[k * n];
        r.nextBytes(a);
        r.nextBytes(b);
        for (int j = 0; j < n; j++) for (int p = 0; p < k; p++) bt[p * n + j] = b[j * k + p]; // ONNX wants B as [K, N]
        Graph g = Graph.builder().opset("", 13)
                .addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, 1)))
                .initializer("a", Tensor.of(DType.INT8, new long[] {m, k}, a))
                .initializer("b", Tensor.of(DType.INT8, new long[] {k, n}, bt))
                .addNode(new Node("mm", "MatMulInteger", "", List.of("a", "b"), List.of("acc"), Map.of()))
                .addNode(new Node("c", "Cast", "", List.of("acc"), List.of("y"), Map.of("to", Attribute.of((long) DType.FLOAT32.onnxCode()))))
                .addNode(new Node("u", "Identity", "", List.of("x"), List.of("unused"), Map.of()))
                .addOutput(new ValueInfo("y", TensorType.of(DType.FLOAT32, m, n)))
                .addOutput(new ValueInfo("unused", TensorType.of(DType.FLOAT32, 1)))
                .build();
        float[] ort = new float[m * n];
        runOrt(g, new float[] {0f}, new long[] {1}, "y", ort);
        int[] acc = Int8GemmRef.accumulate(a, b, m, n, k);
        float[] mine = new float[acc.length];
        for (int i = 0; i < acc.length; i++) mine[i] = acc[i]; // |acc| <= 40 * 16384: exact in float
        assertArrayEquals(ort, mine);
    }
}
