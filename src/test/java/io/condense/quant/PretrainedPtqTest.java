package io.condense.quant;

import ai.onnxruntime.OrtSession;
import io.condense.OrtTestSupport;
import io.condense.TestData;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.data.Dataset;
import io.condense.data.Mnist;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PTQ of staged pretrained MNIST CNNs: the QDQ model runs in ONNX Runtime with its INT8 kernels (all graph
 * optimizations) and keeps the float model's predictions on MNIST test images; the QDQ graph gives the same
 * top-1 in ORT (optimizations off) and in condense's CPU executor.
 */
class PretrainedPtqTest {
    @BeforeAll
    static void threads() { io.condense.train.Threads.auto(); }

    static List<Map<String, Tensor>> feeds(ValueInfo in, Dataset d, int from, int n, float scale) {
        List<Map<String, Tensor>> out = new ArrayList<>();
        for (int i = from; i < from + n; i++) {
            float[] x = d.sample(i);
            for (int k = 0; k < x.length; k++) x[k] *= scale;
            out.add(Map.of(in.name(), Tensor.of(x, 1, 1, 28, 28)));
        }
        return out;
    }

    static int argmax(Tensor t) {
        int b = 0;
        for (int i = 1; i < t.size(); i++) if (t.getDouble(i) > t.getDouble(b)) b = i;
        return b;
    }

    static int[] ortTop1(byte[] model, List<Map<String, Tensor>> feeds, OrtSession.SessionOptions.OptLevel level) {
        int[] r = new int[feeds.size()];
        for (int i = 0; i < r.length; i++) r[i] = argmax(OrtTestSupport.run(model, feeds.get(i), level).values().iterator().next());
        return r;
    }

    void check(String rel, float scale, double minSizeRatio) {
        Path model = TestData.require(rel);
        Dataset test = Mnist.load(TestData.require("mnist"), false).head(200);
        Graph f = OnnxImporter.load(model);
        ValueInfo in = f.inputs().get(0);
        Graph q = new PtqPass(QuantConfig.of(CalibrationMethod.PERCENTILE), feeds(in, test, 100, 32, scale), null).apply(f);
        assertTrue(q.opset() >= 13);
        byte[] fb = OnnxExporter.toBytes(f), qb = OnnxExporter.toBytes(q);
        List<Map<String, Tensor>> eval = feeds(in, test, 0, 100, scale);
        int[] yf = ortTop1(fb, eval, OrtSession.SessionOptions.OptLevel.ALL_OPT);
        int[] yq = ortTop1(qb, eval, OrtSession.SessionOptions.OptLevel.ALL_OPT);
        int[] yqPlain = ortTop1(qb, eval, OrtSession.SessionOptions.OptLevel.NO_OPT);
        int agree = 0, accF = 0, accQ = 0, same = 0;
        try (Session s = Backends.cpu().open(OnnxImporter.fromBytes(qb))) {
            for (int i = 0; i < eval.size(); i++) {
                int yc = argmax(s.run(eval.get(i)).values().iterator().next());
                if (yc == yqPlain[i]) same++;
                if (yf[i] == yq[i]) agree++;
                if (yf[i] == test.label(i)) accF++;
                if (yq[i] == test.label(i)) accQ++;
            }
        }
        System.out.printf("%s: float acc %d%%, int8 acc %d%%, agreement %d%%, condense=ORT(no opt) %d%%, %d -> %d bytes%n",
                rel, accF, accQ, agree, same, fb.length, qb.length);
        assertTrue(accF >= 95, "float model works on these inputs: " + accF);
        assertTrue(agree >= 97, "INT8 top-1 agrees with float on " + agree + "/100");
        assertEquals(100, same, "condense and ORT agree on the QDQ graph's top-1");
        assertTrue(fb.length > minSizeRatio * qb.length, fb.length + " vs " + qb.length);
    }

    /** With Q/DQ on Conv/MatMul outputs ORT's optimizer turns every Conv and the MatMul into its INT8 kernels. */
    @Test
    void outputPlacementGivesOrtInt8Kernels() throws Exception {
        Path model = TestData.require("onnx/models/mnist-8/model.onnx");
        Dataset test = Mnist.load(TestData.require("mnist"), false).head(132);
        Graph f = OnnxImporter.load(model);
        ValueInfo in = f.inputs().get(0);
        QuantConfig cfg = QuantConfig.of(CalibrationMethod.PERCENTILE).withQuantizeOutputs(true);
        Graph q = new PtqPass(cfg, feeds(in, test, 100, 32, 255f), null).apply(f);
        byte[] qb = OnnxExporter.toBytes(q);
        Path opt = java.nio.file.Files.createTempFile("ort-opt", ".onnx");
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.EXTENDED_OPT);
            o.setOptimizedModelFilePath(opt.toString());
            OrtTestSupport.env().createSession(qb, o).close();
            Graph g = OnnxImporter.load(opt);
            long qconv = g.nodes().stream().filter(n -> n.opType().equals("QLinearConv")).count();
            long qmm = g.nodes().stream().filter(n -> n.opType().equals("QLinearMatMul")).count();
            assertEquals(2, qconv, "ORT ops: " + g.nodes().stream().map(n -> n.opType()).toList());
            assertEquals(1, qmm);
        } finally {
            java.nio.file.Files.deleteIfExists(opt);
        }
        List<Map<String, Tensor>> eval = feeds(in, test, 0, 100, 255f);
        int[] yf = ortTop1(OnnxExporter.toBytes(f), eval, OrtSession.SessionOptions.OptLevel.ALL_OPT);
        int[] yq = ortTop1(qb, eval, OrtSession.SessionOptions.OptLevel.ALL_OPT);
        int agree = 0;
        for (int i = 0; i < yf.length; i++) if (yf[i] == yq[i]) agree++;
        assertTrue(agree >= 97, "agreement " + agree);
    }

    @Test
    void mnist8() { check("onnx/models/mnist-8/model.onnx", 255f, 2.2); } // 6k weights: names and scales weigh in

    @Test
    void tribuoCnn() { check("onnx/models/tribuo-cnn-mnist/cnn_mnist.onnx", 1f, 3.3); }
}
