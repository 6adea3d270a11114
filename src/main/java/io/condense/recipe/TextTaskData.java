package io.condense.recipe;

import io.condense.data.Preprocessing;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.data.text.Tokenizer;
import io.condense.eval.Fidelity;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;

import java.util.List;
import java.util.Map;

/**
 * Sentence data for a text encoder (e.g. MiniLM): calibration from the first sentences, the metric on the held-out
 * rest: fidelity, the mean cosine similarity of each sentence's mean-pooled embedding to the input model's
 * ({@link Fidelity}). Sentences used for calibration are never scored.
 */
public final class TextTaskData implements TaskData {
    private final List<String> sentences;
    private final Tokenizer tokenizer;
    private final String tokenizerName;
    private final int heldOut;

    /**
     * @param sentences     one per element; the last {@code heldOut} are the evaluation set, the others calibration
     * @param tokenizer     the model's tokenizer
     * @param tokenizerName how the report and the model's metadata name it
     * @param heldOut       sentences kept for the metric (at least 8, at most half)
     */
    public TextTaskData(List<String> sentences, Tokenizer tokenizer, String tokenizerName, int heldOut) {
        if (sentences.size() < 16) throw new ModelException("text data needs at least 16 sentences, got " + sentences.size());
        this.sentences = List.copyOf(sentences);
        this.tokenizer = tokenizer;
        this.tokenizerName = tokenizerName;
        this.heldOut = Math.max(8, Math.min(heldOut, sentences.size() / 2));
    }

    List<String> calibrationSentences() { return sentences.subList(0, sentences.size() - heldOut); }

    List<String> evalSentences() { return sentences.subList(sentences.size() - heldOut, sentences.size()); }

    @Override
    public String describe() {
        return sentences.size() + " sentences (" + calibrationSentences().size() + " calibration, " + heldOut + " held out), tokenizer " + tokenizerName;
    }

    @Override
    public List<Map<String, Tensor>> calibration(Graph g, int batchSize, int maxBatches) {
        List<String> s = calibrationSentences();
        if (maxBatches > 0 && s.size() > maxBatches * batchSize) s = s.subList(0, maxBatches * batchSize);
        return TextData.feeds(g, TextData.batches(g, tokenizer, s, batchSize));
    }

    @Override
    public List<TextBatch> textBatches(Graph g, int batchSize, int maxBatches) {
        List<String> s = calibrationSentences();
        if (maxBatches > 0 && s.size() > maxBatches * batchSize) s = s.subList(0, maxBatches * batchSize);
        return TextData.batches(g, tokenizer, s, batchSize);
    }

    @Override
    public Metric metric(Graph reference, int batchSize, int samples) {
        List<String> s = evalSentences();
        if (samples > 0 && s.size() > samples) s = s.subList(0, samples);
        List<TextBatch> batches = TextData.batches(reference, tokenizer, s, batchSize);
        float[][] ref = Fidelity.embeddings(reference, batches);
        return new Metric() {
            @Override public String name() { return "fidelity"; }

            @Override public double evaluate(Graph g) { return Fidelity.compareEmbeddings(Fidelity.embeddings(g, batches), ref).meanCosine(); }
        };
    }

    @Override
    public Map<String, Tensor> benchmarkFeed(Graph g) {
        return TextData.feeds(g, TextData.batches(g, tokenizer, evalSentences().subList(0, 1), 1)).get(0);
    }

    @Override
    public Preprocessing preprocessing() { return Preprocessing.text(tokenizerName, tokenizer.maxLength()); }

    @Override
    public List<String> check(Graph g) {
        TextData.checkTextInputs(g);
        return List.of();
    }
}
