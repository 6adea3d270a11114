package io.condense.quant.int4;

import io.condense.OrtReference;
import io.condense.TensorAssert;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Int4WeightOnlyTest {

    /** Inputs with strongly correlated features: x = z A + small noise, z of low dimension. */
    static float[] correlated(Random r, int n, int k, int latent) {
        float[][] a = new float[latent][k];
        Random ra = new Random(99);
        for (float[] row : a) for (int j = 0; j < k; j++) row[j] = (float) ra.nextGaussian();
        float[] x = new float[n * k];
        for (int i = 0; i < n; i++) {
            double[] z = new double[latent];
            for (int l = 0; l < latent; l++) z[l] = r.nextGaussian();
            for (int j = 0; j < k; j++) {
                double v = 0.05 * r.nextGaussian();
                for (int l = 0; l < latent; l++) v += z[l] * a[l][j];
                x[i * k + j] = (float) v;
            }
        }
        return x;
    }

    static float[] gaussian(Random r, int n, double std) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) (r.nextGaussian() * std);
        return f;
    }

    /** x[N,k] -> Gemm(transB=1, W1 [h,k], b1) -> Relu -> MatMul(W2 [h,o]) -> y, opset 17. */
    static Graph mlp(int k, int h, int o, long seed) {
        Random r = new Random(seed);
        return Graph.builder().name("mlp").opset("", 17)
                .addInput(new ValueInfo("x", new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(k)))))
                .addOutput(new ValueInfo("y", new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(o)))))
                .initializer("W1", Tensor.of(gaussian(r, h * k, 1 / Math.sqrt(k)), h, k))
                .initializer("b1", Tensor.of(gaussian(r, h, 0.1), h))
                .initializer("W2", Tensor.of(gaussian(r, h * o, 1 / Math.sqrt(h)), h, o))
                .addNode(new Node("fc1", "Gemm", "", List.of("x", "W1", "b1"), List.of("h"), Map.of("transB", Attribute.of(1L))))
                .addNode(new Node("relu", "Relu", "", List.of("h"), List.of("hr"), Map.of()))
                .addNode(new Node("fc2", "MatMul", "", List.of("hr", "W2"), List.of("y"), Map.of()))
                .build();
    }

    static List<Map<String, Tensor>> batches(int count, int n, int k, long seed) {
        Random r = new Random(seed);
        List<Map<String, Tensor>> out = new ArrayList<>();
        for (int b = 0; b < count; b++) out.add(Map.of("x", Tensor.of(correlated(r, n, k, 8), n, k)));
        return out;
    }

    static Map<String, Tensor> run(Graph g, Map<String, Tensor> feed) {
        try (Session s = Backends.cpu().open(g)) {
            return s.run(feed);
        }
    }

    static Tensor ort(byte[] model, Map<String, Tensor> feed, OrtSession.SessionOptions.OptLevel level, String accuracyLevel) throws Exception {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(level);
            o.setIntraOpNumThreads(1);
            if (accuracyLevel != null) o.addConfigEntry("session.qdq_matmulnbits_accuracy_level", accuracyLevel);
            try (OrtSession s = OrtEnvironment.getEnvironment().createSession(model, o);
                 OnnxTensor x = OrtReference.toOrt(feed.get("x"));
                 OrtSession.Result r = s.run(Map.of("x", x))) {
                return OrtReference.fromOrt((OnnxTensor) r.get("y").orElseThrow());
            }
        }
    }

    @Test
    void gptqHasLowerOutputErrorThanRtnOnCorrelatedInputs() {
        Random r = new Random(1);
        int n = 512, k = 96, rows = 24;
        float[] x = correlated(r, n, k, 6);
        double[][] xxt = new double[k][k];
        for (int i = 0; i < n; i++) for (int a = 0; a < k; a++) for (int b = 0; b < k; b++) xxt[a][b] += (double) x[i * k + a] * x[i * k + b];
        double[][] w = new double[rows][k];
        for (double[] row : w) for (int j = 0; j < k; j++) row[j] = r.nextGaussian();
        for (boolean sym : new boolean[] {true, false}) {
            Gptq.Result rtn = Gptq.rtn(w, 32, 4, sym);
            Gptq.Result gptq = Gptq.gptq(w, xxt, n, 32, 4, sym, 0.01, 128);
            double eR = Gptq.relativeError(w, rtn.dequantized(), xxt), eG = Gptq.relativeError(w, gptq.dequantized(), xxt);
            // the error computed from X X^T equals the one computed directly on the samples
            double num = 0, den = 0;
            double[][] wq = rtn.dequantized();
            for (int i = 0; i < n; i++) {
                for (int o = 0; o < rows; o++) {
                    double y = 0, yq = 0;
                    for (int j = 0; j < k; j++) { y += w[o][j] * x[i * k + j]; yq += wq[o][j] * x[i * k + j]; }
                    num += (y - yq) * (y - yq);
                    den += y * y;
                }
            }
            assertEquals(Math.sqrt(num / den), eR, 1e-6);
            System.out.printf("symmetric=%s: relative output error RTN %.5f GPTQ %.5f%n", sym, eR, eG);
            assertTrue(eG < 0.7 * eR, "GPTQ " + eG + " vs RTN " + eR);
            for (int[] row : gptq.codes()) for (int c : row) assertTrue(sym ? c >= -8 && c <= 7 : c >= 0 && c <= 15);
        }
        // with a block narrower than the matrix (lazy updates across blocks) the result is the same algorithm
        Gptq.Result a = Gptq.gptq(w, xxt, n, 32, 4, true, 0.01, 128), b = Gptq.gptq(w, xxt, n, 32, 4, true, 0.01, 16);
        double ea = Gptq.relativeError(w, a.dequantized(), xxt), eb = Gptq.relativeError(w, b.dequantized(), xxt);
        assertEquals(ea, eb, 1e-3 * ea);
    }

    @Test
    void exportedModelRunsInOrtAndMatchesCpuAndSimulation() throws Exception {
        Graph g = mlp(64, 48, 10, 3);
        List<Map<String, Tensor>> calib = batches(4, 64, 64, 5);
        Map<String, Tensor> feed = batches(1, 16, 64, 77).get(0);
        for (Int4WeightOnly.Config cfg : List.of(Int4WeightOnly.Config.of(32, Int4WeightOnly.Method.GPTQ),
                Int4WeightOnly.Config.of(32, Int4WeightOnly.Method.RTN).withSymmetric(false))) {
            Int4WeightOnly pass = new Int4WeightOnly(cfg, calib, null);
            Graph q = pass.apply(g);
            assertEquals(21, q.opset());
            int dq = 0;
            for (Node n : q.nodes()) {
                if (n.opType().equals("DequantizeLinear")) {
                    dq++;
                    assertEquals(32, n.attrLong("block_size", 0));
                    Tensor codes = q.initializers().get(n.input(0));
                    assertEquals(cfg.symmetric() ? DType.INT4 : DType.UINT4, codes.dtype());
                }
            }
            assertEquals(2, dq);
            assertEquals(2, pass.reports().size());
            for (Int4WeightOnly.LayerReport rep : pass.reports()) {
                assertTrue(rep.rtnError() > 0 && rep.rtnError() < 0.3, rep.toString());
                if (cfg.method() == Int4WeightOnly.Method.GPTQ) assertTrue(rep.gptqError() < rep.rtnError(), rep.toString());
            }
            byte[] bytes = OnnxExporter.toBytes(q);
            Graph back = OnnxImporter.fromBytes(bytes);
            Tensor cpu = run(back, feed).get("y");
            Tensor ort = ort(bytes, feed, OrtSession.SessionOptions.OptLevel.NO_OPT, null);
            // with graph optimizations ORT fuses DQ + MatMul/Gemm into MatMulNBits; exact with accuracy level 0
            Tensor fused = ort(bytes, feed, OrtSession.SessionOptions.OptLevel.ALL_OPT, "0");
            // its default (accuracy level 4) quantizes the activations to INT8 inside MatMulNBits
            Tensor fusedDefault = ort(bytes, feed, OrtSession.SessionOptions.OptLevel.ALL_OPT, null);
            System.out.printf("%s: max |CPU - ORT| unoptimized %.3g, fused acc0 %.3g, fused default %.3g%n", cfg.method(),
                    TensorAssert.maxAbsDiff(cpu, ort), TensorAssert.maxAbsDiff(cpu, fused), TensorAssert.maxAbsDiff(cpu, fusedDefault));
            TensorAssert.assertClose(fused, cpu, 1e-4, 1e-4, cfg.method() + " CPU vs ORT (fused MatMulNBits)");
            TensorAssert.assertClose(fusedDefault, cpu, 0.05, 0.05, cfg.method() + " CPU vs ORT (default accuracy level)");
            // fake-quant simulation: the float model with dequantized weights
            Graph.Builder sim = g.toBuilder();
            pass.dequantizedWeights().forEach(sim::initializer);
            Tensor simY = run(sim.build(), feed).get("y");
            TensorAssert.assertClose(simY, ort, 1e-4, 1e-4, cfg.method() + " simulation vs ORT");
            TensorAssert.assertClose(ort, cpu, 1e-4, 1e-4, cfg.method() + " CPU vs ORT");
        }
    }

    @Test
    void int4ModelIsAboutEightTimesSmaller() {
        Graph g = mlp(512, 256, 128, 4);
        Int4WeightOnly pass = new Int4WeightOnly(Int4WeightOnly.Config.of(128, Int4WeightOnly.Method.RTN), null, null);
        Graph q = pass.apply(g);
        long f = OnnxExporter.toBytes(g).length, i4 = OnnxExporter.toBytes(q).length;
        double ratio = (double) f / i4;
        System.out.printf("model bytes: float %d, int4 g128 %d (%.2fx smaller)%n", f, i4, ratio);
        // 4 bits + a float32 scale and 4-bit zero point per 128 weights: 4.28 bits per weight, 7.5x
        assertTrue(ratio > 7.0 && ratio < 8.0, "ratio " + ratio);
        // the packed codes really take half a byte each: the file is smaller than the codes at one byte each
        long codes = 512 * 256 + 256 * 128;
        assertTrue(i4 < codes * 0.6, "file " + i4 + " bytes for " + codes + " codes");
    }

    @Test
    void upgradesTheOpsetPastAChangedOp() {
        Graph g = mlp(64, 16, 10, 3);
        Graph old = g.toBuilder().opset("", 11)
                .addNode(new Node("us", "Unsqueeze", "", List.of("y"), List.of("p"), Map.of("axes", Attribute.of(2L))))
                .outputs(List.of(new ValueInfo("p", TensorType.unknown()))).build();
        Graph q = new Int4WeightOnly(Int4WeightOnly.Config.of(32, Int4WeightOnly.Method.RTN), null, null).apply(old);
        assertEquals(21, q.opset());
        Node us = q.nodes().stream().filter(n -> n.opType().equals("Unsqueeze")).findFirst().orElseThrow();
        assertEquals(2, us.inputs().size(), "axes became an input (passes.OpsetConversion)");
        // ONNX Runtime accepts the opset-21 graph and gives the [batch, 10, 1] output
        Map<String, io.condense.ir.Tensor> feed = io.condense.OrtTestSupport.randomInputs(old.inputs(), 1, 2, 2);
        io.condense.ir.Tensor out = io.condense.OrtTestSupport.run(OnnxExporter.toBytes(q), feed).values().iterator().next();
        assertEquals(3, out.rank());
        assertThrows(ModelException.class, () -> new Int4WeightOnly(Int4WeightOnly.Config.of(32, Int4WeightOnly.Method.GPTQ), null, null));
    }
}
