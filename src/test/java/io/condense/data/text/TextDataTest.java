package io.condense.data.text;

import io.condense.TestData;
import io.condense.data.TensorBatches;
import io.condense.io.Npy;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.TensorCodec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tokenizers (DJL's Hugging Face binding) against published ids, text selection, batching and tensor folders. */
class TextDataTest {
    private static byte[] miniLmJson;
    private static HfTokenizer bert;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = TextDataTest.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            org.junit.jupiter.api.Assumptions.assumeTrue(in != null, "MiniLM jar not on the test class path: skipping");
            miniLmJson = in.readAllBytes();
        }
        bert = HfTokenizer.fromJson(miniLmJson, "MiniLM tokenizer", 0);
    }

    @AfterAll
    static void close() {
        if (bert != null) bert.close();
    }

    @Test
    void bertUncasedIds() {
        // bert-base-uncased: [CLS]=101, [SEP]=102, "hello"=7592, "world"=2088 (Hugging Face tokenizer outputs)
        Tokenizer.Encoding e = bert.encode("hello world");
        assertArrayEquals(new long[] {101, 7592, 2088, 102}, e.ids());
        assertArrayEquals(new long[] {1, 1, 1, 1}, e.attentionMask());
        assertArrayEquals(new long[] {0, 0, 0, 0}, e.typeIds());
        assertArrayEquals(new long[] {101, 7592, 1010, 2088, 999, 102}, bert.encode("Hello, world!").ids());
        assertEquals(0, bert.padId());
        assertEquals(128, bert.maxLength(), "the file's truncation length");
        assertEquals(128, bert.encode("word ".repeat(300)).length());
        assertTrue(bert.description().startsWith("WordPiece, 30522-token"), bert.description());
        try (HfTokenizer short16 = HfTokenizer.fromJson(miniLmJson, "x", 16)) {
            long[] ids = short16.encode("word ".repeat(300)).ids();
            assertEquals(16, ids.length);
            assertEquals(101, ids[0]);
            assertEquals(102, ids[15], "truncation keeps [SEP]");
        }
    }

    @Test
    void bpeAndUnigramFromTheirFiles() {
        String bpe = """
                {"version":"1.0","truncation":null,"padding":null,"added_tokens":[],"normalizer":null,
                 "pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,
                 "model":{"type":"BPE","dropout":null,"unk_token":"<unk>","continuing_subword_prefix":null,
                  "end_of_word_suffix":null,"fuse_unk":false,"byte_fallback":false,
                  "vocab":{"<unk>":0,"<pad>":1,"l":2,"o":3,"w":4,"e":5,"r":6,"lo":7,"low":8,"er":9},
                  "merges":["l o","lo w","e r"]}}""";
        try (HfTokenizer t = HfTokenizer.fromJson(bpe.getBytes(StandardCharsets.UTF_8), "bpe", 0)) {
            // merges in rank order: l o -> lo, lo w -> low, e r -> er
            assertArrayEquals(new long[] {8, 9, 8}, t.encode("lower low").ids());
            assertEquals(List.of("low", "er", "low"), t.tokens("lower low"));
            assertEquals(1, t.padId(), "<pad> from the vocabulary");
            assertEquals(HfTokenizer.DEFAULT_MAX_LENGTH, t.maxLength());
            assertTrue(t.description().startsWith("BPE, 10-token"), t.description());
        }
        String unigram = """
                {"version":"1.0","truncation":null,"padding":null,"added_tokens":[],"normalizer":null,
                 "pre_tokenizer":{"type":"Metaspace","replacement":"\\u2581","prepend_scheme":"always","split":true},
                 "post_processor":null,"decoder":null,
                 "model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0.0],["\\u2581hello",-1.0],["\\u2581world",-1.5],
                  ["\\u2581",-3.0],["\\u2581he",-2.0],["llo",-2.0],["h",-4.0],["e",-4.0],["l",-4.0],["o",-4.0],["w",-4.0],
                  ["r",-4.0],["d",-4.0]]}}""";
        try (HfTokenizer t = HfTokenizer.fromJson(unigram.getBytes(StandardCharsets.UTF_8), "unigram", 0)) {
            // Viterbi: "\u2581hello" (-1) beats "\u2581he" + "llo" (-4)
            assertArrayEquals(new long[] {1, 2}, t.encode("hello world").ids());
            assertTrue(t.description().startsWith("Unigram, 13-token"), t.description());
        }
        ModelException bad = assertThrows(ModelException.class, () -> HfTokenizer.fromJson("{\"a\":1}".getBytes(StandardCharsets.UTF_8), "f.json", 0));
        assertTrue(bad.getMessage().contains("f.json is not a Hugging Face tokenizer.json"), bad.getMessage());
        bad = assertThrows(ModelException.class, () -> HfTokenizer.fromJson("{".getBytes(StandardCharsets.UTF_8), "g.json", 0));
        assertTrue(bad.getMessage().startsWith("g.json is not a valid tokenizer.json"), bad.getMessage());
    }

    @Test
    void linesSelectionAndBuiltinText(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("t.txt");
        Files.writeString(f, "\uFEFFfirst one\n\n   \r\nsecond\r\n  third  \n");
        assertEquals(List.of("first one", "second", "third"), TextData.readLines(f));
        List<String> all = List.of("a", "b", "c", "d", "e");
        assertEquals(List.of("a", "b"), TextData.select(all, 0, 2));
        assertEquals(List.of("c", "d", "e"), TextData.select(all, 2, 10));
        assertEquals(List.of("d", "e"), TextData.select(all, 3, 0));
        assertThrows(ModelException.class, () -> TextData.select(all, 5, 1));
        Files.writeString(tmp.resolve("blank.txt"), "\n \n");
        assertThrows(ModelException.class, () -> TextData.readLines(tmp.resolve("blank.txt")));

        List<String> builtin = TextData.builtinCalibrationText();
        assertEquals(200, builtin.size());
        assertEquals(200, new HashSet<>(builtin).size(), "no duplicates");
        for (String s : builtin) assertTrue(bert.encode(s).length() <= 40 && bert.encode(s).length() >= 6, s);
    }

    @Test
    void batchesPadPerBatchAndFeedTheModelsInputs() {
        List<String> s = List.of("hello world", "a much longer sentence than the first one", "short", "hi");
        List<TextBatch> b = TextData.batches(bert, s, 2, 0);
        assertEquals(2, b.size());
        int long1 = bert.encode(s.get(1)).length();
        assertEquals(long1, b.get(0).length(), "padded to the longest of its batch");
        assertEquals(3, b.get(1).length(), "the second batch: [CLS] short [SEP] and [CLS] hi [SEP]");
        assertArrayEquals(new long[] {101, 7592, 2088, 102, 0, 0, 0, 0, 0, 0, 0}, java.util.Arrays.copyOf(b.get(0).ids()[0], 11));
        assertEquals(4, b.get(0).tokens(0));
        assertEquals(0, b.get(0).mask()[0][4]);

        // a model taking int32 ids and mask only, no token types
        List<ValueInfo> ins = List.of(new ValueInfo("input_ids", TensorType.of(DType.INT32, new long[] {-1, -1})),
                new ValueInfo("attention_mask", TensorType.of(DType.INT32, new long[] {-1, -1})));
        Map<String, Tensor> f = b.get(1).feeds(ins);
        assertEquals(List.of("input_ids", "attention_mask"), List.copyOf(f.keySet()));
        assertEquals(DType.INT32, f.get("input_ids").dtype());
        assertArrayEquals(new long[] {2, 3}, f.get("input_ids").shape());
        assertEquals(101, f.get("input_ids").getLong(0));
        Map<String, Tensor> withPos = b.get(1).feeds(List.of(new ValueInfo("input_ids", TensorType.of(DType.INT64, -1, -1)),
                new ValueInfo("position_ids", TensorType.of(DType.INT64, -1, -1))));
        assertArrayEquals(new long[] {0, 1, 2, 0, 1, 2}, withPos.get("position_ids").toLongArray());
        assertThrows(ModelException.class, () -> b.get(0).feeds(List.of(new ValueInfo("pixels", TensorType.of(DType.FLOAT32, new long[] {1, 3})))));
    }

    @Test
    void tinyBertBatchesAndTensorFolders(@TempDir Path tmp) {
        Graph g = OnnxImporter.load(TestData.require("onnx/models/tinybert/tinybert.onnx"));
        List<TextBatch> b = TextData.batches(g, bert, TextData.builtinCalibrationText().subList(0, 10), 4);
        List<Map<String, Tensor>> feeds = TextData.feeds(g, b);
        assertEquals(g.inputs().size(), feeds.get(0).size());
        for (ValueInfo in : g.inputs()) assertTrue(feeds.get(0).containsKey(in.name()), in.name());

        // the same batches written as a folder per batch, one .npy / .pb per input, read back
        for (int i = 0; i < feeds.size(); i++) {
            Path d = tmp.resolve(String.format("batch%02d", i));
            int k = 0;
            for (Map.Entry<String, Tensor> e : feeds.get(i).entrySet()) {
                if (k++ % 2 == 0) Npy.write(e.getValue(), d.resolve(e.getKey() + ".npy"));
                else TensorCodec.writePb(e.getValue(), e.getKey(), d.resolve(e.getKey() + ".pb"));
            }
        }
        assertTrue(TensorBatches.isBatchFolder(tmp));
        List<Map<String, Tensor>> back = TensorBatches.read(g, tmp, 0);
        assertEquals(feeds.size(), back.size());
        for (int i = 0; i < feeds.size(); i++) {
            for (String n : feeds.get(i).keySet()) {
                assertArrayEquals(feeds.get(i).get(n).shape(), back.get(i).get(n).shape());
                assertArrayEquals(feeds.get(i).get(n).toLongArray(), back.get(i).get(n).toLongArray());
            }
        }
        assertEquals(2, TensorBatches.read(g, tmp, 2).size());
        ModelException e = assertThrows(ModelException.class, () -> TensorBatches.read(OnnxImporter.load(
                TestData.require("onnx/node/test_relu/model.onnx")), tmp, 0));
        assertTrue(e.getMessage().contains("matches no model input"), e.getMessage());
    }

    @Test
    void fixedShapeModelsAndNonTextInputs() {
        Graph g = Graph.builder().name("fixed").addInput(new ValueInfo("input_ids", TensorType.of(DType.INT64, 2, 16)))
                .addOutput(new ValueInfo("y", TensorType.of(DType.INT64, 2, 16)))
                .addNode(new io.condense.ir.Node("id", "Identity", "", List.of("input_ids"), List.of("y"), Map.of())).opset("", 17).build();
        assertEquals(16, TextData.fixedSequenceLength(g));
        try (HfTokenizer t16 = HfTokenizer.fromJson(miniLmJson, "x", 16)) {
            List<TextBatch> b = TextData.batches(g, t16, List.of("a", "b", "c", "d", "e"), 32);
            assertEquals(2, b.size(), "the model's batch of 2 wins; the fifth sentence is dropped");
            assertEquals(16, b.get(1).length(), "padded to the fixed length");
            assertEquals(List.of("c", "d"), b.get(1).sentences());
        }
        ModelException e = assertThrows(ModelException.class, () -> TextData.batches(g, bert, List.of("a", "b"), 2));
        assertTrue(e.getMessage().contains("fixed sequence length 16 is shorter than the tokenizer's max length 128"), e.getMessage());
        TextBatch b = TextData.batches(bert, List.of("a"), 1, 0).get(0);
        e = assertThrows(ModelException.class, () -> b.feeds(List.of(new ValueInfo("input", TensorType.of(DType.FLOAT32, 1, 3)))));
        assertTrue(e.getMessage().contains("not integer token ids"), e.getMessage());
    }
}
