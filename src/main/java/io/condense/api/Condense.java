package io.condense.api;

import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.quant.PtqPass;
import io.condense.quant.QuantConfig;
import io.condense.quant.int4.Int4WeightOnly;
import io.condense.recipe.CompressResult;
import io.condense.recipe.Compressor;
import io.condense.recipe.ImageData;
import io.condense.recipe.Recipe;
import io.condense.recipe.RecipeLoader;
import io.condense.recipe.TaskData;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

/**
 * The public entry point of condense for JVM applications: compress a model with a recipe in one call, or apply
 * one technique as a pass. The {@code condense} command line is a thin layer over this class.
 *
 * <pre>{@code
 * CompressResult r = Condense.compress(Path.of("lenet5.onnx"), Condense.preset("int8"),
 *         Condense.images(Path.of("data/mnist")), Path.of("out"));
 * System.out.println(r.model() + ": " + r.input().metric() + " -> " + r.output().metric());
 *
 * Graph q = Condense.quantizeInt8(Condense.load(Path.of("m.onnx")), QuantConfig.defaults(), calibrationFeeds);
 * Condense.save(q, Path.of("m-int8.onnx"));
 * }</pre>
 *
 * Techniques as passes (each a {@link io.condense.passes.GraphPass} with a record config):
 * {@link PtqPass} + {@link QuantConfig} (INT8 static), {@link Int4WeightOnly} + {@link Int4WeightOnly.Config} (INT4
 * weight-only), {@link io.condense.quant.qat.Qat} + {@code Qat.Config} (QAT); the recipe stages in
 * {@link io.condense.recipe.Stages} wrap them.
 */
public final class Condense {
    private Condense() {}

    /**
     * Compresses {@code model} with {@code recipe} on {@code data} into {@code outDir} (model.onnx, report.json,
     * report.html, stages/), logging progress to standard output. A rerun reuses finished stages whose inputs are unchanged.
     */
    public static CompressResult compress(Path model, Recipe recipe, TaskData data, Path outDir) {
        return new Compressor(System.out).run(model, recipe, data, outDir);
    }

    /** As {@link #compress(Path, Recipe, TaskData, Path)}, writing into {@code <model name>-condensed/} beside the model. */
    public static CompressResult compress(Path model, Recipe recipe, TaskData data) {
        String n = model.getFileName().toString().replaceFirst("\\.onnx$", "");
        Path parent = model.toAbsolutePath().getParent();
        return compress(model, recipe, data, parent.resolve(n + "-condensed"));
    }

    /** A compressor with its own log stream (null = silent) and resume setting. */
    public static Compressor compressor(PrintStream log, boolean resume) {
        return new Compressor(log).resume(resume);
    }

    /** Reads and validates a YAML recipe; a mistake throws {@link io.condense.ir.ModelException} naming the line and field. */
    public static Recipe recipe(Path yaml) { return RecipeLoader.load(yaml); }

    /** Parses recipe text (e.g. built in code). */
    public static Recipe recipe(String yaml) { return RecipeLoader.parse(yaml, "recipe", "recipe"); }

    /** A shipped preset: int8, int8-sparse, int4, small (presets whose techniques are not in this build are rejected). */
    public static Recipe preset(String name) { return RecipeLoader.preset(name); }

    /** MNIST-format IDX image data; the pixel scale is the model's recorded one, else 1/255. */
    public static TaskData images(Path dir) { return new ImageData(dir, null); }

    /** MNIST-format IDX image data with an explicit pixel scale (1 for models that take 0..255). */
    public static TaskData images(Path dir, double pixelScale) { return new ImageData(dir, pixelScale); }

    /** Loads an ONNX model. */
    public static Graph load(Path onnx) { return OnnxImporter.load(onnx); }

    /** Saves a model atomically (complete or not at all). */
    public static void save(Graph g, Path onnx) { OnnxExporter.save(g, onnx); }

    /** INT8 post-training static quantization to a QDQ model ({@link PtqPass}). */
    public static Graph quantizeInt8(Graph g, QuantConfig cfg, Iterable<Map<String, Tensor>> calibration) {
        return new PtqPass(cfg, calibration, null).apply(g);
    }

    /** INT4 weight-only quantization of Gemm/MatMul weights ({@link Int4WeightOnly}); {@code calibration} may be null for RTN. */
    public static Graph quantizeInt4(Graph g, Int4WeightOnly.Config cfg, Iterable<Map<String, Tensor>> calibration) {
        return new Int4WeightOnly(cfg, calibration, null).apply(g);
    }

    /**
     * float32 -> float16 / bfloat16 ({@link io.condense.passes.FloatConversion}: LayerNorm chains and integer
     * accumulators stay float32, float32 inputs/outputs keep their type); on a QDQ model only the float parts change.
     */
    public static Graph toLowPrecision(Graph g, io.condense.passes.FloatConversion.Config cfg) {
        return new io.condense.passes.FloatConversion(cfg).apply(g);
    }
}
