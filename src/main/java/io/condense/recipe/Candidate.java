package io.condense.recipe;

import java.util.Map;

/**
 * One evaluated model of a search: the input model, or a stage's candidate setting.
 *
 * @param stage      stage index in the recipe (-1 for the input model)
 * @param stageName  the stage's name ("input" for the input model)
 * @param label      the candidate's settings in a few words
 * @param settings   the candidate's config
 * @param metric     the task metric (NaN when not evaluated)
 * @param sizeBytes  serialized ONNX size
 * @param latencyMs  median latency on the CPU backend (NaN when not timed)
 * @param valid      whether it meets the accuracy floor
 * @param chosen     whether the stage kept it
 * @param seconds    how long building it took
 */
public record Candidate(int stage, String stageName, String label, Object settings, double metric, long sizeBytes, double latencyMs,
                        boolean valid, boolean chosen, double seconds, Map<String, Double> extraLatencyMs) {
    public Candidate {
        extraLatencyMs = extraLatencyMs == null ? Map.of() : Map.copyOf(extraLatencyMs);
    }

    public Candidate withChosen(boolean c) {
        return new Candidate(stage, stageName, label, settings, metric, sizeBytes, latencyMs, valid, c, seconds, extraLatencyMs);
    }
}
