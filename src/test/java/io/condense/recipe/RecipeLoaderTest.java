package io.condense.recipe;

import io.condense.ir.ModelException;
import io.condense.quant.CalibrationMethod;
import io.condense.recipe.stages.QuantizeStage;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Recipes are validated before any work: a mistake names the line, the field and the allowed values. */
class RecipeLoaderTest {
    static String err(String yaml) {
        return assertThrows(ModelException.class, () -> RecipeLoader.parse(yaml, "r.yaml", "r")).getMessage();
    }

    @Test
    void parsesAStageListWithSearchDimensions() {
        Recipe r = RecipeLoader.parse("""
                name: demo
                seed: 7
                search: {floor: 0.97, budget_seconds: 60, exhaustive: true}
                data: {calibration_batches: 4, eval_samples: 200}
                stages:
                  - quantize:
                      calibrator: [minmax, entropy]
                      keep_float: [2, 0]
                  - benchmark
                  - report
                """, "r.yaml", "r");
        assertEquals("demo", r.name());
        assertEquals(7, r.seed());
        assertEquals(0.97, r.search().floorFor(0.99), 0);
        assertEquals(60, r.search().budgetSeconds(), 0);
        assertEquals(List.of("quantize", "benchmark", "report"), r.stages().stream().map(Recipe.StageSpec::type).toList());
        assertEquals(6, r.stages().get(0).line());
        QuantizeStage.Config q = (QuantizeStage.Config) r.stages().get(0).config();
        assertEquals(List.of(CalibrationMethod.MINMAX, CalibrationMethod.ENTROPY), q.calibrator());
        assertEquals(List.of(0, 2), q.keepFloat(), "keep_float sorted: least kept in float (most compressed) first");
        List<QuantizeStage.Config> c = new QuantizeStage().candidates(q);
        assertEquals(4, c.size());
        assertEquals(List.of(0), c.get(0).keepFloat());
        assertEquals(List.of(CalibrationMethod.ENTROPY), c.get(1).calibrator());
        // a single value is a one-element list; relative floor
        Recipe s = RecipeLoader.parse("stages:\n  - quantize: {calibrator: mse}\n", "r.yaml", "r");
        assertEquals(List.of(CalibrationMethod.MSE), ((QuantizeStage.Config) s.stages().get(0).config()).calibrator());
        assertEquals(0.99 * 0.99, s.search().floorFor(0.99), 1e-12);
    }

    @Test
    void badEnumValueNamesLineFieldAndAllowedValues() {
        String m = err("""
                name: x
                stages:
                  - benchmark
                  - quantize:
                      calibrator: [minmax, kl-div]
                """);
        assertEquals("r.yaml line 5: stages[1].quantize.calibrator[1]: 'kl-div' is not allowed; allowed values: minmax, percentile, entropy, mse", m);
    }

    @Test
    void unknownFieldListsTheKnownOnes() {
        String m = err("stages:\n  - quantize:\n      calibrater: minmax\n");
        assertTrue(m.startsWith("r.yaml line 3: stages[0].quantize.calibrater: unknown field; allowed: "), m);
        for (String k : List.of("calibrator", "activations", "weights", "keep_float", "percentile", "exclude")) assertTrue(m.contains(k), m);
        String top = err("stages: [report]\nbudget: 3\n");
        assertEquals("r.yaml line 2: budget: unknown field; allowed: name, seed, search, data, stages", top);
        String search = err("search:\n  flor: 0.9\nstages: [report]\n");
        assertTrue(search.startsWith("r.yaml line 2: search.flor: unknown field; allowed: floor, "), search);
    }

    @Test
    void wrongTypesAndRanges() {
        assertEquals("r.yaml line 2: stages[0].benchmark.repeats: expected a whole number", err("stages:\n  - benchmark: {repeats: many}\n"));
        assertEquals("r.yaml line 1: seed: expected a whole number", err("seed: abc\nstages: [report]\n"));
        String range = err("search: {max_relative_drop: 1.5}\nstages: [report]\n");
        assertTrue(range.contains("max_relative_drop must be in [0, 1)"), range);
        assertTrue(range.startsWith("r.yaml line 1: "), range);
        String keep = err("stages:\n  - quantize: {keep_float: [-1]}\n");
        assertTrue(keep.startsWith("r.yaml line 2: stages[0].quantize") && keep.contains("keep_float values must be >= 0"), keep);
    }

    @Test
    void unknownAndUnavailableStages() {
        String m = err("stages:\n  - quantise\n");
        assertTrue(m.startsWith("r.yaml line 2: stages[0]: unknown stage 'quantise'; allowed stages: prune, prune-structured, distill, fine-tune, qat, quantize, int4"), m);
        String p = err("stages:\n  - quantize\n  - export-tensorrt\n");
        assertTrue(p.startsWith("r.yaml line 3: stages[1]: stage export-tensorrt is not available in this build"), p);
        assertTrue(err("name: x\n").contains("stages: missing"));
        assertTrue(err("stages: [quantize\n").contains("not valid YAML"));
        assertTrue(err("").contains("empty"));
    }

    @Test
    void presets() {
        Recipe int8 = RecipeLoader.preset("int8");
        assertEquals("quantize", int8.stages().get(0).type());
        assertTrue(new QuantizeStage().candidates((QuantizeStage.Config) int8.stages().get(0).config()).size() > 1, "int8 searches");
        assertEquals("int4", RecipeLoader.preset("int4").stages().get(0).type());
        // the presets list their stages
        assertEquals(List.of("prune", "fine-tune", "quantize", "benchmark", "export-onnx", "report"),
                RecipeLoader.preset("int8-sparse").stages().stream().map(Recipe.StageSpec::type).toList());
        assertEquals(List.of("prune-structured", "distill", "quantize", "benchmark", "export-onnx", "report"),
                RecipeLoader.preset("small").stages().stream().map(Recipe.StageSpec::type).toList());
        assertTrue(assertThrows(ModelException.class, () -> RecipeLoader.preset("tiny")).getMessage().contains("allowed: int8, int8-sparse, int4, small"));
    }
}
