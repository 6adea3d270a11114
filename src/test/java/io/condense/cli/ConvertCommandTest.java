package io.condense.cli;

import io.condense.OrtTestSupport;
import io.condense.TestData;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.ShapeInference;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import io.condense.onnx.TensorCodec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code condense convert --float} and {@code condense quantize --float}: files ONNX Runtime runs, with provenance. */
class ConvertCommandTest {
    @TempDir Path dir;

    static CliRun main(String... args) { return CliRun.of(args); }

    @Test
    void convertMnistToFp16() throws Exception {
        Path model = TestData.require("onnx/models/mnist-8/model.onnx"), out = dir.resolve("m16.onnx");
        CliRun r = main("convert", model.toString(), "--float", "fp16", "-o", out.toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("converted to fp16") && r.out().contains("smaller"), r.out());
        Graph q = OnnxImporter.load(out);
        assertEquals("convert/fp16", q.metadata().get(Provenance.METHOD));
        assertEquals(Provenance.sha256(model), q.metadata().get(Provenance.INPUT_SHA256));
        assertTrue(Files.size(out) < 0.6 * Files.size(model), Files.size(out) + " vs " + Files.size(model));
        Path ds = model.resolveSibling("test_data_set_0");
        Tensor x = TensorCodec.readPb(ds.resolve("input_0.pb")), want = TensorCodec.readPb(ds.resolve("output_0.pb"));
        Tensor got = OrtTestSupport.run(Files.readAllBytes(out), Map.of(q.inputs().get(0).name(), x)).values().iterator().next();
        float[] w = want.toFloatArray(), g = got.toFloatArray();
        double m = 0;
        for (float v : w) m = Math.max(m, Math.abs(v));
        // float16 weights and activations: within 2e-3 of the largest logit (measured 4e-4 on random inputs)
        for (int i = 0; i < w.length; i++) assertEquals(w[i], g[i], 2e-3 * m, "logit " + i);
    }

    @Test
    void badTargetAndMissingFileAreOneLineErrors() {
        Path out = dir.resolve("x.onnx");
        CliRun r = main("convert", "nope.onnx", "--float", "fp8", "-o", out.toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().startsWith("condense: error: unknown float target 'fp8'"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        r = main("convert", dir.resolve("missing.onnx").toString(), "--float", "bf16", "-o", out.toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().startsWith("condense: error:"), r.err());
        assertFalse(Files.exists(out));
        r = main("convert", "m.onnx", "-o", out.toString());
        assertEquals(2, r.rc(), r.err());
    }

    @Test
    void quantizeWithFloat16KeepsInt8AndConvertsTheRest() throws Exception {
        Path model = TestData.require("onnx/models/mnist-8/model.onnx"), out = dir.resolve("q16.onnx");
        CliRun r = main("quantize", model.toString(), "--calib", "random", "--batches", "2", "--scale", "1", "--float", "fp16", "--out", out.toString());
        assertEquals(0, r.rc(), r.err());
        Graph q = OnnxImporter.load(out);
        var types = ShapeInference.inferTypes(q);
        long dq = 0;
        for (Node n : q.nodes()) {
            if (n.opType().equals("DequantizeLinear")) {
                dq++;
                assertEquals(DType.FLOAT16, types.get(n.output(0)).dtype(), n.label());
            }
            if (n.opType().equals("Conv") || n.opType().equals("MatMul")) assertEquals(DType.FLOAT16, types.get(n.output(0)).dtype(), n.label());
        }
        assertTrue(dq > 0);
        assertTrue(q.initializers().values().stream().anyMatch(t -> t.dtype() == DType.INT8));
        var history = Provenance.history(q);
        assertEquals(2, history.size(), history.toString());
        assertEquals("quantize/int8-static", history.get(0).get("method").asText());
        assertEquals("convert/fp16", history.get(1).get("method").asText());
        Tensor x = TensorCodec.readPb(model.resolveSibling("test_data_set_0").resolve("input_0.pb"));
        Tensor y = OrtTestSupport.run(Files.readAllBytes(out), Map.of(q.inputs().get(0).name(), x)).values().iterator().next();
        for (float v : y.toFloatArray()) assertTrue(Float.isFinite(v));
        // INT8 first, then convert with QuantizeLinear kept in float32 (for ONNX Runtime's CPU provider)
        Path q8 = dir.resolve("q8.onnx"), q8h = dir.resolve("q8h.onnx");
        assertEquals(0, main("quantize", model.toString(), "--calib", "random", "--batches", "2", "--scale", "1", "--out", q8.toString()).rc());
        CliRun c = main("convert", q8.toString(), "--float", "fp16", "--keep-op", "QuantizeLinear", "-o", q8h.toString());
        assertEquals(0, c.rc(), c.err());
        Graph h = OnnxImporter.load(q8h);
        var ht = ShapeInference.inferTypes(h);
        for (Node n : h.nodes()) {
            if (n.opType().equals("QuantizeLinear")) assertEquals(DType.FLOAT32, ht.get(n.input(0)).dtype(), n.label());
            if (n.opType().equals("DequantizeLinear")) assertEquals(DType.FLOAT16, ht.get(n.output(0)).dtype(), n.label());
            if (n.opType().equals("RandomNormal")) throw new AssertionError("no random ops expected");
        }
        var keep = Provenance.history(h).get(1).get("config").get("keepOps").toString();
        assertTrue(keep.contains("QuantizeLinear") && keep.contains("RandomUniform"), keep);
    }
}
