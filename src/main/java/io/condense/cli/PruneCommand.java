package io.condense.cli;

import io.condense.data.Dataset;
import io.condense.data.Mnist;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import io.condense.prune.Granularity;
import io.condense.prune.NmCheck;
import io.condense.prune.PruneConfig;
import io.condense.prune.PrunePass;
import io.condense.prune.PruneSchedule;
import io.condense.prune.SensitivityAnalysis;
import io.condense.quant.CalibrationData;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code prune}: masks Conv/Gemm/MatMul weights of an ONNX model (exact zeros in a dense ONNX file), optionally
 * fine-tuning on MNIST-format data with a one-shot, iterative or AGP schedule. Methods are looked up in
 * {@link #METHODS}; other pruning kinds register there.
 */
@Command(name = "prune", mixinStandardHelpOptions = true,
        description = {"Prune an ONNX model: unstructured (magnitude, global, wanda, sparsegpt) or 2:4, with optional fine-tuning.",
                "Works on the models `condense train --model lenet-300-100|lenet5|resnet-small` writes, and on other float ONNX models "
                        + "(wanda/sparsegpt need calibration data: an MNIST-format folder or a .pb stack of inputs; fine-tuning needs MNIST-format data)."},
        footer = {"", "Example:", "  condense prune lenet5.onnx --sparsity 0.7 --criterion magnitude --data ../shared/data/mnist --out lenet5-70.onnx"})
public final class PruneCommand implements Callable<Integer> {
    /** One way of pruning: builds the pruned graph for a request. */
    public interface Method {
        String description();

        Outcome run(Request r);
    }

    /** What a method returns: the pruned model, its config (for the provenance) and facts for the history. */
    public record Outcome(Graph graph, Object config, Map<String, Object> extra) {}

    /** Everything a method may use. */
    public record Request(Graph model, PruneCommand options, PrintStream out) {
        /** Calibration feeds from --data (the training images or a .pb stack). */
        public Iterable<Map<String, Tensor>> calibration() { return options.calibration(model); }

        public double sparsity() { return options.sparsity; }
    }

    /** The method table: name -> method (insertion order is the help order). */
    public static final Map<String, Method> METHODS = new LinkedHashMap<>();

    static {
        METHODS.put("magnitude", unstructured("magnitude", Granularity.LAYER, "|w|, every layer at the same sparsity (Han et al. 2015)"));
        METHODS.put("global", unstructured("magnitude", Granularity.GLOBAL, "|w| with one threshold over all layers"));
        METHODS.put("wanda", unstructured("wanda", Granularity.OUTPUT, "|w| * ||x||, per output (Sun et al. 2023); needs --data"));
        METHODS.put("sparsegpt", unstructured("sparsegpt", Granularity.LAYER, "OBS with weight updates (Frantar & Alistarh 2023); needs --data"));
        METHODS.put("2:4", unstructured("magnitude", Granularity.nm(2, 4), "2 of every 4 input channels (sparse tensor cores); --criterion magnitude|wanda|sparsegpt"));
        METHODS.put("channels", StructuredMethods.channels());
        METHODS.put("heads", StructuredMethods.transformer(true));
        METHODS.put("ffn", StructuredMethods.transformer(false));
    }

    /** An unstructured/N:M method with a default criterion ({@code --criterion} overrides it). */
    static Method unstructured(String criterion, Granularity g, String description) {
        return new Method() {
            @Override public String description() { return description; }

            @Override public Outcome run(Request r) { return r.options().runUnstructured(r, criterion, g); }
        };
    }

    @Parameters(index = "0", paramLabel = "MODEL", description = "float ONNX model")
    Path model;

    @Option(names = "--method", required = true, description = "magnitude | global | wanda | sparsegpt | 2:4 | channels | heads | ffn")
    String method;

    @Option(names = "--sparsity", defaultValue = "0.5", description = "fraction of weights to zero, in [0, 1) (default ${DEFAULT-VALUE}; 2:4 implies 0.5)")
    double sparsity;

    @Option(names = "--criterion", description = "importance criterion: magnitude | l2 | taylor | bn-scale | wanda | sparsegpt (default: the method's)")
    String criterion;

    @Option(names = "--data", description = "MNIST-format folder (calibration, fine-tuning, accuracy) or a .pb stack of inputs (calibration only)")
    Path data;

    @Option(names = "--fine-tune-epochs", defaultValue = "0", description = "fine-tuning epochs after/while pruning (default ${DEFAULT-VALUE})")
    int fineTuneEpochs;

    @Option(names = "--schedule", defaultValue = "oneshot", description = "oneshot | iterative | agp (default ${DEFAULT-VALUE})")
    String schedule;

    @Option(names = "--iterations", defaultValue = "3", description = "iterative: prune/fine-tune rounds (default ${DEFAULT-VALUE})")
    int iterations;

    @Option(names = "--lr", defaultValue = "0.01", description = "fine-tuning learning rate, SGD momentum 0.9, cosine decay (default ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--weight-decay", defaultValue = "0", description = "fine-tuning weight decay (default ${DEFAULT-VALUE})")
    double weightDecay;

    @Option(names = "--batch-size", defaultValue = "64", description = "fine-tuning batch size (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--validation", defaultValue = "5000", description = "training images held out to choose the best checkpoint (default ${DEFAULT-VALUE})")
    int validation;

    @Option(names = "--calibration-batches", defaultValue = "16", description = "calibration batches of 64 for wanda/sparsegpt (default ${DEFAULT-VALUE})")
    int calibrationBatches;

    @Option(names = "--exclude", description = "regex of weight or node names to keep dense (repeatable)")
    List<String> exclude = new ArrayList<>();

    @Option(names = "--sensitivity", description = "sensitivity.csv from `condense sensitivity`: per-layer sparsities for the --sparsity target")
    Path sensitivity;

    @Option(names = "--budget", defaultValue = "params", description = "with --sensitivity: the target counts params | macs; with --method channels, macs makes --sparsity the fraction of MACs to remove (default ${DEFAULT-VALUE})")
    String budget;

    @Option(names = "--seed", defaultValue = "1", description = "fine-tuning seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--threads", defaultValue = "0", description = "ND4J threads (0 = all cores, or 1 when the machine is busy)")
    int threads;

    /** --text/--tokenizer calibration sentences for heads/ffn. */
    @picocli.CommandLine.Mixin
    TextDataOptions textData = new TextDataOptions();

    @Option(names = "--out", required = true, description = "output ONNX file")
    Path out;

    @Spec CommandSpec spec;

    PrintStream stdout = System.out;

    public PruneCommand out(PrintStream p) {
        stdout = p;
        return this;
    }

    @Override
    public Integer call() {
        Method m = METHODS.get(method.toLowerCase(Locale.ROOT));
        if (m == null) throw new ParameterException(spec.commandLine(), "unknown method '" + method + "' (" + String.join(", ", METHODS.keySet()) + ")");
        if (!(sparsity >= 0 && sparsity < 1)) throw new ParameterException(spec.commandLine(), "--sparsity must be in [0, 1), got " + sparsity);
        if (!budget.equalsIgnoreCase("params") && !budget.equalsIgnoreCase("macs")) throw new ParameterException(spec.commandLine(), "--budget must be params or macs, got " + budget);
        try {
            io.condense.train.Threads.configure(threads);
            Graph g = OnnxImporter.load(model);
            Outcome o = m.run(new Request(g, this, stdout));
            Map<String, Object> extra = new LinkedHashMap<>(o.extra());
            if (data != null) extra.put("data_sha256", dataHash(data));
            Graph stamped = Provenance.stamp(o.graph(), new Provenance.Stage("prune/" + method.toLowerCase(Locale.ROOT), Provenance.sha256(model),
                    o.config(), seed, extra));
            OnnxExporter.save(stamped, out);
            stdout.println("saved " + out);
            return 0;
        } catch (ModelException e) {
            System.err.println("condense: error: " + Main.oneLine(e.getMessage()));
            return 1;
        }
    }

    /** Config recorded in the provenance of unstructured / N:M pruning. */
    public record UnstructuredRun(String method, PruneConfig prune, PruneSchedule.Config schedule) {}

    Outcome runUnstructured(Request r, String defaultCriterion, Granularity gran) {
        Graph g = r.model();
        String crit = criterion != null ? criterion : defaultCriterion;
        Map<String, Double> perLayer = Map.of();
        if (sensitivity != null) {
            if (gran.kind() != Granularity.Kind.LAYER) throw new ModelException("--sensitivity allocates per-layer sparsities; use --method magnitude or sparsegpt");
            perLayer = SensitivityAnalysis.allocate(SensitivityCsv.read(sensitivity, g), sparsity, SensitivityAnalysis.Budget.valueOf(budget.toUpperCase(Locale.ROOT)));
            stdout.println("per-layer sparsities from " + sensitivity + ": " + perLayer);
        }
        PruneConfig pc = new PruneConfig(crit, gran, sparsity, perLayer, exclude, calibrationBatches, 0, 8, 0.01, 128, true);
        PruneSchedule.Kind kind = switch (schedule.toLowerCase(Locale.ROOT)) {
            case "oneshot", "one-shot" -> PruneSchedule.Kind.ONESHOT;
            case "iterative" -> PruneSchedule.Kind.ITERATIVE;
            case "agp", "gradual" -> PruneSchedule.Kind.AGP;
            default -> throw new ModelException("unknown schedule '" + schedule + "' (oneshot, iterative, agp)");
        };
        if (gran.kind() == Granularity.Kind.NM && kind != PruneSchedule.Kind.ONESHOT) throw new ModelException("N:M masks are chosen once: use --schedule oneshot (with --fine-tune-epochs to recover)");
        PruneSchedule.Config sc = new PruneSchedule.Config(kind, fineTuneEpochs, iterations, 0, 0.7, 0, lr, "sgd", weightDecay, batchSize, seed);
        Dataset train = null, val = null, test = null;
        boolean mnist = data != null && Files.isDirectory(data);
        if (fineTuneEpochs > 0) {
            if (!mnist) throw new ModelException("fine-tuning needs --data with MNIST-format IDX files (a folder)");
            Dataset[] tv = PruneSchedule.split(Mnist.load(data, true), validation);
            train = tv[0];
            val = tv[1];
        }
        if (mnist) test = Mnist.load(data, false);
        Iterable<Map<String, Tensor>> calib = null;
        Dataset labelled = null;
        var needs = pc.importance().needs();
        if (needs == io.condense.prune.Importance.Needs.CALIBRATION || needs == io.condense.prune.Importance.Needs.HESSIAN) {
            if (data == null) throw new ModelException(crit + " needs calibration data: --data DIR");
            calib = calibration(g);
        }
        if (needs == io.condense.prune.Importance.Needs.GRADIENTS) {
            if (!mnist) throw new ModelException(crit + " needs labelled data: --data with MNIST-format IDX files");
            labelled = train != null ? train : Mnist.load(data, true).head(2048);
        }
        Double before = test == null ? null : EvalCommand.accuracy(g, test, 256, model.toString());
        if (before != null) stdout.printf(Locale.ROOT, "test accuracy before: %.4f%n", before);
        Iterable<Map<String, Tensor>> fc = calib;
        Dataset fl = labelled;
        PruneSchedule.Result res = PruneSchedule.run(g, sparsity, s -> new PrunePass(pc.withSparsity(s), fc, fl, null), sc, train, val, stdout);
        PrunePass last = res.lastPass();
        for (PrunePass.LayerResult lr : last.report()) {
            stdout.printf(Locale.ROOT, "  %-24s %-6s %9d weights, %.4f zero%s%n", lr.node(), lr.op(), lr.size(), lr.sparsity(),
                    lr.skipped().isEmpty() ? "" : " (kept dense: " + lr.skipped() + ")");
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        Map<String, Double> perLayerOut = new LinkedHashMap<>();
        long z = 0, t = 0;
        for (io.condense.prune.PrunableLayer l : io.condense.prune.PrunableLayer.find(res.best())) {
            float[] f = res.best().initializers().get(l.weight()).toFloatArray();
            long zz = 0;
            for (float v : f) if (v == 0f) zz++;
            z += zz;
            t += f.length;
            perLayerOut.put(l.weight(), Math.round(1e6 * zz / (double) f.length) / 1e6);
        }
        stdout.printf(Locale.ROOT, "sparsity: %.4f of %d prunable weights (%.1fx fewer non-zero weights)%n", (double) z / t, t, t / (double) Math.max(1, t - z));
        long[] nz = nonZeroParameters(res.best());
        stdout.printf(Locale.ROOT, "non-zero parameters: %d of %d (%.1fx fewer)%n", nz[0], nz[1], nz[1] / (double) Math.max(1, nz[0]));
        extra.put("criterion", crit);
        extra.put("granularity", gran.toString());
        extra.put("sparsity_per_layer", perLayerOut);
        extra.put("sparsity", Math.round(1e6 * z / (double) t) / 1e6);
        if (!Double.isNaN(res.bestValidationAccuracy())) extra.put("validation_accuracy", res.bestValidationAccuracy());
        if (before != null) {
            double after = EvalCommand.accuracy(res.best(), test, 256, "pruned model");
            stdout.printf(Locale.ROOT, "test accuracy after: %.4f (error %.2f%% -> %.2f%%)%n", after, 100 * (1 - before), 100 * (1 - after));
            extra.put("test_accuracy_before", before);
            extra.put("test_accuracy", after);
        }
        if (gran.kind() == Granularity.Kind.NM) {
            List<NmCheck.LayerCheck> checks = NmCheck.check(res.best(), gran.n(), gran.m());
            stdout.print(NmCheck.markdown(checks, gran.n(), gran.m()));
            for (NmCheck.LayerCheck c : checks) {
                if (c.groups() > 0 && c.violations() > 0) throw new ModelException("internal: " + c.node() + " violates " + gran + " after pruning");
            }
        }
        return new Outcome(res.best(), new UnstructuredRun(method, pc, sc), extra);
    }

    /** {non-zero, total} values of all floating initializers (weights and biases). */
    static long[] nonZeroParameters(Graph g) {
        long nz = 0, t = 0;
        for (Tensor x : g.initializers().values()) {
            if (!x.dtype().isFloating()) continue;
            for (float v : x.toFloatArray()) if (v != 0f) nz++;
            t += x.size();
        }
        return new long[] {nz, t};
    }

    /** Calibration feeds from --data: MNIST training images (folder) or a .pb stack. */
    Iterable<Map<String, Tensor>> calibration(Graph g) {
        if (data == null) throw new ModelException("calibration data needed: --data DIR");
        if (!Files.exists(data)) throw new ModelException("data not found: " + data);
        int limit = calibrationBatches > 0 ? calibrationBatches * 64 : 0;
        return QuantData.calibration(g, data, 64, limit);
    }

    /** SHA-256 over the names and hashes of the files of a data folder (or of one file). */
    static String dataHash(Path p) {
        if (!Files.isDirectory(p)) return Provenance.sha256(p);
        StringBuilder sb = new StringBuilder();
        try (var s = Files.list(p)) {
            for (Path f : s.filter(Files::isRegularFile).sorted().toList()) sb.append(f.getFileName()).append('=').append(Provenance.sha256(f)).append('\n');
        } catch (java.io.IOException e) {
            throw new ModelException("cannot list " + p + ": " + e.getMessage());
        }
        return Provenance.sha256(sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
