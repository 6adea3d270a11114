package io.condense.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.condense.TestData;
import io.condense.data.text.TextData;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MiniLM text calibration on Spark (3 partitions of per-batch padded text batches) == the single-process statistics. */
@Tag("slow")
class SparkTextCalibrationTest {
    @TempDir Path tmp;

    @Test
    void miniLmTextCalibrationOnSparkEqualsSingleProcess() throws Exception {
        Path model = TestData.miniLm();
        Assumptions.assumeTrue(model != null, "MiniLM jar not on the test class path: skipping");
        Path text = tmp.resolve("s.txt");
        Files.write(text, TextData.builtinCalibrationText().subList(0, 40));
        Path tok = model.resolveSibling("all-minilm-l6-v2-tokenizer.json");
        if (!Files.exists(tok)) {
            try (var in = SparkTextCalibrationTest.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
                Assumptions.assumeTrue(in != null, "MiniLM tokenizer not on the test class path: skipping");
                Files.copy(in, tok);
            }
        }
        Path a = tmp.resolve("spark.json"), b = tmp.resolve("single.json");
        assertEquals(0, SparkMain.run("calibrate", model.toString(), "--text", text.toString(), "--tokenizer", tok.toString(), "--batch-size", "8",
                "--master", "local[2]", "--partitions", "3", "--out", a.toString()));
        assertEquals(0, SparkMain.run("calibrate", model.toString(), "--text", text.toString(), "--tokenizer", tok.toString(), "--batch-size", "8",
                "--single", "--master", "local[1]", "--out", b.toString()));
        JsonNode ja = new ObjectMapper().readTree(a.toFile()), jb = new ObjectMapper().readTree(b.toFile());
        assertEquals(40, ja.get("samples").asLong());
        assertTrue(ja.get("tensors").size() > 30, "the MatMul inputs of 6 layers");
        assertEquals(jb, ja);
    }

    /** Text fidelity of dynamic-INT8 MiniLM to the float model on Spark (3 partitions) == Fidelity.compareText in one process. */
    @Test
    void miniLmTextFidelityOnSparkEqualsSingleProcess() throws Exception {
        Path model = TestData.miniLm();
        Assumptions.assumeTrue(model != null, "MiniLM jar not on the test class path: skipping");
        byte[] tokJson;
        try (var in = SparkTextCalibrationTest.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            Assumptions.assumeTrue(in != null, "MiniLM tokenizer not on the test class path: skipping");
            tokJson = in.readAllBytes();
        }
        io.condense.ir.Graph f = io.condense.onnx.OnnxImporter.load(model);
        io.condense.ir.Graph q = io.condense.quant.TransformerQuant.quantize(f, io.condense.quant.TransformerQuant.Mode.DYNAMIC, null, null).graph();
        java.util.List<String> sentences = TextData.builtinCalibrationText().subList(0, 24);
        io.condense.eval.Fidelity.Report want;
        try (io.condense.data.text.HfTokenizer tok = io.condense.data.text.HfTokenizer.fromJson(tokJson, "tokenizer", 0)) {
            want = io.condense.eval.Fidelity.compareText(q, f, TextData.batches(q, tok, sentences, 8));
        }
        org.apache.spark.api.java.JavaSparkContext sc = SparkTestSupport.context("local[2]");
        try {
            io.condense.eval.Fidelity.Report got = DistributedStats.compareText(Batched.of(sc.parallelize(sentences, 2), 8, 0, 3),
                    SparkModel.broadcast(sc, q), SparkModel.broadcast(sc, f), new Feeds.TextTokenizer(sc, tokJson, 0), 0);
            assertEquals(want, got);
            assertTrue(got.embeddings().meanCosine() > 0.98 && got.embeddings().meanCosine() < 1, got.embeddings().format());
        } finally {
            sc.stop();
        }
    }
}
