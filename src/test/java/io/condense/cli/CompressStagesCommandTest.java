package io.condense.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.condense.TestData;
import io.condense.ir.Graph;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import io.condense.report.Report;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code condense compress --text} with the prune-structured and distill stages on TinyBERT (seconds). */
class CompressStagesCommandTest {
    @TempDir Path dir;

    @Test void ffnPruningThenDistillationOnText() throws Exception {
        Path tiny = TestData.require("onnx/models/tinybert/tinybert.onnx");
        Path tok = dir.resolve("tokenizer.json"), text = dir.resolve("s.txt"), recipe = dir.resolve("r.yaml"), out = dir.resolve("out");
        Files.writeString(tok, QatTextCommandTest.tokenizerJson());
        String[] w = "the a cat dog sat on mat rug sun rain fell market stock rose city jury said report new old".split(" ");
        StringBuilder sb = new StringBuilder();
        java.util.Random rnd = new java.util.Random(5);
        for (int i = 0; i < 160; i++) {
            int n = 3 + rnd.nextInt(8);
            for (int k = 0; k < n; k++) sb.append(k == 0 ? "" : " ").append(w[rnd.nextInt(w.length)]);
            sb.append(".\n");
        }
        Files.writeString(text, sb);
        Files.writeString(recipe, """
                search: {floor: 0.99, latency_repeats: 0}
                data: {calibration_batches: 4, batch_size: 16}
                stages:
                  - prune-structured: {method: ffn, sparsity: [0.5]}
                  - distill: {steps: 40, lr: 0.001, batch_size: 16}
                  - report
                """);
        CliRun r = DistillCommandsTest.run("compress", tiny.toString(), "--recipe", recipe.toString(), "--text", text.toString(),
                "--tokenizer", tok.toString(), "--out", out.toString());
        assertEquals(0, r.rc(), r.out() + r.err());
        JsonNode rep = Report.read(out.resolve("report.json"));
        double pruned = Double.NaN, distilled = Double.NaN;
        for (JsonNode c : rep.get("candidates")) {
            if (c.get("stage_name").asText().equals("prune-structured")) pruned = c.get("metric").asDouble();
            if (c.get("stage_name").asText().equals("distill")) distilled = c.get("metric").asDouble();
        }
        System.out.printf("TinyBERT ffn 0.5 fidelity %.6f, after distill %.6f%n", pruned, distilled);
        // FFN pruning costs TinyBERT little (cosine ~0.99996); distillation must at least halve what is left
        assertTrue(1 - distilled < (1 - pruned) / 2, pruned + " -> " + distilled);
        Graph g = OnnxImporter.load(out.resolve("model.onnx"));
        List<String> methods = new ArrayList<>();
        for (JsonNode s : Provenance.history(g)) methods.add(s.get("method").asText());
        assertTrue(methods.containsAll(List.of("prune/structured-ffn", "distill")), methods.toString());
        assertTrue(g.parameterCount() < OnnxImporter.load(tiny).parameterCount());
        assertTrue(Files.isRegularFile(out.resolve("report.html")));
    }
}
