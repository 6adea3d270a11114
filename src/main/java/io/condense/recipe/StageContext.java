package io.condense.recipe;

import io.condense.ir.Graph;
import io.condense.ir.Tensor;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** What a stage sees while it runs: data, metric, seed, output folder, log, a per-stage cache and the report's facts. */
public final class StageContext {
    private final TaskData data;
    private final Recipe recipe;
    private final Metric metric;
    private final Path outDir;
    private final PrintStream log;
    private final Map<String, Object> cache = new HashMap<>();
    private final Map<String, Object> facts = new LinkedHashMap<>();
    private List<Map<String, Tensor>> calibration;
    private final long deadlineNanos;
    private final Graph inputModel;

    StageContext(TaskData data, Recipe recipe, Metric metric, Path outDir, PrintStream log, long deadlineNanos, Graph inputModel) {
        this.inputModel = inputModel;
        this.data = data;
        this.recipe = recipe;
        this.metric = metric;
        this.outDir = outDir;
        this.log = log;
        this.deadlineNanos = deadlineNanos;
    }

    public TaskData data() { return data; }

    public Recipe recipe() { return recipe; }

    /** The model the recipe started from (before any stage): the default teacher of the distill stage. */
    public Graph inputModel() { return inputModel; }

    public Metric metric() { return metric; }

    public long seed() { return recipe.seed(); }

    public Path outDir() { return outDir; }

    public PrintStream log() { return log; }

    /** Whether the time budget is spent. */
    public boolean overBudget() { return deadlineNanos != Long.MAX_VALUE && System.nanoTime() > deadlineNanos; }

    /** Calibration feeds of the recipe's size for {@code g}'s input (read once per run). */
    public List<Map<String, Tensor>> calibration(Graph g) {
        if (calibration == null) calibration = data.calibration(g, recipe.data().batchSize(), recipe.data().calibrationBatches());
        return calibration;
    }

    /** A value computed once per stage run (calibration statistics, sensitivity). */
    @SuppressWarnings("unchecked")
    public <T> T cached(String key, Supplier<T> compute) {
        Object v = cache.get(key);
        if (v == null) {
            v = compute.get();
            cache.put(key, v);
        }
        return (T) v;
    }

    void clearCache() { cache.clear(); }

    /** Facts for the report (e.g. "sensitivity" -> per-layer drops); the last value per key wins. */
    public void fact(String key, Object value) { facts.put(key, value); }

    public Map<String, Object> facts() { return facts; }
}
