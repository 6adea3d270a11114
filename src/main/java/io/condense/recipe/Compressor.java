package io.condense.recipe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.onnx.ModelFiles;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import io.condense.report.Report;
import io.condense.util.Progress;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs a {@link Recipe}: stage by stage, each transform stage's candidates most-compressed first, each candidate
 * evaluated with the task metric, timed and sized; the stage keeps its smallest candidate that meets the floor
 * (stopping at the first one unless the search is exhaustive). The best valid model so far is written to the output
 * folder as soon as it is found, so a run stopped by the time budget (or Ctrl-C) still leaves it.
 *
 * <p>Output folder: {@code model.onnx} (or the export-onnx file name), {@code report.json}, {@code report.html}
 * (with a report stage), and {@code stages/NN-name/{model.onnx,stage.json}} per transform stage. A rerun with
 * {@code resume} skips a stage whose input model hash and config are unchanged and reuses its model.
 */
public final class Compressor {
    static final ObjectMapper JSON = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private final PrintStream log;
    private boolean resume = true;

    public Compressor(PrintStream log) {
        this.log = log == null ? new PrintStream(java.io.OutputStream.nullOutputStream()) : log;
    }

    /** Whether a rerun reuses finished stages whose inputs are unchanged (default true). */
    public Compressor resume(boolean r) {
        resume = r;
        return this;
    }

    /** Checks that {@code data} can serve every stage of {@code recipe} (before any work starts). */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static void validate(Recipe recipe, TaskData data) {
        for (Recipe.StageSpec s : recipe.stages()) {
            Stage st = Stages.get(s.type());
            String why = st.requirement((Record) s.config(), data);
            if (why != null) throw new ModelException(recipe.name() + (s.line() > 0 ? " line " + s.line() : "") + ": stage " + s.type() + " " + why);
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public CompressResult run(Path modelFile, Recipe recipe, TaskData data, Path outDir) {
        validate(recipe, data);
        long start = System.nanoTime();
        long deadline = recipe.search().budgetSeconds() > 0 ? start + (long) (recipe.search().budgetSeconds() * 1e9) : Long.MAX_VALUE;
        try {
            Files.createDirectories(outDir);
        } catch (IOException e) {
            throw new ModelException("cannot create output folder " + outDir + ": " + e.getMessage());
        }
        Graph input = OnnxImporter.load(modelFile);
        String inputSha = Provenance.sha256(modelFile);
        List<String> notes = new ArrayList<>();
        for (String w : data.check(input)) {
            log.println(w);
            notes.add(w);
        }
        Metric metric = data.metric(input, recipe.data().batchSize(), recipe.data().evalSamples());
        StageContext ctx = new StageContext(data, recipe, metric, outDir, log, deadline, input);
        int repeats = recipe.search().latencyRepeats();
        Map<String, io.condense.ir.Tensor> feed = data.benchmarkFeed(input);
        double baseMetric = metric.evaluate(input);
        Candidate inCand = new Candidate(-1, "input", "input model", Map.of(), baseMetric, size(modelFile),
                Latency.medianMs(input, feed, repeats), true, true, 0, Map.of());
        double floor = recipe.search().floorFor(baseMetric);
        inCand = new Candidate(-1, "input", "input model", Map.of(), baseMetric, inCand.sizeBytes(), inCand.latencyMs(), baseMetric >= floor, true, 0, Map.of());
        log.printf(Locale.ROOT, "input %s: %s %.4f, %s, %.2f ms; floor %.4f (%s)%n", modelFile.getFileName(), metric.name(), baseMetric,
                Report.bytes(inCand.sizeBytes()), inCand.latencyMs(), floor,
                recipe.search().floor() != null ? "absolute" : String.format(Locale.ROOT, "at most %.1f%% below the input", 100 * recipe.search().maxRelativeDrop()));
        List<Candidate> all = new ArrayList<>();
        all.add(inCand);
        String exportName = "model.onnx";
        boolean html = false;
        for (Recipe.StageSpec s : recipe.stages()) if (s.config() instanceof io.condense.recipe.stages.ExportOnnxStage.Config c) exportName = c.file();
        for (Recipe.StageSpec s : recipe.stages()) if (s.type().equals("report")) html = true;
        Path modelOut = outDir.resolve(exportName);

        Graph current = input;
        byte[] currentBytes = null, validBytes = null; // validBytes: the last kept model that meets the recipe's floor
        Candidate validCand = null;
        String currentSha = inputSha;
        Candidate currentCand = inCand;
        boolean changed = false, exhausted = false;
        int evaluated = 0;
        for (int i = 0; i < recipe.stages().size(); i++) {
            Recipe.StageSpec spec = recipe.stages().get(i);
            Stage stage = Stages.get(spec.type());
            if (!stage.transforms()) {
                stage.apply(ctx, current, (Record) spec.config());
                continue;
            }
            if (exhausted) {
                notes.add("stage " + (i + 1) + " " + spec.type() + " not run: the time budget was spent");
                continue;
            }
            Path dir = outDir.resolve("stages").resolve(String.format(Locale.ROOT, "%02d-%s", i + 1, spec.type()));
            String configJson = json(spec.config());
            String key = Provenance.sha256((currentSha + "\n" + configJson + "\n" + recipe.seed() + "\n" + recipe.data() + "\n" + recipe.search()
                    + "\n" + data.describe() + "\n" + Provenance.version() + "\n" + Provenance.build()).getBytes(StandardCharsets.UTF_8));
            StageState done = resume ? reuse(dir, key) : null;
            if (done != null) {
                log.printf(Locale.ROOT, "stage %d %s: inputs unchanged, reusing %s%n", i + 1, spec.type(), outDir.relativize(dir));
                all.addAll(done.candidates);
                if (done.model != null) {
                    currentBytes = ModelFiles.readAll(done.model, "stage model");
                    current = OnnxImporter.load(done.model);
                    currentSha = Provenance.sha256(currentBytes);
                    currentCand = done.candidates.stream().filter(Candidate::chosen).findFirst().orElse(currentCand);
                    if (currentCand.valid()) {
                        validBytes = currentBytes;
                        validCand = currentCand;
                    }
                    changed = true;
                }
                if (done.facts != null) done.facts.forEach(ctx::fact);
                continue;
            }
            List<Record> cands = stage.candidates((Record) spec.config());
            ctx.clearCache();
            Graph chosen = null;
            Candidate chosenCand = null;
            List<Candidate> stageCands = new ArrayList<>();
            Map<String, Object> factsBefore = new LinkedHashMap<>(ctx.facts());
            try (Progress bar = Progress.start("stage " + (i + 1) + " " + spec.type(), cands.size())) {
                for (int k = 0; k < cands.size(); k++) {
                    if (ctx.overBudget() && evaluated > 0) { // the first candidate always runs, so a spent budget still yields a result
                        exhausted = true;
                        notes.add(String.format(Locale.ROOT, "time budget of %.0f s spent during stage %d %s after %d of %d candidates; %s",
                                recipe.search().budgetSeconds(), i + 1, spec.type(), k, cands.size(),
                                chosenCand != null || changed ? "kept the best valid model so far" : "no valid model had been found yet"));
                        log.println(notes.get(notes.size() - 1));
                        break;
                    }
                    Record c = cands.get(k);
                    evaluated++;
                    String label = stage.label(c) != null ? stage.label(c) : label(c);
                    bar.message(label);
                    long t0 = System.nanoTime();
                    Graph g;
                    try {
                        g = data.preprocessing().stamp(stage.apply(ctx, current, c));
                    } catch (ModelException e) {
                        // one failing setting does not end the search: it is recorded and the next one is tried
                        String why = "stage " + (i + 1) + " " + spec.type() + " " + label + ": " + e.getMessage();
                        notes.add(why);
                        log.println("  failed: " + e.getMessage());
                        stageCands.add(new Candidate(i, spec.type(), label + " (failed)", c, Double.NaN, 0, Double.NaN, false, false,
                                (System.nanoTime() - t0) / 1e9, Map.of()));
                        bar.step();
                        continue;
                    }
                    double m = metric.evaluate(g);
                    g = Provenance.stamp(g, new Provenance.Stage(stage.method(c), currentSha, stageConfig(recipe, spec, c), recipe.seed(),
                            Map.of("metric", metric.name(), "value", m, "floor", floor)));
                    byte[] bytes = OnnxExporter.toFileBytes(g);
                    double lat = Latency.medianMs(g, feed, repeats);
                    boolean valid = m >= floor;
                    Double sf = stage.stageFloor(c);
                    boolean keepable = valid || sf != null && m >= sf; // below the floor, kept for a later recovery stage
                    Candidate cand = new Candidate(i, spec.type(), label, c, m, bytes.length, lat, valid, false, (System.nanoTime() - t0) / 1e9, Map.of());
                    stageCands.add(cand);
                    log.printf(Locale.ROOT, "  %-48s %s %.4f %s  %s  %.2f ms%n", label, metric.name(), m,
                            valid ? ">= floor" : keepable ? String.format(Locale.ROOT, "< floor, >= stage floor %.4f", sf) : "< floor ",
                            Report.bytes(bytes.length), lat);
                    if (keepable && (chosenCand == null || !stage.orderIsPreference() && better(cand, chosenCand))) {
                        chosen = g;
                        chosenCand = cand;
                        currentBytes = bytes;
                        if (valid) {
                            validBytes = bytes;
                            validCand = cand;
                            // the best valid model so far is on disk at once: a budget or Ctrl-C later cannot lose it
                            ModelFiles.writeAtomically(modelOut, o -> o.write(bytes));
                        }
                    }
                    bar.step();
                    if (keepable && !recipe.search().exhaustive()) break;
                }
            }
            for (int k = 0; k < stageCands.size(); k++) if (stageCands.get(k) == chosenCand) stageCands.set(k, chosenCand.withChosen(true));
            all.addAll(stageCands);
            Map<String, Object> newFacts = new LinkedHashMap<>();
            ctx.facts().forEach((fk, fv) -> { if (factsBefore.get(fk) != fv) newFacts.put(fk, fv); });
            if (chosen != null) {
                current = chosen;
                currentSha = Provenance.sha256(currentBytes);
                currentCand = chosenCand.withChosen(true);
                changed = true;
                byte[] b = currentBytes;
                ModelFiles.writeAtomically(dir.resolve("model.onnx"), o -> o.write(b));
                log.printf(Locale.ROOT, "stage %d %s: kept %s%s%n", i + 1, spec.type(), chosenCand.label(),
                        chosenCand.valid() ? "" : " (below the floor: a later stage must recover it)");
            } else if (!stageCands.isEmpty()) {
                notes.add("stage " + (i + 1) + " " + spec.type() + ": no candidate met the floor; the stage left the model unchanged");
                log.println(notes.get(notes.size() - 1));
            }
            if (!stageCands.isEmpty()) writeState(dir, key, configJson, chosen != null, stageCands, newFacts);
        }
        if (changed && !currentCand.valid()) {
            // the last kept model is below the floor (no recovery stage brought it back): the result is the last valid one
            notes.add(String.format(Locale.ROOT, "the last kept model (%s %s %.4f) is below the floor %.4f; %s", currentCand.stageName(), metric.name(),
                    currentCand.metric(), floor, validCand != null ? "the result is the last valid model (" + validCand.stageName() + ")" : "no stage met the floor"));
            log.println(notes.get(notes.size() - 1));
            changed = validCand != null;
            if (changed) {
                currentBytes = validBytes;
                current = OnnxImporter.fromBytes(currentBytes);
                currentCand = validCand.withChosen(true);
            } else {
                current = input;
                currentCand = inCand;
            }
        }
        if (changed) {
            byte[] b = currentBytes;
            ModelFiles.writeAtomically(modelOut, o -> o.write(b));
        } else {
            notes.add("no stage produced a model that meets the floor; no model was written");
        }
        Report report = new Report(recipe, data.describe(), modelFile, input, changed ? modelOut : null, changed ? current : null, metric.name(), floor,
                inCand, currentCand, all, exhausted, notes, ctx.facts(), (System.nanoTime() - start) / 1e9);
        Path json = outDir.resolve("report.json");
        report.writeJson(json);
        Path htmlOut = null;
        if (html) {
            htmlOut = outDir.resolve("report.html");
            report.writeHtml(htmlOut, (String) ctx.facts().get("report.title"));
        }
        log.printf(Locale.ROOT, "done in %.1f s: %s%n", (System.nanoTime() - start) / 1e9,
                changed ? String.format(Locale.ROOT, "%s, %s %.4f -> %.4f, %s -> %s", modelOut, metric.name(), baseMetric, currentCand.metric(),
                        Report.bytes(inCand.sizeBytes()), Report.bytes(currentCand.sizeBytes())) : "no model written");
        return new CompressResult(changed ? modelOut : null, json, htmlOut, metric.name(), floor, inCand, currentCand, List.copyOf(all), exhausted,
                List.copyOf(notes), Map.copyOf(ctx.facts()));
    }

    /** Smaller wins; at equal size the higher metric. */
    static boolean better(Candidate a, Candidate b) {
        if (a.sizeBytes() != b.sizeBytes()) return a.sizeBytes() < b.sizeBytes();
        return a.metric() > b.metric();
    }

    static Map<String, Object> stageConfig(Recipe r, Recipe.StageSpec spec, Object settings) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("recipe", r.name());
        m.put("recipe_sha256", Provenance.sha256(r.source().getBytes(StandardCharsets.UTF_8)));
        m.put("stage", spec.type());
        m.put("settings", JSON.valueToTree(settings));
        return m;
    }

    /** The settings in a few words: the fields that are lists of one value, e.g. "calibrator=entropy keep_float=1". */
    static String label(Record c) {
        JsonNode n = JSON.valueToTree(c);
        StringBuilder sb = new StringBuilder();
        n.fields().forEachRemaining(e -> {
            JsonNode v = e.getValue();
            if (v.isArray() && v.size() == 1) sb.append(sb.length() == 0 ? "" : " ").append(e.getKey()).append('=').append(v.get(0).asText().toLowerCase(Locale.ROOT));
        });
        return sb.length() == 0 ? n.toString() : sb.toString();
    }

    static String json(Object o) {
        try {
            return new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE).writeValueAsString(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new ModelException("cannot read " + p + ": " + e.getMessage());
        }
    }

    private record StageState(Path model, List<Candidate> candidates, Map<String, Object> facts) {}

    private static void writeState(Path dir, String key, String configJson, boolean hasModel, List<Candidate> cands, Map<String, Object> facts) {
        ObjectNode o = JSON.createObjectNode();
        o.put("key", key);
        o.set("config", readTree(configJson));
        o.put("model", hasModel ? "model.onnx" : null);
        o.set("candidates", JSON.valueToTree(cands));
        o.set("facts", JSON.valueToTree(facts));
        byte[] b;
        try {
            b = JSON.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        ModelFiles.writeAtomically(dir.resolve("stage.json"), out -> out.write(b));
    }

    private static JsonNode readTree(String s) {
        try {
            return JSON.readTree(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @SuppressWarnings("unchecked")
    private static StageState reuse(Path dir, String key) {
        Path f = dir.resolve("stage.json");
        if (!Files.isRegularFile(f)) return null;
        try {
            JsonNode o = JSON.readTree(f.toFile());
            if (!key.equals(o.path("key").asText())) return null;
            Path model = o.path("model").isTextual() ? dir.resolve(o.get("model").asText()) : null;
            if (model != null && !Files.isRegularFile(model)) return null;
            List<Candidate> cands = new ArrayList<>();
            for (JsonNode c : o.path("candidates")) {
                cands.add(new Candidate(c.path("stage").asInt(), c.path("stage_name").asText(), c.path("label").asText(), JSON.treeToValue(c.path("settings"), Object.class),
                        c.path("metric").asDouble(Double.NaN), c.path("size_bytes").asLong(), c.path("latency_ms").asDouble(Double.NaN), c.path("valid").asBoolean(),
                        c.path("chosen").asBoolean(), c.path("seconds").asDouble(), Map.of()));
            }
            Map<String, Object> facts = JSON.treeToValue(o.path("facts"), Map.class);
            return new StageState(model, cands, facts);
        } catch (IOException e) {
            return null; // unreadable state: run the stage again
        }
    }
}
