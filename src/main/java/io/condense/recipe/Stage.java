package io.condense.recipe;

import io.condense.ir.Graph;

import java.util.List;

/**
 * One technique of a recipe. A stage has a record config read from the recipe (fields that list several values are
 * search dimensions), expands it into concrete candidates, and applies one candidate to a model. Stages are
 * registered by name in {@link Stages}; adding a technique is one class and one line there.
 *
 * @param <C> the stage's config record
 */
public interface Stage<C extends Record> {
    /** The name used in recipes ("quantize", "int4", ...). */
    String name();

    /** The config record the recipe's mapping is read into (snake_case keys). */
    Class<C> configType();

    /** The config of a stage written without settings ({@code - benchmark}). */
    C defaults();

    /**
     * The concrete settings to try, most compressed first (the search stops at the first that meets the floor unless
     * it is exhaustive). A config without lists yields itself.
     */
    default List<C> candidates(C config) { return List.of(config); }

    /** False for stages that only observe or write (benchmark, export, report): they are not searched. */
    default boolean transforms() { return true; }

    /**
     * Whether the candidate order is the preference order: the stage keeps its first valid candidate even in an
     * exhaustive search (pruning: sparser is better although the dense file is as large). Otherwise the smallest
     * valid candidate wins, ties by the higher metric.
     */
    default boolean orderIsPreference() { return false; }

    /** Whether this stage needs labelled training data ({@link TaskData#trainSet()}). */
    default boolean needsTrainingData() { return false; }

    /**
     * Why this stage cannot run with {@code config} on {@code data}, checked before any work starts, or null when it
     * can. Default: a stage that {@link #needsTrainingData} needs {@link TaskData#trainSet()}.
     */
    default String requirement(C config, TaskData data) {
        return needsTrainingData() && data.trainSet() == null ? "needs labelled training data (--data DIR); " + data.describe() + " has none" : null;
    }

    /**
     * A lower metric this stage's candidates need to be kept, when a later recovery stage (distill, fine-tune) is to
     * bring the model back to the recipe's floor; null (default) = the recipe's floor. A model below the recipe's
     * floor is never written as the result.
     */
    default Double stageFloor(C candidate) { return null; }

    /** The candidate's settings in a few words for logs and the report, or null for the generic "field=value" form. */
    default String label(C candidate) { return null; }

    /** The provenance method, e.g. "quantize/int8-static". */
    default String method(C candidate) { return name(); }

    /** Applies one candidate to {@code input} (a transform stage) and returns the new model. */
    Graph apply(StageContext ctx, Graph input, C candidate);
}
