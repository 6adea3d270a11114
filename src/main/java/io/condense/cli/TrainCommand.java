package io.condense.cli;

import io.condense.data.Augmentation;
import io.condense.data.Dataset;
import io.condense.data.Mnist;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.train.LrSchedule;
import io.condense.train.Models;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import io.condense.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code train}: trains a built-in model or an ONNX model on an MNIST-format dataset and saves it as ONNX. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a model (lenet-300-100, lenet5, resnet-small or an .onnx file) on MNIST-format IDX data and save it as ONNX.",
        footer = {"", "Pixels are scaled to 0..1 (x 1/255); the output model records this in its metadata (condense.preprocessing).",
                "", "Example:", "  condense train --model lenet5 --data ../shared/data/mnist --epochs 8 --out lenet5.onnx"})
public final class TrainCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "lenet-300-100 | lenet5 | resnet-small | FILE.onnx")
    String model;

    @Option(names = "--data", required = true, description = "folder with train-/t10k- images and labels IDX files (.gz or plain)")
    Path data;

    @Option(names = "--epochs", defaultValue = "10", description = "epochs (default ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--out", required = true, description = "output ONNX file")
    Path out;

    @Option(names = "--lr", paramLabel = "LR", description = "learning rate (default per model: lenet-300-100 0.05, lenet5 0.02, resnet-small 0.05, an .onnx file 0.01)")
    Double lr;

    @Option(names = "--max-steps", paramLabel = "N", defaultValue = "0",
            description = "stop each epoch after N steps, keeping the full run's schedule (a quick check of the settings; 0 = full epochs)")
    long maxSteps;

    @Option(names = "--batch-size", defaultValue = "64", description = "mini-batch size (default ${DEFAULT-VALUE})")
    int batchSize;

    @picocli.CommandLine.Mixin
    Options.Seed seedOption = new Options.Seed();

    @Option(names = "--optimizer", defaultValue = "sgd", description = "sgd (momentum 0.9) | sgd-plain | nesterov | adam | adamw (default ${DEFAULT-VALUE})")
    String optimizer;

    @Option(names = "--weight-decay", defaultValue = "-1", description = "weight decay (default 5e-4 for SGD, 0 for Adam, 0.01 for AdamW)")
    double weightDecay;

    @Option(names = "--schedule", defaultValue = "cosine", description = "constant | cosine | step (x0.1 every third of training) (default ${DEFAULT-VALUE})")
    String schedule;

    @Option(names = "--warmup", defaultValue = "0", description = "linear warm-up steps (default ${DEFAULT-VALUE})")
    long warmup;

    @Option(names = "--label-smoothing", defaultValue = "0", description = "label smoothing (default ${DEFAULT-VALUE})")
    double labelSmoothing;

    @Option(names = "--augment", description = "random crop with 2-pixel padding")
    boolean augment;

    @picocli.CommandLine.Mixin
    Options.Limits limits = new Options.Limits();

    @picocli.CommandLine.Mixin
    Options.Threads threads = new Options.Threads();

    @Option(names = "--quiet", description = "no progress lines")
    boolean quiet;

    PrintStream stdout = System.out;

    /** Where results and progress go (default System.out). */
    public TrainCommand out(PrintStream p) {
        stdout = p;
        return this;
    }

    @Override
    public Integer call() {
        try {
            run();
            return 0;
        } catch (ModelException e) {
            System.err.println("condense: error: " + e.getMessage());
            return 1;
        }
    }

    /** Learning rates that train each built-in model stably with SGD momentum 0.9 and the cosine schedule (benchmarks/train). */
    static double defaultLr(String model) {
        return switch (model.toLowerCase(Locale.ROOT)) {
            case "lenet-300-100" -> 0.05;
            case "lenet5" -> 0.02;   // 0.05 diverges at step 17 of the 10-epoch run
            case "resnet-small" -> 0.05;
            default -> 0.01;         // fine-tuning a trained model
        };
    }

    private void run() {
        if (epochs <= 0) throw new ModelException("--epochs must be positive");
        double lr = this.lr != null ? this.lr : defaultLr(model);
        if (!(lr > 0)) throw new ModelException("--lr must be positive, got " + lr);
        threads.apply();
        long seed = seedOption.seed;
        int limit = limits.limit, testLimit = limits.testLimit;
        Graph g = model.toLowerCase(Locale.ROOT).endsWith(".onnx") || Files.exists(Path.of(model))
                ? OnnxImporter.load(Path.of(model)) : Models.byName(model, seed);
        Dataset train = Mnist.load(data, true);
        if (limit > 0) train = train.head(limit);
        Dataset test = Mnist.load(data, false);
        if (testLimit > 0) test = test.head(testLimit);
        Tape tape = new Tape(g, io.condense.train.Tape.weights(g), org.nd4j.linalg.api.buffer.DataType.FLOAT, seed);
        long steps = (long) epochs * ((train.size() + batchSize - 1) / batchSize);
        LrSchedule s = switch (schedule.toLowerCase(Locale.ROOT)) {
            case "constant" -> LrSchedule.constant();
            case "cosine" -> LrSchedule.cosine(Math.max(1, steps - warmup), 0);
            case "step" -> LrSchedule.step(Math.max(1, steps / 3), 0.1);
            default -> throw new ModelException("unknown schedule '" + schedule + "' (constant, cosine, step)");
        };
        if (warmup > 0) s = LrSchedule.warmup(warmup, s);
        Optimizer opt = Optimizer.of(optimizer, lr).schedule(s);
        if (weightDecay >= 0) opt.weightDecay(weightDecay);
        else if (optimizer.toLowerCase(Locale.ROOT).startsWith("sgd") || optimizer.equalsIgnoreCase("nesterov")) opt.weightDecay(5e-4);
        Trainer.Config cfg = new Trainer.Config().epochs(epochs).batchSize(batchSize).seed(seed).labelSmoothing(labelSmoothing)
                .augment(augment ? List.of(Augmentation.randomCrop(2)) : List.of()).out(stdout).progressSeconds(quiet ? 0 : 10).maxStepsPerEpoch(maxSteps);
        stdout.printf(Locale.ROOT, "training %s (%d parameters) on %d images, %d epochs, batch %d, %s lr %g%n",
                g.name().isEmpty() ? model : g.name(), g.parameterCount(), train.size(), epochs, batchSize, optimizer, lr);
        List<Trainer.EpochStats> stats = new Trainer(tape, opt, cfg).fit(train, test);
        Graph trained = io.condense.data.Preprocessing.image(io.condense.data.Preprocessing.UNIT_SCALE, 0, 1).stamp(tape.toGraph());
        java.util.Map<String, Object> cfgRec = new java.util.LinkedHashMap<>();
        cfgRec.put("model", model);
        cfgRec.put("epochs", epochs);
        cfgRec.put("lr", lr);
        cfgRec.put("batch_size", batchSize);
        cfgRec.put("optimizer", optimizer);
        cfgRec.put("schedule", schedule);
        cfgRec.put("images", train.size());
        String inSha = Files.isRegularFile(Path.of(model)) ? io.condense.onnx.Provenance.sha256(Path.of(model)) : "";
        trained = io.condense.onnx.Provenance.stamp(trained, new io.condense.onnx.Provenance.Stage("train/supervised", inSha, cfgRec, seed));
        OnnxExporter.save(trained, out);
        stdout.printf(Locale.ROOT, "accuracy: %.4f%n", stats.get(stats.size() - 1).testAccuracy());
        stdout.println("saved " + out);
    }
}
