package io.condense.recipe;

import io.condense.data.Dataset;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;

import java.util.List;
import java.util.Map;

/**
 * The data a compression run works with: calibration feeds, the held-out metric, a feed to time, and (for the
 * training stages) labelled training data. {@link ImageData} reads MNIST-format IDX folders.
 */
public interface TaskData {
    /** One line for logs and the report. */
    String describe();

    /** Calibration feeds for {@code g} (at most {@code maxBatches} batches of {@code batchSize}; 0 = all). */
    List<Map<String, Tensor>> calibration(Graph g, int batchSize, int maxBatches);

    /** The metric, computed on held-out data; {@code reference} is the input model (for fidelity metrics). */
    Metric metric(Graph reference, int batchSize, int samples);

    /** One feed to time the model with. */
    Map<String, Tensor> benchmarkFeed(Graph g);

    /** Labelled training data, or null when this data has none (then training stages are rejected). */
    default Dataset trainSet() { return null; }

    /**
     * Tokenized training/calibration sentences for {@code g} (never the held-out ones the metric scores), at most
     * {@code maxBatches} batches of {@code batchSize} (0 = all), or null when this data is not text.
     */
    default List<io.condense.data.text.TextBatch> textBatches(Graph g, int batchSize, int maxBatches) { return null; }

    /** Labelled held-out data for training stages' epoch metrics, or null. */
    default Dataset testSet() { return null; }

    /** The preprocessing applied (pixel scale, normalization, tokenizer, max length), stored in every output model. */
    io.condense.data.Preprocessing preprocessing();

    /**
     * Checks that {@code g} suits this data (e.g. its recorded preprocessing matches, its pixel range is right);
     * throws {@link io.condense.ir.ModelException} with the fix when not, returns warnings otherwise.
     */
    default List<String> check(Graph g) { return List.of(); }
}
