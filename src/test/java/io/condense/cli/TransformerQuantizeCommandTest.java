package io.condense.cli;

import io.condense.OrtTestSupport;
import io.condense.TestData;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.quant.TextCalibrationTestAccess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code condense quantize} on a transformer (TinyBERT, opset 11): detection, the default mode, every --mode, and the errors. */
class TransformerQuantizeCommandTest {
    @TempDir
    Path dir;

    private Path tiny() throws Exception {
        Path t = dir.resolve("tinybert.onnx");
        Files.copy(TestData.require("onnx/models/tinybert/tinybert.onnx"), t);
        return t;
    }

    /** ORT runs the written model on a 1x8 batch and gives finite values. */
    private static void ortRuns(Path model) {
        Graph g = OnnxImporter.load(model);
        Map<String, Tensor> feeds = new java.util.LinkedHashMap<>();
        long[] ids = new long[8], ones = new long[8];
        for (int i = 0; i < 8; i++) {
            ids[i] = 5 + 37L * i;
            ones[i] = 1;
        }
        feeds.put("input_ids", Tensor.of(ids, 1, 8));
        feeds.put("attention_mask", Tensor.of(ones, 1, 8));
        feeds.put("token_type_ids", Tensor.of(new long[8], 1, 8));
        for (Tensor t : OrtTestSupport.run(OnnxExporter.toBytes(g), feeds).values()) {
            for (int i = 0; i < t.size(); i++) assertTrue(Double.isFinite(t.getDouble(i)));
        }
    }

    @Test
    void detectsTheTransformerAndPicksDynamic() throws Exception {
        Path t = tiny(), out = dir.resolve("dyn.onnx");
        CliTest.Result r = CliTest.cli("quantize", t.toString(), "--out", out.toString()).ok();
        assertTrue(r.out().contains("transformer detected") && r.out().contains("--mode dynamic"), r.out());
        assertTrue(r.out().contains("upgraded the model's opset 11 -> 13"), r.out());
        Graph q = OnnxImporter.load(out);
        assertTrue(q.nodes().stream().anyMatch(n -> n.opType().equals("MatMulInteger")));
        assertTrue(q.nodes().stream().anyMatch(n -> n.opType().equals("DynamicQuantizeLinear")));
        ortRuns(out);
    }

    @Test
    void everyModeWritesAModelOrtRuns() throws Exception {
        Path t = tiny(), tok = dir.resolve("tok.json");
        Files.write(tok, TextCalibrationTestAccess.tinyBertTokenizer());
        for (String[] m : new String[][] {{"static"}, {"smoothquant"}, {"weight-only"}, {"weight-only", "--format", "matmulnbits", "--group", "16"},
                {"weight-only", "--bits", "8", "--no-embeddings"}}) {
            Path out = dir.resolve(String.join("_", m).replace("--", "") + ".onnx");
            String[] args = new String[] {"quantize", t.toString(), "--mode", m[0], "--text", "builtin", "--tokenizer", tok.toString(),
                    "--samples", "16", "--batch-size", "8", "--out", out.toString()};
            String[] all = new String[args.length + m.length - 1];
            System.arraycopy(args, 0, all, 0, args.length);
            System.arraycopy(m, 1, all, args.length, m.length - 1);
            CliTest.Result r = CliTest.cli(all).ok();
            assertTrue(r.out().contains("mode: " + m[0] + " (--mode)"), r.out());
            ortRuns(out);
            if (m.length > 1 && m[2].equals("matmulnbits")) {
                assertTrue(OnnxImporter.load(out).nodes().stream().anyMatch(n -> n.opType().equals("MatMulNBits")), "MatMulNBits in " + out);
            }
        }
        // weight-only without data: RTN, and the layer lines say the error was not measured (no NaN)
        CliTest.Result r = CliTest.cli("quantize", t.toString(), "--mode", "weight-only", "--out", dir.resolve("rtn.onnx").toString()).ok();
        assertTrue(r.out().contains("weight-only rtn"), r.out());
        assertTrue(!r.out().contains("NaN"), r.out());
        CliTest.cli("quantize", t.toString(), "--mode", "smoothquant", "--out", dir.resolve("x.onnx").toString()).failsWith(1, "needs calibration data");
        CliTest.cli("quantize", t.toString(), "--mode", "fancy", "--out", dir.resolve("x.onnx").toString()).failsWith(1, "unknown mode 'fancy'");
    }

    @Test
    void int4RtnOnAnOldOpsetModelUpgradesInsteadOfRefusing() throws Exception {
        Path t = tiny(), out = dir.resolve("int4.onnx");
        CliRun r = QuantCommandsTest.main("int4", t.toString(), "--method", "rtn", "--group", "16", "--out", out.toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(!r.out().contains("NaN"), r.out());
        CliRun g = QuantCommandsTest.main("int4", t.toString(), "--method", "gptq", "--out", out.toString());
        assertEquals(1, g.rc());
        assertEquals(1, g.err().trim().lines().count(), g.err());
        assertTrue(g.err().contains("gptq needs calibration data"), g.err());
        ortRuns(out);
    }
}
