package io.condense.cli;

import io.condense.OrtReference;
import io.condense.TensorAssert;
import io.condense.TestData;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.backend.cpu.KernelRegistry;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.data.text.Tokenizer;
import io.condense.eval.Fidelity;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The MiniLM demo: tokenizer against published BERT tokenizations, embeddings against ONNX Runtime. */
class DemoTest {
    private static DemoCommand.Loaded loaded;

    /** The model and tokenizer from the langchain4j jar on the test class path (loaded once). */
    static synchronized DemoCommand.Loaded miniLm() {
        if (loaded == null) loaded = DemoCommand.load(null, null);
        return loaded;
    }

    @Test
    void tokenizerMatchesBertUncased() throws Exception {
        Tokenizer tok = miniLm().tokenizer();
        assertNotNull(tok, "the jar's tokenizer json was found");
        assertTrue(tok.description().startsWith("WordPiece, 30522"), tok.description());
        // published examples of the bert-base-uncased tokenizer (Hugging Face course, chapter 2 and 6)
        assertArrayEquals(new long[] {101, 7592, 1010, 2088, 999, 102}, tok.encode("Hello, world!").ids());
        assertEquals(List.of("[CLS]", "em", "##bed", "##ding", "##s", "[SEP]"), tok.tokens("embeddings"));
        // the fixed ids the demo falls back to are this tokenizer's output
        for (int i = 0; i < DemoCommand.DEFAULT_SENTENCES.size(); i++) {
            assertArrayEquals(Arrays.stream(DemoCommand.FIXED_IDS[i]).asLongStream().toArray(),
                    tok.encode(DemoCommand.DEFAULT_SENTENCES.get(i)).ids());
        }
        // the hand-written WordPiece tokenizer condense used before (now a test-only reference) agrees on every built-in sentence
        WordPieceTokenizer ref;
        try (java.io.InputStream in = DemoTest.class.getResourceAsStream("/" + DemoCommand.TOKENIZER_ENTRY)) {
            ref = WordPieceTokenizer.fromJson(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
        }
        List<String> text = new java.util.ArrayList<>(io.condense.data.text.TextData.builtinCalibrationText());
        text.addAll(List.of("  HÉLLO\tNaïve   Café ", "don't", "\u4F60\u597D", "word ".repeat(300)));
        for (String t : text) assertArrayEquals(Arrays.stream(ref.encode(t)).asLongStream().toArray(), tok.encode(t).ids(), t);
    }

    @Test
    void jsonReader() {
        Object v = Json.parse("{\"a\": [1, -2.5e1, true, null, \"x\\u00e9\\n\"], \"b\": {}}");
        assertEquals("{a=[1, -25.0, true, null, xé\n], b={}}", v.toString());
        for (String bad : List.of("{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "1 2")) {
            try {
                Json.parse(bad);
                throw new AssertionError("accepted bad JSON " + bad);
            } catch (io.condense.ir.ModelException e) {
                assertTrue(e.getMessage().startsWith("bad JSON"), e.getMessage());
            }
        }
    }

    private static void assumeKernels(Graph g) {
        TreeSet<String> missing = new TreeSet<>();
        for (Node n : g.nodes()) {
            if (KernelRegistry.standard().get(n.domain(), n.opType()) == null) missing.add(n.opType());
        }
        Assumptions.assumeTrue(missing.isEmpty(), "CPU kernels not merged yet for " + missing + ": skipping");
    }

    @Test
    void embeddingsMatchOnnxRuntime() throws Exception {
        DemoCommand.Loaded m = miniLm();
        assumeKernels(m.graph());
        TextBatch batch = TextData.batches(m.tokenizer(), DemoCommand.DEFAULT_SENTENCES, 3, 0).get(0);
        Map<String, Tensor> feeds = batch.feeds(m.graph().inputs());
        Tensor ours;
        try (Session s = Backends.cpu().open(m.graph())) {
            ours = s.run(feeds).get("last_hidden_state");
        }
        Tensor ref = OrtReference.run(OnnxExporter.toBytes(m.graph()), feeds).get("last_hidden_state");
        assertArrayEquals(new long[] {3, batch.length(), 384}, ours.shape());
        TensorAssert.assertClose(ref, ours, 1e-4, 1e-4, "MiniLM last_hidden_state vs ONNX Runtime");
        float[][] a = Fidelity.meanPool(ours, batch.mask());
        float[][] b = Fidelity.meanPool(ref, batch.mask());
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                assertEquals(Fidelity.cosine(b[i], b[j]), Fidelity.cosine(a[i], a[j]), 1e-5, "cosine " + i + "," + j);
            }
        }
        // the sentences about a cat and a kitten are closer to each other than to the one about stock markets
        assertTrue(Fidelity.cosine(b[0], b[1]) > Fidelity.cosine(b[0], b[2]) + 0.2,
                "cos(cat, kitten) " + Fidelity.cosine(b[0], b[1]) + " vs cos(cat, stocks) " + Fidelity.cosine(b[0], b[2]));
    }

    @Test
    void demoCommandEndToEnd() {
        assumeKernels(miniLm().graph());
        CliTest.Result r = CliTest.cli("demo", "--repeat", "1").ok();
        assertTrue(r.out().contains("output last_hidden_state: float32[3,10,384]"), r.out());
        Matcher row = Pattern.compile("\\n  \\[0\\] +([-0-9.]+) +([-0-9.]+) +([-0-9.]+)\\n").matcher(r.out());
        assertTrue(row.find(), r.out());
        assertEquals(1.0, Double.parseDouble(row.group(1)), 1e-4);
        assertTrue(Double.parseDouble(row.group(2)) > Double.parseDouble(row.group(3)), r.out());
        assertTrue(r.out().contains("latency (batch of 3 x 10 tokens)"), r.out());
    }

    @Test
    void demoErrors(@TempDir Path tmp) {
        CliTest.cli("demo", "--model", tmp.resolve("none.onnx").toString()).failsWith(1, "not found");
        Path relu = TestData.require("onnx/node/test_relu/model.onnx");
        CliTest.cli("demo", "--model", relu.toString()).failsWith(1, "model input 'x' is not a text input");
        CliTest.cli("demo", "--model", relu.toString(), "-s", "hello").failsWith(1, "no tokenizer found");
        CliTest.cli("demo", "--repeat", "-1").failsWith(2, "--repeat must not be negative");
        assertEquals(0, Arrays.stream(DemoCommand.FIXED_IDS).filter(r -> r[0] != 101).count());
    }
}
