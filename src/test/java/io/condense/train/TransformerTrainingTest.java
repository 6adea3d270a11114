package io.condense.train;

import io.condense.OrtReference;
import io.condense.TestData;
import io.condense.data.text.TextBatch;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.quant.qat.Qat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The whole TinyBERT graph (opset 11, as exported from PyTorch) on the training tape. */
class TransformerTrainingTest {
    @BeforeAll
    static void threads() { Threads.auto(); }

    static Graph tinyBert() {
        return OnnxImporter.load(TestData.require("onnx/models/tinybert/tinybert.onnx"));
    }

    /** Random token batches: ids in [1, vocab), the last tokens of some rows padded (mask 0, id 0). */
    static List<TextBatch> batches(int n, int batch, int seq, int vocab, long seed) {
        Random r = new Random(seed);
        List<TextBatch> out = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            long[][] ids = new long[batch][seq], mask = new long[batch][seq], types = new long[batch][seq];
            List<String> s = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                int len = seq - r.nextInt(seq / 2);
                for (int t = 0; t < seq; t++) {
                    ids[b][t] = t < len ? 1 + r.nextInt(vocab - 1) : 0;
                    mask[b][t] = t < len ? 1 : 0;
                    types[b][t] = t < len / 2 ? 0 : 1;
                }
                s.add("s" + b);
            }
            out.add(new TextBatch(s, ids, mask, types));
        }
        return out;
    }

    private static Map<String, INDArray> nd(Map<String, Tensor> feeds, DataType dt) {
        Map<String, INDArray> m = new HashMap<>();
        for (Map.Entry<String, Tensor> e : feeds.entrySet()) m.put(e.getKey(), Arrays2.toNd(e.getValue(), dt));
        return m;
    }

    @Test void forwardMatchesOnnxRuntime() throws Exception {
        Graph g = tinyBert();
        Map<String, Tensor> feeds = batches(1, 3, 9, 1656, 1).get(0).feeds(g.inputs());
        Map<String, Tensor> ref = OrtReference.run(OnnxExporter.toBytes(g), feeds);
        Map<String, INDArray> mine = new Tape(g).forward(nd(feeds, DataType.FLOAT), false);
        for (String out : List.of("output_0", "output_1")) {
            float[] want = ref.get(out).toFloatArray();
            float[] got = Arrays2.toTensor(mine.get(out), false).toFloatArray();
            assertEquals(want.length, got.length, out);
            double worst = 0;
            for (int i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]) / (1 + Math.abs(want[i])));
            assertTrue(worst < 1e-4, out + ": worst difference to ONNX Runtime " + worst);
        }
    }

    /**
     * d(sum(w0 * output_0) + sum(w1 * output_1)) / d(parameter element) from the tape against central differences
     * in float64, for elements of the embeddings (scatter-add through Gather), the Q/K/V and FFN weights, the
     * decomposed LayerNorm's scale and the pooler.
     */
    @Test void wholeGraphGradientsMatchFiniteDifferences() {
        Graph g = tinyBert();
        TextBatch b = batches(1, 2, 6, 1656, 2).get(0);
        Map<String, INDArray> x = nd(b.feeds(g.inputs()), DataType.DOUBLE);
        Tape t = new Tape(g, n -> true, DataType.DOUBLE, 0);
        Map<String, INDArray> out = t.forward(x, false);
        Random r = new Random(3);
        Map<String, INDArray> w = new LinkedHashMap<>();
        for (Map.Entry<String, INDArray> e : out.entrySet()) {
            double[] d = new double[(int) e.getValue().length()];
            for (int i = 0; i < d.length; i++) d[i] = r.nextDouble() * 2 - 1;
            w.put(e.getKey(), Nd4j.create(d, e.getValue().shape(), 'c'));
        }
        Map<String, INDArray> grads = t.backward(w);
        long id = b.ids()[0][1];
        Map<String, long[]> elements = new LinkedHashMap<>();
        elements.put("embeddings.word_embeddings.weight", new long[] {id * 50 + 3, id * 50 + 17});
        elements.put("embeddings.position_embeddings.weight", new long[] {50 + 4});
        elements.put("embeddings.token_type_embeddings.weight", new long[] {5, 50 + 5});
        elements.put("embeddings.LayerNorm.weight", new long[] {7});
        elements.put("182", new long[] {5 * 50 + 7, 0});     // query weight
        elements.put("183", new long[] {3 * 50 + 1});        // key weight
        elements.put("186", new long[] {9});                 // value weight
        elements.put("193", new long[] {10 * 200 + 3});      // FFN in
        elements.put("194", new long[] {100 * 50 + 8});      // FFN out
        elements.put("encoder.layer.0.attention.output.LayerNorm.weight", new long[] {4});
        elements.put("encoder.layer.0.intermediate.dense.bias", new long[] {11});
        elements.put("pooler.dense.weight", new long[] {2 * 50 + 9});
        double eps = 1e-6;
        int checked = 0;
        for (Map.Entry<String, long[]> e : elements.entrySet()) {
            INDArray p = t.parameters().get(e.getKey());
            assertTrue(p != null, e.getKey() + " is not a parameter");
            INDArray flat = p.reshape(p.length());
            double[] ana = grads.get(e.getKey()).dup('c').reshape(p.length()).toDoubleVector();
            for (long i : e.getValue()) {
                double orig = flat.getDouble(i);
                flat.putScalar(i, orig + eps);
                double lp = loss(t, x, w);
                flat.putScalar(i, orig - eps);
                double lm = loss(t, x, w);
                flat.putScalar(i, orig);
                double num = (lp - lm) / (2 * eps);
                double err = Math.abs(num - ana[(int) i]) / Math.max(1e-6, Math.max(Math.abs(num), Math.abs(ana[(int) i])));
                if (!(err < 1e-4)) fail(e.getKey() + "[" + i + "]: analytic " + ana[(int) i] + ", numeric " + num);
                assertTrue(Math.abs(num) > 1e-9, e.getKey() + "[" + i + "] does not affect the loss");
                checked++;
            }
        }
        assertEquals(15, checked);
    }

    private static double loss(Tape t, Map<String, INDArray> x, Map<String, INDArray> w) {
        Map<String, INDArray> out = t.forward(x, false);
        double s = 0;
        for (Map.Entry<String, INDArray> e : out.entrySet()) s += e.getValue().mul(w.get(e.getKey())).sumNumber().doubleValue();
        return s;
    }

    /** QAT on token batches with the pooled-embedding MSE to the float model: the loss falls and the export runs. */
    @Test void textQatLossFalls() {
        Graph g = tinyBert();
        List<TextBatch> train = batches(4, 4, 12, 1656, 4);
        Qat.Config d = Qat.Config.defaults();
        Qat qat = new Qat(new Qat.Config(8, Qat.Mode.LSQ, 0, 4, 2e-5, d.scaleLr(), 1, 0, d.quant()), null);
        Graph q = qat.runText(g, train, 16, EmbeddingTrainer.LossKind.MSE);
        EmbeddingTrainer.History h = qat.textHistory();
        assertEquals(16, h.losses().length);
        // the same 4 batches in the first and the last 4 steps
        assertTrue(h.last(4) < 0.8 * h.first(4), "QAT loss did not fall: first " + h.first(4) + ", last " + h.last(4));
        assertTrue(q.nodes().stream().anyMatch(n -> n.opType().equals("QuantizeLinear")), "no QDQ in the export");
    }

    /** MiniLM-L6 QAT on brown sentences with its own tokenizer: the pooled-embedding MSE to the float model falls. */
    @org.junit.jupiter.api.Tag("slow")
    @Test void miniLmTextQatLossFalls() throws Exception {
        java.nio.file.Path p = TestData.miniLm();
        org.junit.jupiter.api.Assumptions.assumeTrue(p != null, "MiniLM jar not on the test class path: skipping");
        java.nio.file.Path text = TestData.require("text/brown-nonfiction.txt");
        Graph g = OnnxImporter.load(p);
        byte[] json;
        try (java.io.InputStream in = TransformerTrainingTest.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            org.junit.jupiter.api.Assumptions.assumeTrue(in != null, "MiniLM tokenizer not on the class path: skipping");
            json = in.readAllBytes();
        }
        List<TextBatch> train;
        try (io.condense.data.text.Tokenizer tok = io.condense.data.text.HfTokenizer.fromJson(json, "minilm", 48)) {
            train = io.condense.data.text.TextData.batches(g, tok, io.condense.data.text.TextData.select(
                    io.condense.data.text.TextData.readLines(text), 0, 32), 8);
        }
        Qat.Config d = Qat.Config.defaults();
        Qat qat = new Qat(new Qat.Config(8, Qat.Mode.LSQ, 0, 8, 1e-5, d.scaleLr(), 2, 0, d.quant()), null);
        qat.runText(g, train, 16, EmbeddingTrainer.LossKind.MSE);
        EmbeddingTrainer.History h = qat.textHistory();
        assertTrue(h.last(4) < h.first(4), "MiniLM QAT loss did not fall: first " + h.first(4) + ", last " + h.last(4));
    }
}
