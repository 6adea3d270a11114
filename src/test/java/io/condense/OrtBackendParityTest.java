package io.condense;

import io.condense.backend.Backend;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.backend.ort.OrtBackend;
import io.condense.data.Mnist;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxImporter;
import io.condense.quant.CalibrationResult;
import io.condense.quant.PtqPass;
import io.condense.quant.QuantConfig;
import io.condense.quant.Sensitivity;
import io.condense.quant.TensorStats;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ort backend (ONNX Runtime behind {@link Backend}) against the cpu backend: every staged model and MiniLM give
 * the same outputs within 1e-4 (scaled by the output magnitude above 1, as in {@link ModelParityTest}); calibration
 * statistics and a sensitivity sweep agree through either backend.
 */
class OrtBackendParityTest {
    static Backend ort() {
        Backend b = Backends.all().stream().filter(x -> x.name().equals("ort")).findFirst().orElseThrow();
        assertTrue(b.isAvailable(), b.unavailableReason());
        return b;
    }

    @Test
    void foundByServiceLoaderAndAutoStillPicksCpu() {
        assertTrue(ort() instanceof OrtBackend);
        assertSame(Backends.get("cpu").getClass(), Backends.get("auto").getClass(), "auto must keep choosing cpu (no GPU here)");
    }

    @TestFactory
    Stream<DynamicTest> stagedModels() {
        Path m = TestData.require("onnx/models");
        List<DynamicTest> t = new ArrayList<>();
        t.add(DynamicTest.dynamicTest("mnist-8", () -> check(ModelParityTest.withTestSets("mnist-8", m.resolve("mnist-8/model.onnx")))));
        t.add(DynamicTest.dynamicTest("mnist-8-quantized-integer", () -> check(ModelParityTest.withTestSets("mnist-8-q",
                m.resolve("mnist-8-quantized-integer/model_quantized.onnx")))));
        for (String[] s : new String[][] {
                {"tribuo-cnn-mnist", "tribuo-cnn-mnist/cnn_mnist.onnx"},
                {"squeezenet1.1-fp16", "squeezenet1.1-fp16/SqueezeNet_fp16.onnx"},
                {"tinybert", "tinybert/tinybert.onnx"},
                {"mobilenetv2-12-int8", "mobilenetv2-12-int8/mobilenetv2-12-int8.onnx"},
                {"super_resolution-10", "super_resolution-10/super_resolution.onnx"}}) {
            t.add(DynamicTest.dynamicTest(s[0], () -> check(ModelParityTest.random(s[0], m.resolve(s[1]), 1000))));
        }
        return t.stream();
    }

    @Test
    void miniLm() throws Exception {
        Path model = TestData.miniLm();
        Assumptions.assumeTrue(model != null, "MiniLM resource not on the test classpath: skipping");
        check(ModelParityTest.random("all-minilm-l6-v2", model, 30522));
    }

    static void check(ModelParityTest.Case c) {
        Graph g = OnnxImporter.load(c.model());
        try (Session cpu = Backends.cpu().open(g); Session ort = ort().open(g)) {
            assertEquals(cpu.inputs().stream().map(v -> v.name()).toList(), ort.inputs().stream().map(v -> v.name()).toList());
            for (Map<String, Tensor> f : c.feeds()) {
                Map<String, Tensor> a = cpu.run(f), b = ort.run(f);
                assertEquals(a.keySet(), b.keySet());
                for (String k : a.keySet()) {
                    Tensor x = a.get(k), y = b.get(k);
                    assertEquals(x.dtype(), y.dtype(), k);
                    assertArrayEquals(x.shape(), y.shape(), k);
                    double tol = (x.dtype() == DType.FLOAT16 ? 1e-3 : 1e-4) * Math.max(1, ModelParityTest.maxAbs(x));
                    double d = TensorAssert.maxAbsDiff(x, y);
                    System.out.printf("ort-vs-cpu %-26s %-24s max-abs %.3g (|x| max %.3g)%n", c.name(), k, d, ModelParityTest.maxAbs(x));
                    assertTrue(d <= tol, c.name() + " " + k + ": ort vs cpu " + d + " > " + tol);
                }
            }
        }
    }

    @Test
    void badInputIsOneLineModelException() {
        Path m = TestData.require("onnx/models/mnist-8/model.onnx");
        try (Session s = ort().open(OnnxImporter.load(m))) {
            ModelException e = assertThrows(ModelException.class, () -> s.run(Map.of("Input3", Tensor.zeros(DType.FLOAT32, 1, 1, 28, 27))));
            assertTrue(e.getMessage().contains("Input3"), e.getMessage());
            e = assertThrows(ModelException.class, () -> s.run(Map.of("nope", Tensor.zeros(DType.FLOAT32, 1))));
            assertTrue(e.getMessage().contains("unknown input 'nope'"), e.getMessage());
        }
    }

    /** Calibration adds the calibrated tensors as extra outputs; through ORT the statistics equal the cpu backend's. */
    @Test
    void calibrationAndSensitivityAgree() {
        Path m = TestData.require("onnx/models/mnist-8/model.onnx");
        Path mnist = TestData.require("mnist");
        Graph prepared = PtqPass.prepare(OnnxImporter.load(m));
        var d = Mnist.load(mnist, false).head(64);
        List<Map<String, Tensor>> feeds = new ArrayList<>();
        for (var b : d.batches(1)) {
            feeds.add(Map.of(prepared.inputs().get(0).name(),
                    io.condense.backend.cpu.Nd.toTensor(b.x().mul(255.0).reshape('c', 1, 1, 28, 28), DType.FLOAT32)));
        }
        QuantConfig cfg = QuantConfig.defaults();
        CalibrationResult a = PtqPass.calibrate(Backends.cpu(), prepared, cfg, feeds, null);
        CalibrationResult b = PtqPass.calibrate(ort(), prepared, cfg, feeds, null);
        assertEquals(a.stats().keySet(), b.stats().keySet());
        assertTrue(a.stats().size() >= 4, "calibrated tensors: " + a.stats().keySet());
        for (String k : a.stats().keySet()) {
            TensorStats x = a.stats().get(k), y = b.stats().get(k);
            double tol = 1e-4 * Math.max(1, Math.abs(x.absMax()));
            System.out.printf("calib %-30s amax cpu %.6g ort %.6g%n", k, x.absMax(), y.absMax());
            assertEquals(x.absMax(), y.absMax(), tol, k);
            assertEquals(x.min(), y.min(), tol, k);
            assertEquals(x.max(), y.max(), tol, k);
        }
        Sensitivity.Report ra = Sensitivity.analyze(Backends.cpu(), prepared, a, cfg, feeds.subList(0, 32), null, null);
        Sensitivity.Report rb = Sensitivity.analyze(ort(), prepared, b, cfg, feeds.subList(0, 32), null, null);
        assertEquals(ra.floatMetric(), rb.floatMetric());
        assertEquals(ra.layers().size(), rb.layers().size());
        System.out.printf("sensitivity: cpu all-quantized %.4f, ort %.4f over %d layers%n", ra.fullyQuantizedMetric(), rb.fullyQuantizedMetric(), ra.layers().size());
        assertEquals(ra.fullyQuantizedMetric(), rb.fullyQuantizedMetric(), 1.0 / 32 + 1e-9, "top-1 agreement may differ by one tie-break sample at most");
    }
}
