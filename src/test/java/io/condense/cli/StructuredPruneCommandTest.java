package io.condense.cli;

import io.condense.OrtTestSupport;
import io.condense.TestData;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import io.condense.train.Models;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** condense prune --method channels|heads|ffn through the command line. */
class StructuredPruneCommandTest {
    @TempDir Path dir;

    @Test
    void channelsShrinksResnetSmallAndOrtRunsIt() {
        Path in = dir.resolve("r.onnx"), out = dir.resolve("p.onnx");
        OnnxExporter.save(Models.resnetSmall(1), in);
        Object[] r = PruneCommandTest.run("prune", in.toString(), "--method", "channels", "--sparsity", "0.5", "--out", out.toString());
        assertEquals(0, r[0], r[2].toString());
        assertTrue(r[1].toString().contains("channel groups: 6 prunable of 7"), r[1].toString());
        Graph p = OnnxImporter.load(out);
        assertTrue(p.parameterCount() < Models.resnetSmall(1).parameterCount() * 0.6);
        assertEquals("prune/channels", Provenance.history(p).get(0).get("method").asText());
        Map<String, Tensor> y = OrtTestSupport.run(OnnxExporter.toBytes(p), OrtTestSupport.randomInputs(p.inputs(), 1, 2, 1));
        assertEquals(20, y.get("logits").size());
    }

    @Test
    void badRequestsGiveOneLine() {
        Path in = dir.resolve("r.onnx");
        OnnxExporter.save(Models.lenet5(1), in);
        Object[] r = PruneCommandTest.run("prune", in.toString(), "--method", "heads", "--out", dir.resolve("x.onnx").toString());
        assertEquals(1, r[0]);
        assertTrue(r[2].toString().startsWith("condense: error: --method heads needs --text"), r[2].toString());
        r = PruneCommandTest.run("prune", in.toString(), "--method", "channels", "--criterion", "wanda", "--out", dir.resolve("x.onnx").toString());
        assertEquals(1, r[0]);
        assertTrue(r[2].toString().contains("unknown channel criterion"), r[2].toString());
        assertFalse(Files.exists(dir.resolve("x.onnx")));
    }

    @Test
    @org.junit.jupiter.api.Tag("slow")
    void headsOnMiniLmWithBuiltinText() throws Exception {
        Path in = TestData.miniLm(), out = dir.resolve("t.onnx");
        org.junit.jupiter.api.Assumptions.assumeTrue(in != null, "MiniLM not on the class path: skipping");
        Path tok = dir.resolve("tokenizer.json");
        try (java.io.InputStream s = getClass().getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            org.junit.jupiter.api.Assumptions.assumeTrue(s != null, "MiniLM tokenizer not on the class path: skipping");
            Files.copy(s, tok);
        }
        Object[] r = PruneCommandTest.run("prune", in.toString(), "--method", "heads", "--sparsity", "0.25", "--text", "builtin",
                "--tokenizer", tok.toString(), "--samples", "16", "--out", out.toString());
        assertEquals(0, r[0], r[2].toString());
        Graph p = OnnxImporter.load(out);
        assertEquals(9 * 32, p.initializers().get("encoder.layer.0.attention.self.query.bias").size());
    }
}
