package io.condense.quant.qat;

import io.condense.OrtReference;
import io.condense.data.Dataset;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import io.condense.train.Trainer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QatTest {
    static final int IN = 16, HID = 32, CLASSES = 4;

    static float[] gaussian(Random r, int n, double std) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) (r.nextGaussian() * std);
        return f;
    }

    /** x[N,16] -> Gemm(32, transB) -> Relu -> Gemm(4, transB=0) -> logits. */
    static Graph mlp(long seed) {
        Random r = new Random(seed);
        return Graph.builder().name("mlp").opset("", 17)
                .addInput(new ValueInfo("input", new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(IN)))))
                .addOutput(new ValueInfo("logits", new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(CLASSES)))))
                .initializer("W1", Tensor.of(gaussian(r, HID * IN, Math.sqrt(2.0 / IN)), HID, IN))
                .initializer("b1", Tensor.of(new float[HID], HID))
                .initializer("W2", Tensor.of(gaussian(r, HID * CLASSES, Math.sqrt(1.0 / HID)), HID, CLASSES))
                .initializer("b2", Tensor.of(new float[CLASSES], CLASSES))
                .addNode(new Node("fc1", "Gemm", "", List.of("input", "W1", "b1"), List.of("h"), Map.of("transB", Attribute.of(1L))))
                .addNode(new Node("relu", "Relu", "", List.of("h"), List.of("hr"), Map.of()))
                .addNode(new Node("fc2", "Gemm", "", List.of("hr", "W2", "b2"), List.of("logits"), Map.of()))
                .build();
    }

    /** Labels from a random teacher MLP of the same shape: learnable to high accuracy, sensitive to weight precision. */
    static Dataset data(int n, long seed) {
        Random r = new Random(seed);
        Random t = new Random(1234);
        float[] w1 = gaussian(t, HID * IN, 1), w2 = gaussian(t, HID * CLASSES, 1);
        float[] x = gaussian(r, n * IN, 1);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            double[] h = new double[HID];
            for (int j = 0; j < HID; j++) {
                double s = 0;
                for (int k = 0; k < IN; k++) s += w1[j * IN + k] * x[i * IN + k];
                h[j] = Math.max(0, s);
            }
            int best = 0;
            double bv = -1e30;
            for (int c = 0; c < CLASSES; c++) {
                double s = 0;
                for (int j = 0; j < HID; j++) s += h[j] * w2[j * CLASSES + c];
                if (s > bv) { bv = s; best = c; }
            }
            y[i] = best;
        }
        return new Dataset(x, y, new long[] {IN});
    }

    static double ortAccuracy(byte[] model, Dataset d, float[][] logitsOut) throws Exception {
        float[] all = new float[d.size() * IN];
        for (int i = 0; i < d.size(); i++) System.arraycopy(d.sample(i), 0, all, i * IN, IN);
        Tensor y = OrtReference.run(model, Map.of("input", Tensor.of(all, d.size(), IN))).get("logits");
        float[] l = y.toFloatArray();
        if (logitsOut != null) logitsOut[0] = l;
        int ok = 0;
        for (int i = 0; i < d.size(); i++) {
            int best = 0;
            for (int c = 1; c < CLASSES; c++) if (l[i * CLASSES + c] > l[i * CLASSES + best]) best = c;
            ok += best == d.label(i) ? 1 : 0;
        }
        return (double) ok / d.size();
    }

    static int argmax(float[] l, int i) {
        int best = 0;
        for (int c = 1; c < CLASSES; c++) if (l[i * CLASSES + c] > l[i * CLASSES + best]) best = c;
        return best;
    }

    static Graph trainFloat(Dataset train) {
        Tape t = new Tape(mlp(3));
        new Trainer(t, Optimizer.adam(3e-3), new Trainer.Config().epochs(12).batchSize(64).seed(1).progressSeconds(-1)).fit(train, null);
        return t.toGraph();
    }

    @Test
    void qatRecoversAccuracyLostTo2BitWeightsAndExportMatchesTape() throws Exception {
        Dataset train = data(3000, 1), test = data(1000, 2);
        Graph fp = trainFloat(train);
        double accFloat = ortAccuracy(OnnxExporter.toBytes(fp), test, null);
        Qat.Config base = Qat.Config.defaults().withWeightBits(2).withBatchSize(64).withLr(1e-3).withScaleLr(1e-2);
        // epochs 0: the same quantization without training (PTQ with abs-max weight scales)
        Graph ptq = new Qat(base.withEpochs(0), null).run(fp, train, test);
        double accPtq = ortAccuracy(OnnxExporter.toBytes(ptq), test, null);
        double[] accQat = new double[2];
        for (Qat.Mode m : Qat.Mode.values()) {
            Qat qat = new Qat(base.withEpochs(4).withMode(m), null);
            Graph q = qat.run(fp, train, test);
            byte[] bytes = OnnxExporter.toBytes(q);
            float[][] logits = new float[1][];
            accQat[m.ordinal()] = ortAccuracy(bytes, test, logits);
            // the exported graph: activations Q/DQ INT8, weights INT8 codes within the 3-bit grid + per-axis DQ
            long qNodes = q.nodes().stream().filter(n -> n.opType().equals("QuantizeLinear")).count();
            long dqNodes = q.nodes().stream().filter(n -> n.opType().equals("DequantizeLinear")).count();
            assertEquals(2, qNodes);
            assertEquals(4, dqNodes);
            for (Node n : q.nodes()) {
                if (n.opType().equals("DequantizeLinear") && q.initializers().containsKey(n.input(0))) {
                    Tensor c = q.initializers().get(n.input(0));
                    assertEquals(DType.INT4, c.dtype());
                    for (int i = 0; i < c.size(); i++) assertTrue(c.getLong(i) >= -2 && c.getLong(i) <= 1);
                }
            }
            // ORT on the export vs the tape's fake-quant forward
            float[] all = new float[test.size() * IN];
            for (int i = 0; i < test.size(); i++) System.arraycopy(test.sample(i), 0, all, i * IN, IN);
            INDArray tapeY = qat.tape().infer(Map.of("input", Nd4j.create(all, new long[] {test.size(), IN}))).get("logits");
            float[] ty = tapeY.dup('c').data().asFloat();
            Map<String, Tensor> feed = Map.of("input", Tensor.of(all, test.size(), IN));
            // the graph's meaning (ORT without graph rewrites) is exactly the tape's fake-quant forward
            Tensor noOpt = io.condense.OrtTestSupport.run(bytes, feed).get("logits");
            io.condense.TensorAssert.assertClose(Tensor.of(ty, test.size(), CLASSES), noOpt, 1e-4, 1e-4, m + " tape vs ORT (no graph optimizations)");
            // ORT's optimized QDQ kernels (default session, logits above) requantize in integer arithmetic: each
            // quantized hidden activation may land one step away, which moves logit c by at most step * sum_j |W2q[j][c]|
            Tensor hScale = null, w2q = null, w2s = null;
            for (Node n : q.nodes()) {
                if (n.opType().equals("QuantizeLinear") && n.input(0).equals("hr")) hScale = q.initializers().get(n.input(1));
                if (n.opType().equals("DequantizeLinear") && n.input(0).startsWith("W2")) { w2q = q.initializers().get(n.input(0)); w2s = q.initializers().get(n.input(1)); }
            }
            double step = hScale.getDouble(0), bound = 0;
            for (int c = 0; c < CLASSES; c++) {
                double l1 = 0;
                for (int j = 0; j < HID; j++) l1 += Math.abs(w2q.getDouble(j * CLASSES + c) * w2s.getDouble(c));
                bound = Math.max(bound, step * l1);
            }
            double maxDiff = 0;
            int sameClass = 0;
            for (int i = 0; i < ty.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ty[i] - logits[0][i]));
            for (int i = 0; i < test.size(); i++) sameClass += argmax(ty, i) == argmax(logits[0], i) ? 1 : 0;
            System.out.printf("%s: max |ORT (optimized) - tape| %.3g (one-step bound %.3g), same class %d/%d%n", m, maxDiff, bound, sameClass, test.size());
            assertTrue(maxDiff <= bound + 1e-4, "max diff " + maxDiff + " > " + bound);
            assertTrue(sameClass >= 0.97 * test.size(), sameClass + " of " + test.size());
        }
        System.out.printf("accuracy: float %.4f, 2-bit weights without training %.4f, QAT STE %.4f, QAT LSQ %.4f%n", accFloat, accPtq, accQat[0], accQat[1]);
        assertTrue(accFloat > 0.85, "float " + accFloat);
        assertTrue(accPtq < accFloat - 0.05, "2-bit PTQ should lose accuracy: " + accPtq + " vs " + accFloat);
        for (double a : accQat) {
            assertTrue(a > accPtq + 0.03, "QAT " + a + " vs PTQ " + accPtq);
            assertTrue(a > accFloat - 0.06, "QAT " + a + " vs float " + accFloat);
        }
    }

    /** x[N,1,8,8] -> Conv(4, 3x3) -> Relu -> MaxPool 2 -> Flatten -> Gemm(3). */
    static Graph cnn(long seed) {
        Random r = new Random(seed);
        return Graph.builder().name("cnn").opset("", 17)
                .addInput(new ValueInfo("input", new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(1), Dim.of(8), Dim.of(8)))))
                .addOutput(new ValueInfo("logits", TensorType.unknown()))
                .initializer("cw", Tensor.of(gaussian(r, 4 * 9, 0.5), 4, 1, 3, 3))
                .initializer("cb", Tensor.of(gaussian(r, 4, 0.1), 4))
                .initializer("fw", Tensor.of(gaussian(r, 3 * 36, 0.3), 3, 36))
                .initializer("fb", Tensor.of(new float[3], 3))
                .addNode(new Node("conv", "Conv", "", List.of("input", "cw", "cb"), List.of("c"), Map.of()))
                .addNode(new Node("relu", "Relu", "", List.of("c"), List.of("cr"), Map.of()))
                .addNode(new Node("pool", "MaxPool", "", List.of("cr"), List.of("p"), Map.of("kernel_shape", Attribute.of(2L, 2L), "strides", Attribute.of(2L, 2L))))
                .addNode(new Node("flat", "Flatten", "", List.of("p"), List.of("f"), Map.of("axis", Attribute.of(1L))))
                .addNode(new Node("fc", "Gemm", "", List.of("f", "fw", "fb"), List.of("logits"), Map.of("transB", Attribute.of(1L))))
                .build();
    }

    @Test
    void cnnQatExportMatchesTapeInOrt() {
        Random r = new Random(5);
        int n = 256;
        float[] x = new float[n * 64];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(3);
            for (int j = 0; j < 64; j++) x[i * 64 + j] = (float) (r.nextGaussian() * 0.5 + (j % 8 < 3 * (y[i] + 1) ? 0.5 : 0));
        }
        Dataset d = new Dataset(x, y, new long[] {1, 8, 8});
        for (Qat.Mode m : Qat.Mode.values()) {
            Qat qat = new Qat(Qat.Config.defaults().withEpochs(1).withBatchSize(32).withLr(1e-3).withMode(m).withWeightBits(4), null);
            Graph q = qat.run(cnn(1), d, null);
            // Conv weight per output channel (axis 0), Gemm weight per row; activations before Conv, MaxPool and Gemm
            assertEquals(3, q.nodes().stream().filter(k -> k.opType().equals("QuantizeLinear")).count());
            assertEquals(5, q.nodes().stream().filter(k -> k.opType().equals("DequantizeLinear")).count());
            INDArray tapeY = qat.tape().infer(Map.of("input", Nd4j.create(x, new long[] {n, 1, 8, 8}))).get("logits");
            Tensor ort = io.condense.OrtTestSupport.run(OnnxExporter.toBytes(q), Map.of("input", Tensor.of(x, n, 1, 8, 8))).get("logits");
            io.condense.TensorAssert.assertClose(io.condense.train.Arrays2.toTensor(tapeY, false), ort, 1e-4, 1e-4, m + " CNN tape vs ORT");
        }
    }
}
