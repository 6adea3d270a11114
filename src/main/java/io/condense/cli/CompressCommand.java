package io.condense.cli;

import io.condense.api.Condense;
import io.condense.ir.ModelException;
import io.condense.recipe.CompressResult;
import io.condense.recipe.Recipe;
import io.condense.recipe.RecipeLoader;
import io.condense.recipe.TaskData;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code compress}: one command from a model and data to a smaller model, its evidence and a report. */
@Command(name = "compress", mixinStandardHelpOptions = true,
        description = {"Compress a model with a recipe (YAML) or a preset: each stage's candidate settings are searched under an accuracy "
                + "floor and a time budget; writes the best valid model, report.json, report.html and per-stage models with provenance."},
        footer = {"", "Presets: int8 (INT8 PTQ, calibrators and layers kept in float searched), int4 (INT4 weight-only),",
                "         int8-sparse and small (need the prune/distill stages: rejected until they land).",
                "Stages: " + "fine-tune, qat, quantize, int4, fp16, benchmark, export-onnx, report (available); distill, prune, export-tensorrt (not in this build).",
                "A rerun into the same --out skips stages whose input model and settings are unchanged (--no-resume to redo them).",
                "", "Examples:",
                "  condense compress lenet5.onnx --preset int8 --data ../shared/data/mnist --out out/",
                "  condense compress mnist-8.onnx --recipe recipe.yaml --data ../shared/data/mnist --scale 1 --out out/ --budget 120",
                "  condense compress minilm.onnx --recipe minilm.yaml --text sentences.txt --tokenizer tokenizer.json --out out/"})
public final class CompressCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "input model (.onnx)")
    Path model;

    static final class RecipeChoice {
        @Option(names = "--recipe", paramLabel = "FILE", description = "YAML recipe") Path recipe;

        @Option(names = "--preset", paramLabel = "NAME", description = "int8 | int8-sparse | int4 | small") String preset;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    RecipeChoice choice;

    @picocli.CommandLine.Mixin
    Options.ImageData images = new Options.ImageData();

    @Option(names = "--text", paramLabel = "FILE", description = "calibration/evaluation text, one sentence per line (with --tokenizer)")
    Path text;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json for --text (default: the one in the model's jar or beside the .onnx)")
    Path tokenizer;

    @Option(names = "--held-out", paramLabel = "N", defaultValue = "64",
            description = "with --text: the last N sentences score fidelity, the others calibrate (default ${DEFAULT-VALUE})")
    int heldOut;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "DIR", description = "output folder")
    Path out;

    @Option(names = "--budget", paramLabel = "SECONDS", description = "time budget of the search (overrides the recipe's; 0 = none)")
    Double budget;

    @Option(names = "--floor", paramLabel = "METRIC", description = "absolute accuracy floor (overrides the recipe's)")
    Double floor;

    @Option(names = "--exhaustive", description = "evaluate every candidate instead of stopping at the first that meets the floor")
    boolean exhaustive;

    @Option(names = "--no-resume", description = "redo every stage even when a previous run into --out finished it")
    boolean noResume;

    @picocli.CommandLine.Mixin
    Options.Threads threads = new Options.Threads();

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        java.io.PrintWriter w = spec.commandLine().getOut();
        PrintStream stdout = new PrintStream(new java.io.OutputStream() {
            @Override public void write(int b) { w.write(b); }

            @Override public void write(byte[] b, int off, int len) { w.write(new String(b, off, len, java.nio.charset.StandardCharsets.UTF_8)); }

            @Override public void flush() { w.flush(); }
        }, true, java.nio.charset.StandardCharsets.UTF_8);
        Recipe r = choice.recipe != null ? RecipeLoader.load(choice.recipe) : RecipeLoader.preset(choice.preset);
        if (budget != null) r = r.withSearch(r.search().withBudgetSeconds(budget));
        if (floor != null) r = r.withSearch(r.search().withFloor(floor));
        if (exhaustive) r = r.withSearch(r.search().withExhaustive(true));
        TaskData data = data();
        threads.apply();
        CompressResult res = Condense.compressor(stdout, !noResume).run(model, r, data, out);
        stdout.printf(Locale.ROOT, "%n%-22s %12s %12s%n", "", "input", "output");
        stdout.printf(Locale.ROOT, "%-22s %12.4f %12.4f%n", res.metricName(), res.input().metric(), res.output().metric());
        stdout.printf(Locale.ROOT, "%-22s %12s %12s%n", "size", io.condense.report.Report.bytes(res.input().sizeBytes()),
                io.condense.report.Report.bytes(res.output().sizeBytes()));
        stdout.printf(Locale.ROOT, "%-22s %12.2f %12.2f%n", "latency (ms, CPU)", res.input().latencyMs(), res.output().latencyMs());
        for (String n : res.notes()) stdout.println("note: " + n);
        if (res.model() != null) stdout.println("wrote " + res.model());
        if (res.reportHtml() != null) stdout.println("report " + res.reportHtml());
        stdout.println("report " + res.reportJson());
        return res.model() != null ? 0 : 1;
    }

    private TaskData data() {
        if (images.data != null && text != null) throw new ModelException("give either --data DIR or --text FILE --tokenizer FILE, not both");
        if (images.data != null) return images.taskData();
        if (text != null || tokenizer != null) {
            if (text == null) throw new ModelException("--tokenizer needs --text FILE");
            // without --tokenizer: the one inside the model's jar or beside the .onnx
            var tok = tokenizer != null ? io.condense.data.text.HfTokenizer.load(tokenizer, 0) : io.condense.data.text.HfTokenizer.forModel(java.util.List.of(model), 0);
            return new io.condense.recipe.TextTaskData(io.condense.data.text.TextData.readLines(text), tok,
                    tokenizer != null ? tokenizer.getFileName().toString() : "tokenizer of " + model.getFileName(), heldOut);
        }
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "missing data: --data DIR or --text FILE --tokenizer FILE");
    }
}
