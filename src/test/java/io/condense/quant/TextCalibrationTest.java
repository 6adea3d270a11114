package io.condense.quant;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.condense.OrtReference;
import io.condense.TestData;
import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextData;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Calibration statistics of 3-input BERT models on text batches: every activation's min and max equal those of the
 * same tensors computed by ONNX Runtime on the same batches.
 */
class TextCalibrationTest {
    static byte[] miniLmTokenizer() throws Exception {
        try (InputStream in = TextCalibrationTest.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            org.junit.jupiter.api.Assumptions.assumeTrue(in != null, "MiniLM jar not on the test class path: skipping");
            return in.readAllBytes();
        }
    }

    /**
     * TinyBERT (Tribuo's test model) has a 1,656-token vocabulary: the bert-base-uncased WordPiece vocabulary cut to
     * ids below 1656 (special tokens and single characters) gives valid ids for it.
     */
    static byte[] tinyBertTokenizer() throws Exception {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = (ObjectNode) om.readTree(miniLmTokenizer());
        ObjectNode vocab = (ObjectNode) root.get("model").get("vocab");
        List<String> drop = new ArrayList<>();
        for (Iterator<Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, com.fasterxml.jackson.databind.JsonNode> e = it.next();
            if (e.getValue().asInt() >= 1656) drop.add(e.getKey());
        }
        vocab.remove(drop);
        root.putArray("added_tokens"); // [PAD] [UNK] [CLS] [SEP] [MASK] stay in the vocabulary
        return om.writeValueAsBytes(root);
    }

    static void checkAgainstOrt(Graph g, byte[] tokenizer, int sentences, int batch, int maxTensors) throws Exception {
        List<Map<String, Tensor>> feeds;
        try (HfTokenizer tok = HfTokenizer.fromJson(tokenizer, "tokenizer", 0)) {
            feeds = TextData.feeds(g, TextData.batches(g, tok, TextData.builtinCalibrationText().subList(0, sentences), batch));
        }
        Graph prepared = PtqPass.prepare(g);
        QuantConfig cfg = QuantConfig.defaults();
        CalibrationResult stats = PtqPass.calibrate(prepared, cfg, feeds, null);
        assertEquals(feeds.size(), stats.batches());
        assertEquals(sentences, stats.samples());
        List<String> names = new ArrayList<>();
        for (String n : stats.stats().keySet()) if (names.size() < maxTensors && !prepared.initializers().containsKey(n)) names.add(n);
        assertTrue(names.size() >= Math.min(maxTensors, 10), "calibrated tensors: " + stats.stats().keySet());
        List<ValueInfo> outs = new ArrayList<>();
        for (String n : names) outs.add(new ValueInfo(n, TensorType.unknown()));
        Graph probe = prepared.toBuilder().outputs(outs).build();
        double[] min = new double[names.size()], max = new double[names.size()];
        java.util.Arrays.fill(min, Double.POSITIVE_INFINITY);
        java.util.Arrays.fill(max, Double.NEGATIVE_INFINITY);
        try (OrtReference ort = new OrtReference(OnnxExporter.toBytes(probe))) {
            for (Map<String, Tensor> f : feeds) {
                Map<String, Tensor> r = ort.run(f);
                for (int i = 0; i < names.size(); i++) {
                    for (float v : r.get(names.get(i)).toFloatArray()) {
                        min[i] = Math.min(min[i], v);
                        max[i] = Math.max(max[i], v);
                    }
                }
            }
        }
        for (int i = 0; i < names.size(); i++) {
            TensorStats s = stats.get(names.get(i));
            double tol = 1e-4 * Math.max(1, Math.max(Math.abs(min[i]), Math.abs(max[i])));
            assertEquals(min[i], s.min(), tol, "min of " + names.get(i));
            assertEquals(max[i], s.max(), tol, "max of " + names.get(i));
        }
    }

    @Test
    void tinyBertCalibratesOnText() throws Exception {
        Graph g = OnnxImporter.load(TestData.require("onnx/models/tinybert/tinybert.onnx"));
        assertEquals(3, g.inputs().size());
        checkAgainstOrt(g, tinyBertTokenizer(), 20, 8, Integer.MAX_VALUE);
    }

    @Test
    void miniLmCalibratesOnText() throws Exception {
        Path p = TestData.miniLm();
        org.junit.jupiter.api.Assumptions.assumeTrue(p != null, "MiniLM jar not on the test class path: skipping");
        Graph g = OnnxImporter.load(p);
        checkAgainstOrt(g, miniLmTokenizer(), 8, 4, 40);
    }
}
