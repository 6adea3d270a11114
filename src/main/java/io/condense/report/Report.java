package io.condense.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.condense.ir.Graph;
import io.condense.onnx.ModelFiles;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import io.condense.recipe.Candidate;
import io.condense.recipe.Recipe;
import io.condense.recipe.Stages;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The report of a compression run: {@code report.json} (every candidate, the Pareto fronts, per-layer sensitivity,
 * precision and sparsity, before/after) and a self-contained {@code report.html} with the same content and the plots
 * embedded as PNG ({@link HtmlReport}).
 */
public final class Report {
    static final ObjectMapper JSON = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT);

    final Recipe recipe;
    final String data;
    final Path inputModel, outputModel;
    final Graph inputGraph, outputGraph;
    final String metric;
    final double floor;
    final Candidate input, output;
    final List<Candidate> candidates;
    final boolean budgetExhausted;
    final List<String> notes;
    final Map<String, Object> facts;
    final double seconds;
    final List<LayerTable.Layer> layersBefore, layersAfter;

    public Report(Recipe recipe, String data, Path inputModel, Graph inputGraph, Path outputModel, Graph outputGraph, String metric, double floor,
                  Candidate input, Candidate output, List<Candidate> candidates, boolean budgetExhausted, List<String> notes,
                  Map<String, Object> facts, double seconds) {
        this.recipe = recipe;
        this.data = data;
        this.inputModel = inputModel;
        this.inputGraph = inputGraph;
        this.outputModel = outputModel;
        this.outputGraph = outputGraph;
        this.metric = metric;
        this.floor = floor;
        this.input = input;
        this.output = output;
        this.candidates = List.copyOf(candidates);
        this.budgetExhausted = budgetExhausted;
        this.notes = List.copyOf(notes);
        this.facts = Map.copyOf(facts);
        this.seconds = seconds;
        this.layersBefore = LayerTable.of(inputGraph);
        this.layersAfter = outputGraph == null ? List.of() : LayerTable.of(outputGraph);
    }

    /** Reads a report.json back (for tools and tests). */
    public static com.fasterxml.jackson.databind.JsonNode read(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new io.condense.ir.ModelException("cannot read report " + file + ": " + e.getMessage());
        }
    }

    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("condense_version", Provenance.version());
        o.put("recipe", recipe.name());
        o.put("recipe_text", recipe.source());
        o.put("data", data);
        o.put("input_model", inputModel.toString());
        o.put("input_sha256", Provenance.sha256(inputModel));
        o.put("output_model", outputModel == null ? null : outputModel.toString());
        o.put("metric", metric);
        o.put("floor", floor);
        o.put("budget_seconds", recipe.search().budgetSeconds());
        o.put("budget_exhausted", budgetExhausted);
        o.put("seconds", seconds);
        o.put("load_average", java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        o.set("before", side(input, layersBefore));
        o.set("after", side(output, layersAfter));
        o.set("candidates", JSON.valueToTree(candidates));
        o.set("pareto_size", JSON.valueToTree(Charts.pareto(candidates, c -> c.sizeBytes())));
        o.set("pareto_latency", JSON.valueToTree(Charts.pareto(candidates, Candidate::latencyMs)));
        o.set("sensitivity", JSON.valueToTree(facts.getOrDefault("sensitivity", List.of())));
        if (facts.containsKey("benchmark")) o.set("benchmark", JSON.valueToTree(facts.get("benchmark")));
        o.set("notes", JSON.valueToTree(notes));
        o.set("not_in_this_build", JSON.valueToTree(Stages.PLANNED));
        if (outputGraph != null) o.set("provenance", Provenance.history(outputGraph));
        return o;
    }

    private static ObjectNode side(Candidate c, List<LayerTable.Layer> layers) {
        ObjectNode s = JSON.createObjectNode();
        s.put("metric", c.metric());
        s.put("size_bytes", c.sizeBytes());
        s.put("latency_ms", c.latencyMs());
        c.extraLatencyMs().forEach((k, v) -> s.put("latency_ms_" + k, v));
        ArrayNode l = s.putArray("layers");
        for (LayerTable.Layer x : layers) l.add(JSON.valueToTree(x));
        return s;
    }

    public void writeJson(Path file) {
        byte[] b;
        try {
            b = JSON.writeValueAsBytes(toJson());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        ModelFiles.writeAtomically(file, out -> out.write(b));
    }

    public void writeHtml(Path file, String title) {
        String html = HtmlReport.render(this, title);
        byte[] b = html.getBytes(StandardCharsets.UTF_8);
        ModelFiles.writeAtomically(file, out -> out.write(b));
    }

    /** Human-readable size: "26.1 KB", "22.4 MB". */
    public static String bytes(long n) {
        if (n < 1024) return n + " B";
        if (n < 1024 * 1024) return String.format(Locale.ROOT, "%.1f KB", n / 1024.0);
        return String.format(Locale.ROOT, "%.1f MB", n / (1024.0 * 1024));
    }

    /** Loads a model for the report when only the path is known. */
    static Graph load(Path p) { return OnnxImporter.load(p); }

    static List<String> lines(List<String> l) { return new ArrayList<>(l); }
}
