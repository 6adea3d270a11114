package io.condense.cli;

import io.condense.data.Dataset;
import io.condense.data.Mnist;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.onnx.OnnxImporter;
import io.condense.prune.Granularity;
import io.condense.prune.PruneConfig;
import io.condense.prune.PrunePass;
import io.condense.prune.PruneSchedule;
import io.condense.prune.SensitivityAnalysis;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code sensitivity}: prunes each layer alone at 10..90% and writes the accuracy table and plot. */
@Command(name = "sensitivity", mixinStandardHelpOptions = true,
        description = {"Per-layer pruning sensitivity: prune each Conv/Gemm/MatMul layer alone at each level, evaluate on held-out "
                + "MNIST-format training images, write DIR/sensitivity.csv, sensitivity.md and sensitivity.png.",
                "Works on the models `condense train --model lenet-300-100|lenet5|resnet-small` writes."})
public final class SensitivityCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "float ONNX model")
    Path model;

    @Option(names = "--data", required = true, description = "MNIST-format folder; the last --validation training images are evaluated")
    Path data;

    @Option(names = "--out", required = true, description = "output folder")
    Path out;

    @Option(names = "--criterion", defaultValue = "magnitude", description = "magnitude | l2 | taylor | wanda | sparsegpt (default ${DEFAULT-VALUE})")
    String criterion;

    @Option(names = "--levels", split = ",", defaultValue = "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9", description = "sparsity levels (default ${DEFAULT-VALUE})")
    double[] levels;

    @Option(names = "--validation", defaultValue = "5000", description = "held-out training images to evaluate on (default ${DEFAULT-VALUE})")
    int validation;

    @Option(names = "--target", description = "also derive per-layer sparsities reaching this overall sparsity (printed and written to allocation.csv)")
    Double target;

    @Option(names = "--budget", defaultValue = "params", description = "the target counts params | macs (default ${DEFAULT-VALUE})")
    String budget;

    @Option(names = "--threads", defaultValue = "0", description = "ND4J threads (0 = all cores)")
    int threads;

    @Spec CommandSpec spec;

    PrintStream stdout = System.out;

    @Override
    public Integer call() {
        if (levels.length == 0) throw new ParameterException(spec.commandLine(), "--levels is empty");
        for (double l : levels) if (!(l > 0 && l < 1)) throw new ParameterException(spec.commandLine(), "--levels must be in (0, 1), got " + l);
        if (target != null && !(target >= 0 && target < 1)) throw new ParameterException(spec.commandLine(), "--target must be in [0, 1), got " + target);
        SensitivityAnalysis.Budget b;
        try {
            b = SensitivityAnalysis.Budget.valueOf(budget.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--budget must be params or macs, got " + budget);
        }
        try {
            io.condense.train.Threads.configure(threads);
            Graph g = OnnxImporter.load(model);
            if (!Files.isDirectory(data)) throw new ModelException("--data must be an MNIST-format folder: " + data);
            Dataset all = Mnist.load(data, true);
            Dataset val = PruneSchedule.split(all, Math.min(validation, all.size() - 1))[1];
            PruneConfig base = PruneConfig.of(criterion, Granularity.LAYER, 0.5);
            var needs = base.importance().needs();
            Iterable<Map<String, io.condense.ir.Tensor>> calib = needs == io.condense.prune.Importance.Needs.CALIBRATION
                    || needs == io.condense.prune.Importance.Needs.HESSIAN ? QuantData.calibration(g, data, 64, 16 * 64) : null;
            Dataset labelled = needs == io.condense.prune.Importance.Needs.GRADIENTS ? all.head(2048) : null;
            SensitivityAnalysis.Result r = SensitivityAnalysis.run(g, base, levels, x -> EvalCommand.accuracy(x, val, 256, model.toString()),
                    c -> new PrunePass(c, calib, labelled, null), stdout);
            List<Path> files = SensitivityAnalysis.write(r, out);
            stdout.print(SensitivityAnalysis.markdown(r));
            if (target != null) {
                Map<String, Double> alloc = SensitivityAnalysis.allocate(r, target, b);
                StringBuilder sb = new StringBuilder("weight,sparsity\n");
                alloc.forEach((k, v) -> sb.append(k).append(',').append(v).append('\n'));
                byte[] bytes = sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
                io.condense.onnx.ModelFiles.writeAtomically(out.resolve("allocation.csv"), o -> o.write(bytes));
                stdout.println("per-layer sparsities for " + target + " of " + budget + ": " + alloc);
            }
            for (Path p : files) stdout.println("wrote " + p);
            return 0;
        } catch (ModelException e) {
            System.err.println("condense: error: " + Main.oneLine(e.getMessage()));
            return 1;
        }
    }
}
