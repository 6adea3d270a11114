package io.condense.recipe;

import io.condense.recipe.stages.BenchmarkStage;
import io.condense.recipe.stages.DistillStage;
import io.condense.recipe.stages.PruneStructuredStage;
import io.condense.recipe.stages.ExportOnnxStage;
import io.condense.recipe.stages.FineTuneStage;
import io.condense.recipe.stages.Fp16Stage;
import io.condense.recipe.stages.Int4Stage;
import io.condense.recipe.stages.PruneStage;
import io.condense.recipe.stages.QatStage;
import io.condense.recipe.stages.QuantizeStage;
import io.condense.recipe.stages.ReportStage;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The stage table: every stage a recipe may name, in pipeline order. A technique that has not landed in this build is
 * listed in {@link #PLANNED} with what it is; a recipe naming it is rejected at validation with one line.
 * Adding a technique = one {@link Stage} class + one line in {@link #AVAILABLE} (and removing it from PLANNED).
 */
public final class Stages {
    private Stages() {}

    /** Stages this build can run. */
    public static final Map<String, Stage<?>> AVAILABLE = table(
            new PruneStage(),
            new PruneStructuredStage(),
            new DistillStage(),
            new FineTuneStage(),
            new QatStage(),
            new QuantizeStage(),
            new Int4Stage(),
            new Fp16Stage(),
            new BenchmarkStage(),
            new ExportOnnxStage(),
            new ReportStage());

    /** Stages a recipe may name that are not in this build yet, with the technique they need. */
    public static final Map<String, String> PLANNED = Map.of(
            "export-tensorrt", "TensorRT engine export");

    /** Every stage name a recipe may use, available ones first. */
    public static List<String> allNames() {
        List<String> l = new ArrayList<>(AVAILABLE.keySet());
        PLANNED.keySet().stream().sorted().forEach(l::add);
        return l;
    }

    public static Stage<?> get(String name) { return AVAILABLE.get(name); }

    private static Map<String, Stage<?>> table(Stage<?>... stages) {
        Map<String, Stage<?>> m = new LinkedHashMap<>();
        for (Stage<?> s : stages) m.put(s.name(), s);
        return java.util.Collections.unmodifiableMap(m);
    }
}
