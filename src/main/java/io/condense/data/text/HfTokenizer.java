package io.condense.data.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.condense.ir.ModelException;
import io.condense.onnx.ModelFiles;
import io.condense.onnx.ModelSource;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} (any model the file names: WordPiece, BPE, Unigram, WordLevel, with its
 * normalizer, pre-tokenizer and post-processor template) run by the Rust {@code tokenizers} library through DJL's
 * binding {@code ai.djl.huggingface:tokenizers}. Its native library is inside that jar and is extracted to DJL's cache
 * folder on first use; nothing is downloaded. Only files are read: never a hub name.
 */
public final class HfTokenizer implements Tokenizer {
    /** Maximum length when neither the caller nor the file's truncation gives one (BERT's position table). */
    public static final int DEFAULT_MAX_LENGTH = 512;

    static {
        // never download: the CPU library inside the jar is the one to use (DJL would otherwise fetch a CUDA flavour
        // of the library on a machine with a GPU); the user may still override both
        if (System.getProperty("ai.djl.offline") == null) System.setProperty("ai.djl.offline", "true");
        if (System.getProperty("RUST_FLAVOR") == null && System.getenv("RUST_FLAVOR") == null) System.setProperty("RUST_FLAVOR", "cpu");
    }

    private final HuggingFaceTokenizer tok;
    private final int maxLength;
    private final long padId;
    private final String description;

    private HfTokenizer(HuggingFaceTokenizer tok, int maxLength, long padId, String description) {
        this.tok = tok;
        this.maxLength = maxLength;
        this.padId = padId;
        this.description = description;
    }

    /** Reads {@code file}; {@code maxLength <= 0} takes the file's truncation length (else {@value #DEFAULT_MAX_LENGTH}). */
    public static HfTokenizer load(Path file, int maxLength) {
        return fromJson(ModelFiles.readAll(file, "tokenizer file"), file.toString(), maxLength);
    }

    /**
     * The tokenizer that comes with a model file: a {@code *tokenizer*.json} entry of its jar, or a tokenizer.json
     * beside the .onnx ({@link ModelSource#findTokenizer}); the first of {@code models} that has one is used.
     *
     * @throws ModelException when none of them has a tokenizer
     */
    public static HfTokenizer forModel(List<Path> models, int maxLength) {
        for (Path m : models) {
            ModelSource.TokenizerFile t = ModelSource.findTokenizer(m);
            if (t != null) return fromJson(t.json(), t.origin(), maxLength);
        }
        throw new ModelException("no tokenizer found with " + models.get(0) + " (no *tokenizer*.json in a jar, no tokenizer.json beside "
                + "the .onnx); give a tokenizer.json explicitly (--tokenizer FILE)");
    }

    /** Parses tokenizer.json bytes; {@code what} names the source in error messages. */
    public static HfTokenizer fromJson(byte[] json, String what, int maxLength) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new ModelException(what + " is not a valid tokenizer.json (" + firstLine(e.getMessage()) + ")");
        }
        if (root == null || !root.isObject() || !root.path("model").isObject()) {
            throw new ModelException(what + " is not a Hugging Face tokenizer.json (no \"model\" object)");
        }
        JsonNode model = root.get("model");
        String type = model.path("type").asText("");
        if (type.isEmpty()) type = model.has("merges") ? "BPE" : model.path("vocab").isArray() ? "Unigram" : "WordPiece";
        JsonNode vocab = model.path("vocab");
        int vocabSize = vocab.size();
        int len = maxLength > 0 ? maxLength : root.path("truncation").path("max_length").asInt(DEFAULT_MAX_LENGTH);
        if (len < 2) throw new ModelException("max length must be at least 2 tokens, got " + len);
        long pad = padId(root, vocab);
        HuggingFaceTokenizer t;
        try {
            t = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), Map.of(
                    "addSpecialTokens", "true", "truncation", "true", "maxLength", Integer.toString(len),
                    "padding", "false"));
        } catch (IOException | RuntimeException e) {
            throw new ModelException("cannot load tokenizer " + what + ": " + firstLine(String.valueOf(e.getMessage())));
        } catch (LinkageError e) {
            throw new ModelException("the native tokenizers library (DJL, extracted to ~/.djl.ai or $DJL_CACHE_DIR) cannot be loaded: "
                    + firstLine(String.valueOf(e.getMessage())));
        }
        return new HfTokenizer(t, len, pad, type + ", " + vocabSize + "-token vocabulary");
    }

    private static long padId(JsonNode root, JsonNode vocab) {
        JsonNode p = root.path("padding").path("pad_id");
        if (p.isIntegralNumber()) return p.asLong();
        for (String name : List.of("[PAD]", "<pad>", "<PAD>", "<|pad|>")) {
            if (vocab.isObject() && vocab.has(name)) return vocab.get(name).asLong();
            if (vocab.isArray()) {
                for (int i = 0; i < vocab.size(); i++) if (name.equals(vocab.get(i).path(0).asText())) return i;
            }
        }
        for (JsonNode a : root.path("added_tokens")) {
            String c = a.path("content").asText("");
            if (c.equals("[PAD]") || c.equalsIgnoreCase("<pad>")) return a.path("id").asLong();
        }
        return 0;
    }

    @Override
    public Encoding encode(String text) {
        ai.djl.huggingface.tokenizers.Encoding e = tok.encode(text);
        return new Encoding(e.getIds(), e.getAttentionMask(), e.getTypeIds());
    }

    @Override
    public List<Encoding> encode(List<String> texts) {
        if (texts.isEmpty()) return List.of();
        return Arrays.stream(tok.batchEncode(texts)).map(e -> new Encoding(e.getIds(), e.getAttentionMask(), e.getTypeIds())).toList();
    }

    @Override
    public List<String> tokens(String text) { return List.of(tok.encode(text).getTokens()); }

    @Override
    public int maxLength() { return maxLength; }

    @Override
    public long padId() { return padId; }

    @Override
    public String description() { return description; }

    @Override
    public void close() { tok.close(); }

    private static String firstLine(String s) {
        if (s == null) return "";
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }
}
