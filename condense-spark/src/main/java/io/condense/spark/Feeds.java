package io.condense.spark;

import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.quant.CalibrationData;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Builds a batch's graph feeds from its samples on an executor, exactly as the single-process data sources do for
 * the same samples ({@link CalibrationData#fromArray} for images/tensors, {@link TextData#batches} for text).
 */
@FunctionalInterface
public interface Feeds<S> extends Serializable {
    /** The feeds of one batch; null when the batch cannot be fed (a short last batch for a fixed batch dimension). */
    Map<String, Tensor> feeds(Graph g, List<S> batch);

    /** Single-input models, one float[] per sample (reshaped to the input as {@link CalibrationData#fromArray} does). */
    static Feeds<float[]> arrays() {
        return (g, batch) -> {
            ValueInfo in = CalibrationData.singleInput(g);
            int fixed = CalibrationData.batchSize(in, -1);
            if (fixed > 0 && batch.size() != fixed) return null;
            int ss = batch.get(0).length;
            float[] x = new float[batch.size() * ss];
            for (int i = 0; i < batch.size(); i++) {
                if (batch.get(i).length != ss) throw new io.condense.ir.ModelException("samples differ in size: " + ss + " vs " + batch.get(i).length);
                System.arraycopy(batch.get(i), 0, x, i * ss, ss);
            }
            return CalibrationData.fromArray(in, x, batch.size(), ss, batch.size(), 0).iterator().next();
        };
    }

    /** Text models: sentences tokenized per batch with a broadcast tokenizer.json (padded per batch, as {@link TextData#batches}). */
    static Feeds<String> text(TextTokenizer tok) {
        return (g, batch) -> tok.batch(g, batch).feeds(g.inputs());
    }

    /** A tokenizer.json broadcast once and loaded once per executor JVM. */
    final class TextTokenizer implements Serializable {
        private static final long serialVersionUID = 1L;
        private static final ConcurrentHashMap<String, HfTokenizer> LOADED = new ConcurrentHashMap<>();
        private final Broadcast<byte[]> json;
        private final String key;
        private final int maxLength;

        public TextTokenizer(JavaSparkContext sc, byte[] json, int maxLength) {
            this.json = sc.broadcast(json);
            this.key = SparkModel.sha256(json) + "/" + maxLength;
            this.maxLength = maxLength;
        }

        public HfTokenizer get() { return LOADED.computeIfAbsent(key, k -> HfTokenizer.fromJson(json.value(), "tokenizer.json", maxLength)); }

        /** One batch of these sentences for {@code g}. */
        public TextBatch batch(Graph g, List<String> sentences) {
            List<TextBatch> b = TextData.batches(g, get(), sentences, sentences.size());
            if (b.size() != 1) throw new IllegalStateException("expected one text batch, got " + b.size());
            return b.get(0);
        }
    }
}
