package io.condense.recipe;

import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import io.condense.OrtTestSupport;
import io.condense.TestData;
import io.condense.data.Dataset;
import io.condense.data.Mnist;
import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextData;
import io.condense.eval.Fidelity;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import io.condense.quant.CalibrationData;
import io.condense.recipe.stages.DistillStage;
import io.condense.recipe.stages.PruneStructuredStage;
import io.condense.train.Models;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import io.condense.train.Trainer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The prune-structured and distill recipe stages: a LeNet-5 trained here is channel-pruned below the floor and
 * recovered by distillation from the input model (accuracies checked with ONNX Runtime on the written file), a
 * MiniLM-L6 head-pruned and recovered on text (slow), and the stages' validation.
 */
class RecipeStagesTest {
    @TempDir Path dir;

    static final PrintStream QUIET = new PrintStream(java.io.OutputStream.nullOutputStream());

    /** ONNX Runtime's top-1 accuracy of a model file on the first {@code n} test images (pixels 0..1). */
    static double ortAccuracy(Path onnx, Path mnist, int n) throws Exception {
        Graph g = OnnxImporter.load(onnx);
        Dataset d = Mnist.load(mnist, false).head(n);
        int[] labels = d.labels();
        int seen = 0, correct = 0;
        try (OrtSession s = OrtTestSupport.session(Files.readAllBytes(onnx), 1, OrtSession.SessionOptions.OptLevel.ALL_OPT)) {
            for (Map<String, Tensor> feed : CalibrationData.fromDataset(g.inputs().get(0), d, 100, 0)) {
                Tensor y = OrtTestSupport.run(s, feed).values().iterator().next();
                int classes = (int) y.dim(-1);
                for (int r = 0; r < y.size() / classes; r++) {
                    int best = 0;
                    for (int c = 1; c < classes; c++) if (y.getDouble(r * classes + c) > y.getDouble(r * classes + best)) best = c;
                    if (best == labels[seen++]) correct++;
                }
            }
        }
        return (double) correct / seen;
    }

    static Candidate chosen(CompressResult r, String stage) {
        return r.candidates().stream().filter(c -> c.stageName().equals(stage) && c.chosen()).findFirst().orElseThrow(() -> new AssertionError("no chosen " + stage));
    }

    @TempDir static Path shared;
    static Path lenet;
    static long lenetParams;

    /** LeNet-5, one quick epoch on 6000 images (about 95% test accuracy). */
    static synchronized Path lenet() {
        if (lenet != null) return lenet;
        Path mnist = TestData.require("mnist");
        io.condense.train.Threads.auto();
        Tape tape = new Tape(Models.byName("lenet5", 1));
        new Trainer(tape, Optimizer.of("adam", 2e-3), new Trainer.Config().epochs(1).batchSize(64).seed(1).out(QUIET).progressSeconds(-1))
                .fit(Mnist.load(mnist, true).head(6000), null);
        lenet = shared.resolve("lenet5.onnx");
        Graph g = tape.toGraph();
        lenetParams = g.parameterCount();
        OnnxExporter.save(g, lenet);
        return lenet;
    }

    @Test void channelPruningBelowTheFloorIsRecoveredByDistillation() throws Exception {
        Path mnist = TestData.require("mnist");
        Path model = lenet();
        String recipe = """
                name: shrink
                search: {max_relative_drop: 0.02, latency_repeats: 0}
                data: {eval_samples: 1000}
                stages:
                  - prune-structured: {method: channels, sparsity: [0.6], stage_floor: 0.1}
                  - distill: {epochs: 2, limit: 10000, lr: 0.002, temperature: [4]}
                """;
        Path out = dir.resolve("out");
        CompressResult r = io.condense.api.Condense.compressor(System.out, false).run(model, io.condense.api.Condense.recipe(recipe),
                io.condense.api.Condense.images(mnist, io.condense.data.Preprocessing.UNIT_SCALE), out);
        double in = r.input().metric(), pruned = chosen(r, "prune-structured").metric(), distilled = chosen(r, "distill").metric();
        System.out.printf("LeNet-5 (1000 test images): input %.4f, channels 0.6 %.4f, distilled %.4f, floor %.4f%n", in, pruned, distilled, r.floor());
        assertTrue(pruned < r.floor(), "pruning alone is below the floor: " + pruned);
        assertTrue(distilled >= r.floor() && distilled > pruned + 0.05, "distillation recovers: " + pruned + " -> " + distilled);
        // the written model is the distilled one: ONNX Runtime agrees with the reported accuracy, and it is smaller
        assertEquals(out.resolve("model.onnx"), r.model());
        assertEquals(distilled, ortAccuracy(r.model(), mnist, 1000), 1e-3 + 1e-12);
        assertEquals(in, ortAccuracy(model, mnist, 1000), 1e-3 + 1e-12);
        Graph g = OnnxImporter.load(r.model());
        assertTrue(g.parameterCount() < 0.5 * lenetParams, "parameters " + g.parameterCount());
        JsonNode h = Provenance.history(g);
        List<String> methods = new ArrayList<>();
        for (JsonNode s : h) methods.add(s.get("method").asText());
        assertTrue(methods.containsAll(List.of("prune/structured-channels", "distill")), methods.toString());
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> facts = (Map<String, Map<String, Object>>) r.facts().get("structured");
        Map<String, Object> f = facts.get("channels sparsity=0.6");
        assertTrue(((Number) f.get("macs_after")).longValue() < ((Number) f.get("macs_before")).longValue() / 2, f.toString());
        assertEquals(g.parameterCount(), ((Number) f.get("params_after")).longValue(), "reported parameters are the written model's");
    }

    /** A pruned model that the later stage does not bring back above the floor is never written as the result. */
    @Test void unrecoveredPruningWritesNoModel() throws Exception {
        Path mnist = TestData.require("mnist");
        Path model = lenet();
        String recipe = """
                search: {max_relative_drop: 0.01, latency_repeats: 0}
                data: {eval_samples: 300}
                stages:
                  - prune-structured: {sparsity: [0.9], stage_floor: 0}
                  - distill: {epochs: 1, limit: 100, lr: 0.0001}
                """;
        Path out = dir.resolve("out2");
        CompressResult r = io.condense.api.Condense.compressor(QUIET, false).run(model, io.condense.api.Condense.recipe(recipe),
                io.condense.api.Condense.images(mnist, io.condense.data.Preprocessing.UNIT_SCALE), out);
        assertEquals(null, r.model());
        assertTrue(Files.notExists(out.resolve("model.onnx")), "no model below the floor is written");
        assertTrue(r.notes().stream().anyMatch(n -> n.contains("is below the floor") && n.contains("no stage met the floor")), r.notes().toString());
        assertTrue(chosen(r, "prune-structured").metric() < r.floor());
        assertEquals(r.input().metric(), r.output().metric(), 0, "the result is the input model");
    }

    /** MiniLM-L6 with half of its attention heads removed, then 8 steps of embedding distillation from the input model. */
    @Tag("slow")
    @Test void miniLmHeadsThenDistillRaisesFidelity() throws Exception {
        Path jar = TestData.miniLmJar();
        Assumptions.assumeTrue(jar != null, "MiniLM jar not on the test class path: skipping");
        Path text = TestData.require("text/brown-nonfiction.txt");
        List<String> sentences = TextData.select(TextData.readLines(text), 0, 96);
        TextTaskData data = new TextTaskData(sentences, HfTokenizer.forModel(List.of(jar), 16), "minilm", 32);
        String recipe = """
                search: {floor: 0.5, latency_repeats: 0}
                data: {calibration_batches: 8, batch_size: 8, eval_samples: 32}
                stages:
                  - prune-structured: {method: heads, sparsity: [0.5], stage_floor: 0}
                  - distill: {steps: 8, batch_size: 8}
                """;
        CompressResult r = io.condense.api.Condense.compressor(System.out, false).run(jar, io.condense.api.Condense.recipe(recipe), data, dir.resolve("out"));
        double pruned = chosen(r, "prune-structured").metric(), distilled = chosen(r, "distill").metric();
        System.out.printf("MiniLM heads 0.5: fidelity %.4f, after 8 distillation steps %.4f%n", pruned, distilled);
        assertTrue(distilled > pruned + 0.01, pruned + " -> " + distilled);
        // the reported fidelity is the written model's, recomputed with Fidelity against the input model
        Graph teacher = OnnxImporter.load(jar), student = OnnxImporter.load(r.model());
        var held = TextData.batches(teacher, HfTokenizer.forModel(List.of(jar), 16), sentences.subList(64, 96), 8);
        assertEquals(distilled, Fidelity.compareEmbeddings(Fidelity.embeddings(student, held), Fidelity.embeddings(teacher, held)).meanCosine(), 1e-5);
        assertTrue(student.parameterCount() < teacher.parameterCount());
    }

    static String err(String yaml) {
        return assertThrows(ModelException.class, () -> RecipeLoader.parse(yaml, "r.yaml", "r")).getMessage();
    }

    @Test void stageConfigsAreValidated() {
        String m = err("stages:\n  - prune-structured: {method: rows}\n");
        assertTrue(m.startsWith("r.yaml line 2: stages[0].prune-structured") && m.contains("method: 'rows' is not allowed; allowed values: auto, channels, heads, ffn"), m);
        String s = err("stages:\n  - prune-structured: {sparsity: [0.5, 1.0]}\n");
        assertTrue(s.contains("sparsity values must be in (0, 1), got 1.0"), s);
        String k = err("stages:\n  - prune-structured:\n      sparsity: 0.5\n      ratio: 0.2\n");
        assertTrue(k.startsWith("r.yaml line 4: stages[0].prune-structured.ratio: unknown field; allowed: "), k);
        String b = err("stages:\n  - prune-structured: {method: heads, budget: macs}\n");
        assertTrue(b.contains("budget: macs is for method channels"), b);
        String a = err("stages:\n  - distill: {alpha: 1.5}\n");
        assertTrue(a.startsWith("r.yaml line 2: stages[0].distill") && a.contains("alpha must be in [0, 1], got 1.5"), a);
        String t = err("stages:\n  - distill: {teacher: nowhere.onnx}\n");
        assertTrue(t.contains("teacher: 'nowhere.onnx' is neither input, previous nor an existing model file"), t);
        String l = err("stages:\n  - distill: {layers: [0]}\n");
        assertTrue(l.contains("layers values must be >= 1, got 0"), l);
        String u = err("stages:\n  - distill: {temprature: 4}\n");
        assertTrue(u.contains("stages[0].distill.temprature: unknown field; allowed: "), u);
        String lt = err("stages:\n  - distill: {loss: kl}\n");
        assertTrue(lt.contains("loss: 'kl' is not allowed; allowed values: cosine, mse"), lt);
        assertEquals(1, m.lines().count());
    }

    @Test void candidatesAreSearchDimensions() {
        Recipe r = RecipeLoader.parse("stages:\n  - prune-structured: {sparsity: [0.3, 0.7, 0.5]}\n  - distill: {layers: [4, 2], temperature: [2, 8]}\n", "r", "r");
        PruneStructuredStage ps = new PruneStructuredStage();
        List<Double> sp = ps.candidates((PruneStructuredStage.Config) r.stages().get(0).config()).stream().map(c -> c.sparsity().get(0)).toList();
        assertEquals(List.of(0.7, 0.5, 0.3), sp, "highest sparsity first");
        DistillStage ds = new DistillStage();
        List<String> labels = ds.candidates((DistillStage.Config) r.stages().get(1).config()).stream().map(ds::label).toList();
        assertEquals(List.of("teacher=input layers=2 T=2.0", "teacher=input layers=2 T=8.0", "teacher=input layers=4 T=2.0", "teacher=input layers=4 T=8.0"), labels);
    }

    /** Data the stage cannot use is refused before any work, naming the keys. */
    @Test void wrongDataIsRefusedBeforeWork() throws Exception {
        Path mnist = TestData.require("mnist");
        Path model = dir.resolve("m.onnx");
        OnnxExporter.save(Models.byName("lenet5", 1), model);
        ModelException heads = assertThrows(ModelException.class, () -> io.condense.api.Condense.compressor(QUIET, false).run(model,
                io.condense.api.Condense.recipe("stages:\n  - prune-structured: {method: heads}\n"), io.condense.api.Condense.images(mnist, io.condense.data.Preprocessing.UNIT_SCALE), dir.resolve("o")));
        assertTrue(heads.getMessage().startsWith("recipe line 2: stage prune-structured method heads ranks attention heads"), heads.getMessage());
        ModelException layers = assertThrows(ModelException.class, () -> io.condense.api.Condense.compressor(QUIET, false).run(model,
                io.condense.api.Condense.recipe("stages:\n  - distill: {layers: [2], steps: 5}\n"), io.condense.api.Condense.images(mnist, io.condense.data.Preprocessing.UNIT_SCALE), dir.resolve("o")));
        assertTrue(layers.getMessage().endsWith("on images: layers, steps only apply to text models (--text FILE)"), layers.getMessage());
        assertTrue(Files.notExists(dir.resolve("o")), "nothing written");
    }
}
