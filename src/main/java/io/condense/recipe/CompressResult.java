package io.condense.recipe;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What a compression run produced.
 *
 * @param model           the compressed model (the best valid one found), or null when no stage produced a valid model
 * @param reportJson      report.json
 * @param reportHtml      report.html, or null when the recipe has no report stage
 * @param metricName      "accuracy", "fidelity", ...
 * @param floor           the accuracy floor the candidates had to meet
 * @param input           the input model's measurements
 * @param output          the output model's measurements (equal to {@code input} when nothing valid was found)
 * @param candidates      every evaluated candidate, in order (the input model first)
 * @param budgetExhausted whether the time budget stopped the search
 * @param notes           what the run could not do and why (stages skipped, warnings)
 * @param facts           stage facts for the report (sensitivity, benchmark, ...)
 */
public record CompressResult(Path model, Path reportJson, Path reportHtml, String metricName, double floor, Candidate input, Candidate output,
                             List<Candidate> candidates, boolean budgetExhausted, List<String> notes, Map<String, Object> facts) {
    /** Input size / output size. */
    public double compressionRatio() { return (double) input.sizeBytes() / Math.max(1, output.sizeBytes()); }
}
