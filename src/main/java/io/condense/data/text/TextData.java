package io.condense.data.text;

import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.ModelFiles;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Sentences (one per line) to batches of model feeds. Typical use, with calibration and evaluation sentences
 * disjoint:
 * <pre>{@code
 * List<String> all = TextData.readLines(file);
 * List<String> calib = TextData.select(all, 0, 256);     // the first 256
 * List<String> eval = TextData.select(all, 256, 500);    // the next 500
 * try (Tokenizer tok = HfTokenizer.load(tokenizerJson, 128)) {
 *     List<TextBatch> batches = TextData.batches(graph, tok, calib, 32);
 *     List<Map<String, Tensor>> feeds = TextData.feeds(graph, batches);
 * }
 * }</pre>
 */
public final class TextData {
    /** The sentences that ship with condense (see README.md beside it). */
    public static final String BUILTIN_RESOURCE = "/io/condense/data/text/calibration.txt";

    private TextData() {}

    /** The non-blank lines of a UTF-8 text file, stripped of surrounding white space (a BOM is dropped). */
    public static List<String> readLines(Path file) {
        byte[] b = ModelFiles.readAll(file, "text file");
        List<String> l = lines(new String(b, StandardCharsets.UTF_8));
        if (l.isEmpty()) throw new ModelException("text file " + file + " holds no sentences (only blank lines)");
        return l;
    }

    /** The non-blank lines of {@code text}, stripped. */
    public static List<String> lines(String text) {
        if (text.startsWith("\uFEFF")) text = text.substring(1);
        List<String> out = new ArrayList<>();
        for (String s : text.split("\\R")) {
            String t = s.strip();
            if (!t.isEmpty()) out.add(t);
        }
        return out;
    }

    /** About 200 varied English sentences written for condense (origin: README.md beside the resource). */
    public static List<String> builtinCalibrationText() {
        try (InputStream in = TextData.class.getResourceAsStream(BUILTIN_RESOURCE)) {
            if (in == null) throw new ModelException("built-in calibration text " + BUILTIN_RESOURCE + " missing from the build");
            return lines(new String(in.readAllBytes(), StandardCharsets.UTF_8)).stream().filter(s -> !s.startsWith("#")).toList();
        } catch (IOException e) {
            throw new ModelException("cannot read " + BUILTIN_RESOURCE + ": " + e.getMessage());
        }
    }

    /**
     * Sentences {@code offset .. offset + samples - 1} ({@code samples <= 0}: all from {@code offset}); fewer when the
     * list ends first. An offset at or beyond the end is an error.
     */
    public static List<String> select(List<String> sentences, int offset, int samples) {
        if (offset < 0) throw new ModelException("offset must be >= 0, got " + offset);
        if (offset >= sentences.size()) {
            throw new ModelException("offset " + offset + " is beyond the " + sentences.size() + " sentences of the text");
        }
        int end = samples <= 0 ? sentences.size() : (int) Math.min(sentences.size(), (long) offset + samples);
        return List.copyOf(sentences.subList(offset, end));
    }

    /**
     * Tokenizes {@code sentences} in batches of {@code batchSize}, each padded to its longest sentence (with the
     * tokenizer's pad id, mask 0, type id 0); {@code fixedLength > 0} pads (and truncates) every batch to that length.
     */
    public static List<TextBatch> batches(Tokenizer tok, List<String> sentences, int batchSize, int fixedLength) {
        if (batchSize <= 0) throw new ModelException("batch size must be positive, got " + batchSize);
        if (sentences.isEmpty()) throw new ModelException("no sentences to tokenize");
        List<TextBatch> out = new ArrayList<>();
        for (int from = 0; from < sentences.size(); from += batchSize) {
            List<String> part = sentences.subList(from, Math.min(sentences.size(), from + batchSize));
            out.add(pad(tok.encode(part), List.copyOf(part), tok.padId(), fixedLength));
        }
        return out;
    }

    /**
     * Batches for {@code g}'s text inputs: a fixed batch dimension of the model overrides {@code batchSize} (and a
     * short last batch is dropped), a fixed sequence dimension pads every batch to it.
     */
    public static List<TextBatch> batches(Graph g, Tokenizer tok, List<String> sentences, int batchSize) {
        checkTextInputs(g);
        int fixedBatch = -1, fixedLen = -1;
        for (ValueInfo in : g.inputs()) {
            TensorType t = in.type();
            if (!t.hasRank()) continue;
            if (t.rank() != 2) throw new ModelException("text input '" + in.name() + "' must be [batch, sequence], model declares " + t);
            if (t.dims().get(0).isKnown()) fixedBatch = (int) t.dims().get(0).value();
            if (t.dims().get(1).isKnown()) fixedLen = (int) t.dims().get(1).value();
        }
        if (fixedLen > 0 && fixedLen < 2) throw new ModelException("model's fixed sequence length " + fixedLen + " is too short");
        if (fixedLen > 0 && tok.maxLength() > fixedLen) {
            throw new ModelException("the model's fixed sequence length " + fixedLen + " is shorter than the tokenizer's max length "
                    + tok.maxLength() + " (load the tokenizer with max length " + fixedLen + ")");
        }
        int bs = fixedBatch > 0 ? fixedBatch : batchSize;
        List<String> use = sentences;
        if (fixedBatch > 0) {
            int n = sentences.size() / fixedBatch * fixedBatch;
            if (n == 0) throw new ModelException(sentences.size() + " sentences are fewer than the model's fixed batch of " + fixedBatch);
            use = sentences.subList(0, n);
        }
        return batches(tok, use, bs, fixedLen);
    }

    /** The sequence length the model's text inputs fix ([batch, N]), or 0 when it is symbolic. */
    public static int fixedSequenceLength(Graph g) {
        for (ValueInfo in : g.inputs()) {
            TensorType t = in.type();
            if (t.hasRank() && t.rank() == 2 && t.dims().get(1).isKnown()) return (int) t.dims().get(1).value();
        }
        return 0;
    }

    /** Each batch as feeds keyed by {@code g}'s input names (only the inputs the model has, in its dtypes). */
    public static List<Map<String, Tensor>> feeds(Graph g, List<TextBatch> batches) {
        checkTextInputs(g);
        List<Map<String, Tensor>> out = new ArrayList<>(batches.size());
        for (TextBatch b : batches) out.add(b.feeds(g.inputs()));
        return out;
    }

    /** Shorthand: {@code feeds(g, batches(g, tok, sentences, batchSize))}. */
    public static List<Map<String, Tensor>> feeds(Graph g, Tokenizer tok, List<String> sentences, int batchSize) {
        return feeds(g, batches(g, tok, sentences, batchSize));
    }

    /** Throws unless every input of {@code g} is a text input (ids, mask, type ids) and the ids are among them. */
    public static void checkTextInputs(Graph g) {
        if (g.inputs().isEmpty()) throw new ModelException("the model has no inputs");
        boolean ids = false;
        for (ValueInfo in : g.inputs()) ids |= TextBatch.role(in) == TextBatch.Role.INPUT_IDS;
        if (!ids) throw new ModelException("the model has no input_ids input; its inputs are "
                + g.inputs().stream().map(ValueInfo::name).toList());
    }

    static TextBatch pad(List<Tokenizer.Encoding> enc, List<String> sentences, long padId, int fixedLength) {
        int len = fixedLength;
        if (len <= 0) for (Tokenizer.Encoding e : enc) len = Math.max(len, e.length());
        int n = enc.size();
        long[][] ids = new long[n][len], mask = new long[n][len], types = new long[n][len];
        for (int i = 0; i < n; i++) {
            Tokenizer.Encoding e = enc.get(i);
            int m = Math.min(len, e.length());
            Arrays.fill(ids[i], padId);
            System.arraycopy(e.ids(), 0, ids[i], 0, m);
            System.arraycopy(e.attentionMask(), 0, mask[i], 0, m);
            System.arraycopy(e.typeIds(), 0, types[i], 0, m);
        }
        return new TextBatch(sentences, ids, mask, types);
    }
}
