package io.condense.recipe;

import java.util.List;

/**
 * A validated compression recipe: an ordered list of stages, the search settings and a seed.
 *
 * @param name   a label for reports ("int8", or the file name)
 * @param seed   seed for every random choice of the stages
 * @param search accuracy floor, time budget and candidate order
 * @param data   how much data calibration and evaluation read
 * @param stages the stages in order (each config a record of its stage, see {@link Stages})
 * @param source the recipe text as written (kept in provenance and the report)
 */
public record Recipe(String name, long seed, Search search, DataSettings data, List<StageSpec> stages, String source) {
    public Recipe {
        name = name == null || name.isBlank() ? "recipe" : name;
        search = search == null ? Search.defaults() : search;
        data = data == null ? DataSettings.defaults() : data;
        stages = List.copyOf(stages);
        source = source == null ? "" : source;
    }

    /** One stage of a recipe: its registered name, its config record and the line it was written on (0 if built in code). */
    public record StageSpec(String type, Object config, int line) {
        public StageSpec {
            if (type == null || config == null) throw new IllegalArgumentException("stage type and config are required");
        }
    }

    /**
     * Accuracy-aware search settings. The floor is {@code floor} when given, else the input model's metric times
     * {@code 1 - maxRelativeDrop}.
     *
     * @param floor           absolute metric floor (e.g. 0.98 accuracy), or null
     * @param maxRelativeDrop largest relative drop from the input model (0.01 = 1%); used when {@code floor} is null
     * @param budgetSeconds   wall-clock budget of the whole run (0 = none); the best valid model so far is kept when it runs out
     * @param exhaustive      false (default): a stage stops at its first candidate that meets the floor (candidates
     *                        are ordered most compressed first); true: every candidate is evaluated
     * @param latencyRepeats  timed runs per candidate for its latency (median; 0 = do not time)
     */
    public record Search(Double floor, double maxRelativeDrop, double budgetSeconds, boolean exhaustive, int latencyRepeats) {
        public Search {
            if (floor != null && !Double.isFinite(floor)) throw new IllegalArgumentException("floor must be a number");
            if (!(maxRelativeDrop >= 0 && maxRelativeDrop < 1)) throw new IllegalArgumentException("max_relative_drop must be in [0, 1), got " + maxRelativeDrop);
            if (budgetSeconds < 0) throw new IllegalArgumentException("budget_seconds must be >= 0, got " + budgetSeconds);
            if (latencyRepeats < 0) throw new IllegalArgumentException("latency_repeats must be >= 0, got " + latencyRepeats);
        }

        public static Search defaults() { return new Search(null, 0.01, 0, false, 5); }

        /** The floor for an input model whose metric is {@code base}. */
        public double floorFor(double base) { return floor != null ? floor : base * (1 - maxRelativeDrop); }

        public Search withBudgetSeconds(double s) { return new Search(floor, maxRelativeDrop, s, exhaustive, latencyRepeats); }

        public Search withFloor(Double f) { return new Search(f, maxRelativeDrop, budgetSeconds, exhaustive, latencyRepeats); }

        public Search withExhaustive(boolean e) { return new Search(floor, maxRelativeDrop, budgetSeconds, e, latencyRepeats); }
    }

    /**
     * @param calibrationBatches batches calibration reads (0 = all)
     * @param batchSize          calibration/evaluation batch size (a model with a fixed batch dimension uses its own)
     * @param evalSamples        held-out samples the metric is computed on (0 = all)
     */
    public record DataSettings(int calibrationBatches, int batchSize, int evalSamples) {
        public DataSettings {
            if (calibrationBatches < 0) throw new IllegalArgumentException("calibration_batches must be >= 0, got " + calibrationBatches);
            if (batchSize < 1) throw new IllegalArgumentException("batch_size must be >= 1, got " + batchSize);
            if (evalSamples < 0) throw new IllegalArgumentException("eval_samples must be >= 0, got " + evalSamples);
        }

        public static DataSettings defaults() { return new DataSettings(16, 32, 1000); }
    }

    public Recipe withSearch(Search s) { return new Recipe(name, seed, s, data, stages, source); }

    public Recipe withData(DataSettings d) { return new Recipe(name, seed, search, d, stages, source); }
}
