package io.condense.prune.structured;

import io.condense.OrtTestSupport;
import io.condense.TestData;
import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.eval.Fidelity;
import io.condense.ir.Graph;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MiniLM-L6 with 25% / 50% of its attention heads or FFN neurons removed (importance from 64 calibration
 * sentences of brown-nonfiction.txt): parameters and embedding fidelity (mean cosine of mean-pooled embeddings
 * to the unpruned model) on 200 other sentences; ONNX Runtime runs every pruned model. A measurement (slow).
 */
@Tag("slow")
class TransformerFidelityTest {

    @Test
    void miniLmHeadAndFfnPruningFidelity() throws Exception {
        Path model = TestData.miniLm();
        Assumptions.assumeTrue(model != null, "MiniLM jar not on the test class path: skipping");
        Path text = TestData.require("text/brown-nonfiction.txt");
        byte[] tokJson;
        try (InputStream in = getClass().getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            Assumptions.assumeTrue(in != null, "MiniLM tokenizer not on the class path: skipping");
            tokJson = in.readAllBytes();
        }
        List<String> lines = TextData.readLines(text);
        List<String> calib = TextData.select(lines, 0, 64), held = TextData.select(lines, 5000, 200);
        Graph g = DependencyGraph.normalize(OnnxImporter.load(model));
        List<String> report = new ArrayList<>();
        try (HfTokenizer tok = HfTokenizer.fromJson(tokJson, "MiniLM tokenizer", 128)) {
            List<TextBatch> cb = TextData.batches(g, tok, calib, 16), hb = TextData.batches(g, tok, held, 16);
            float[][] ref = Fidelity.embeddings(g, hb);
            report.add(String.format("%-22s %12s %10s %10s", "MiniLM-L6", "params", "mean cos", "min cos"));
            report.add(String.format("%-22s %,12d %10s %10s", "dense", g.parameterCount(), "1", "1"));
            for (String kind : List.of("heads", "ffn")) {
                for (double ratio : new double[] {0.25, 0.5}) {
                    Graph p = kind.equals("heads") ? TransformerPruning.pruneHeads(g, ratio, cb) : TransformerPruning.pruneFfn(g, ratio, cb);
                    Fidelity.EmbeddingReport f = Fidelity.compareEmbeddings(Fidelity.embeddings(p, hb), ref);
                    // ONNX Runtime runs the pruned model and agrees with condense's executor
                    var feeds = hb.get(0).feeds(p.inputs());
                    var ort = OrtTestSupport.run(OnnxExporter.toBytes(p), feeds);
                    float[][] ortEmb = Fidelity.pool(ort.get(p.outputs().get(0).name()), hb.get(0).mask());
                    float[][] cpuEmb = Fidelity.embeddings(p, List.of(hb.get(0)));
                    for (int i = 0; i < ortEmb.length; i++) assertTrue(Fidelity.cosine(ortEmb[i], cpuEmb[i]) > 0.9999, "ORT vs condense");
                    report.add(String.format("%-22s %,12d %10.4f %10.4f", kind + " -" + (int) (ratio * 100) + "%", p.parameterCount(), f.meanCosine(), f.minCosine()));
                    assertTrue(f.meanCosine() > 0.3, kind + " " + ratio + ": " + f.format());
                }
            }
        }
        report.forEach(System.out::println);
    }
}
