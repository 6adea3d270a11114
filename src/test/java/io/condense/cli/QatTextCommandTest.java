package io.condense.cli;

import io.condense.TestData;
import io.condense.ir.Graph;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code condense qat MODEL --text FILE --tokenizer FILE} on TinyBERT with a small WordPiece tokenizer.json. */
class QatTextCommandTest {
    @TempDir Path dir;

    private static final String WORDS = "the a cat dog sat on mat rug sun rain fell market stock rose city jury said report new old";

    /** A Hugging Face tokenizer.json (BERT normalizer and pre-tokenizer, WordPiece, [CLS] A [SEP]) over a few words. */
    static String tokenizerJson() {
        StringBuilder vocab = new StringBuilder("\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3");
        int id = 4;
        for (String w : WORDS.split(" ")) vocab.append(",\"").append(w).append("\":").append(id++);
        return "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":["
                + "{\"id\":0,\"content\":\"[PAD]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
                + "{\"id\":1,\"content\":\"[UNK]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
                + "{\"id\":2,\"content\":\"[CLS]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
                + "{\"id\":3,\"content\":\"[SEP]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}],"
                + "\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,\"strip_accents\":null,\"lowercase\":true},"
                + "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
                + "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"[CLS]\",\"type_id\":0}},"
                + "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":\"[SEP]\",\"type_id\":0}}],"
                + "\"pair\":[{\"SpecialToken\":{\"id\":\"[CLS]\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},"
                + "{\"SpecialToken\":{\"id\":\"[SEP]\",\"type_id\":0}},{\"Sequence\":{\"id\":\"B\",\"type_id\":1}},{\"SpecialToken\":{\"id\":\"[SEP]\",\"type_id\":1}}],"
                + "\"special_tokens\":{\"[CLS]\":{\"id\":\"[CLS]\",\"ids\":[2],\"tokens\":[\"[CLS]\"]},\"[SEP]\":{\"id\":\"[SEP]\",\"ids\":[3],\"tokens\":[\"[SEP]\"]}}},"
                + "\"decoder\":{\"type\":\"WordPiece\",\"prefix\":\"##\",\"cleanup\":true},"
                + "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\",\"max_input_chars_per_word\":100,"
                + "\"vocab\":{" + vocab + "}}}";
    }

    static CliRun main(String... args) { return CliRun.of(args); }

    @Test void qatOnText() throws Exception {
        Path model = TestData.require("onnx/models/tinybert/tinybert.onnx");
        Path tok = dir.resolve("tokenizer.json"), text = dir.resolve("s.txt"), out = dir.resolve("q.onnx");
        Files.writeString(tok, tokenizerJson());
        StringBuilder s = new StringBuilder();
        String[] w = WORDS.split(" ");
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < 40; i++) {
            int n = 3 + r.nextInt(6);
            for (int k = 0; k < n; k++) s.append(k == 0 ? "" : " ").append(w[r.nextInt(w.length)]);
            s.append(".\n");
        }
        Files.writeString(text, s);
        CliRun run = main("qat", model.toString(), "--text", text.toString(), "--tokenizer", tok.toString(), "--samples", "24",
                "--eval-samples", "16", "--batch-size", "8", "--steps", "6", "--calib-batches", "1", "--lr", "1e-5", "--out", out.toString());
        assertEquals(0, run.rc(), run.err());
        Graph q = OnnxImporter.load(out);
        assertTrue(q.nodes().stream().anyMatch(n -> n.opType().equals("QuantizeLinear")));
        assertTrue(q.metadata().getOrDefault(Provenance.METHOD, "").contains("qat-text"), q.metadata().toString());

        CliRun both = main("qat", model.toString(), "--text", text.toString(), "--data", dir.toString(), "--out", dir.resolve("x.onnx").toString());
        assertEquals(1, both.rc());
        assertEquals(1, both.err().strip().lines().count(), both.err());
        CliRun noTok = main("qat", model.toString(), "--text", text.toString(), "--out", dir.resolve("y.onnx").toString());
        assertEquals(1, noTok.rc());
        assertTrue(noTok.err().contains("tokenizer"), noTok.err());
        assertFalse(Files.exists(dir.resolve("y.onnx")));
    }
}
