package io.condense.cli;

import io.condense.data.Dataset;
import io.condense.dataset.ConvNet;
import io.condense.dataset.Coreset;
import io.condense.dataset.Coresets;
import io.condense.dataset.DiffAugment;
import io.condense.dataset.DistributionMatching;
import io.condense.dataset.Evaluation;
import io.condense.dataset.FeatureModel;
import io.condense.dataset.Forgetting;
import io.condense.dataset.GradientMatching;
import io.condense.dataset.Herding;
import io.condense.dataset.ImageData;
import io.condense.dataset.KCenter;
import io.condense.dataset.Normalizer;
import io.condense.dataset.SmallSet;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code distill-data}: condenses an IDX image data set into K images per class (coreset or synthetic). */
@Command(name = "distill-data", mixinStandardHelpOptions = true,
        description = {"Dataset distillation: write a small training set of K images per class, chosen (random, herding, kcenter, "
                + "forgetting) or synthesized (dm: distribution matching; dc: gradient matching with DSA), as IDX files plus a PNG grid."},
        footer = {"", "DIR (--data): train-images-idx3-ubyte[.gz] (or idx4 for [N, C, H, W]), train-labels-idx1-ubyte[.gz] and the",
                "same with t10k- for the test split (used by --eval-runs and copied to --out).",
                "", "Example:", "  condense distill-data --method dm --ipc 10 --data data/mnist --out mnist-dm10 --eval-runs 5"})
public final class DistillDataCommand implements Callable<Integer> {
    @Option(names = "--method", required = true, description = "dm | dc | herding | kcenter | forgetting | random")
    String method;

    @Option(names = "--ipc", required = true, description = "images per class")
    int ipc;

    @Option(names = "--data", required = true, description = "IDX data folder (see below)")
    Path data;

    @Option(names = "--out", required = true, description = "output folder")
    Path out;

    @Option(names = "--eval-runs", defaultValue = "0", description = "train N fresh ConvNets on the result and print accuracy: MEAN +- STD on the test split (default ${DEFAULT-VALUE})")
    int evalRuns;

    @Option(names = "--eval-epochs", defaultValue = "300", description = "training epochs per evaluation run (papers: 300 DC, 1000 DM; default ${DEFAULT-VALUE})")
    int evalEpochs;

    @Option(names = "--iterations", defaultValue = "1000", description = "dm/dc outer iterations (papers: 20000 DM, 1000 DC; default ${DEFAULT-VALUE})")
    int iterations;

    @Option(names = "--real-batch", defaultValue = "256", description = "dm/dc real images per class and iteration (default ${DEFAULT-VALUE})")
    int realBatch;

    @Option(names = "--lr-img", defaultValue = "-1", description = "dm/dc pixel learning rate (default 1.0 for dm, 0.1 for dc)")
    double lrImg;

    @Option(names = "--width", defaultValue = "128", description = "ConvNet width for synthesis and evaluation (default ${DEFAULT-VALUE})")
    int width;

    @Option(names = "--depth", defaultValue = "3", description = "ConvNet depth (default ${DEFAULT-VALUE})")
    int depth;

    @Option(names = "--dsa", defaultValue = DiffAugment.DEFAULT, description = "DSA strategy, or none (default ${DEFAULT-VALUE})")
    String dsa;

    @Option(names = "--outer-loop", defaultValue = "10", description = "dc: network updates per initialization (paper: 10 at IPC 1, 50 at 10; default ${DEFAULT-VALUE})")
    int outerLoop;

    @Option(names = "--feature-width", defaultValue = "32", description = "herding/kcenter/forgetting: width of the ConvNet trained for features (default ${DEFAULT-VALUE})")
    int featureWidth;

    @Option(names = "--feature-epochs", defaultValue = "-1", description = "herding/kcenter: 1, forgetting: 3 training epochs by default")
    int featureEpochs;

    @Option(names = "--feature-limit", defaultValue = "0", description = "train the feature/forgetting ConvNet on the first N images only (0 = all)")
    int featureLimit;

    @Option(names = "--seed", defaultValue = "0", description = "seed (default ${DEFAULT-VALUE})")
    long seed;

    @CommandLine.Mixin
    Options.Threads threads = new Options.Threads();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (ipc <= 0) throw new ParameterException(spec.commandLine(), "--ipc must be positive, got " + ipc);
        if (evalRuns < 0) throw new ParameterException(spec.commandLine(), "--eval-runs must not be negative");
        String m = method.toLowerCase(Locale.ROOT);
        if (!java.util.List.of("dm", "dc", "herding", "kcenter", "forgetting", "random").contains(m)) {
            throw new ParameterException(spec.commandLine(), "unknown --method '" + method + "' (dm, dc, herding, kcenter, forgetting, random)");
        }
        PrintWriter o = spec.commandLine().getOut();
        java.io.PrintStream ps = Fmt.stream(o);
        threads.apply();
        long t0 = System.nanoTime();
        Dataset train = ImageData.load(data, ImageData.TRAIN);
        Coresets.byClass(train, ipc); // one-line error when a class is too small, before any work
        ConvNet.Spec net = new ConvNet.Spec(width, depth, true);
        ConvNet.featureSize(net, train.sampleShape());
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("ipc", ipc);
        Dataset small;
        int[] indices = null;
        o.printf(Locale.ROOT, "distill-data: %s, %d images per class, %d classes, %d training images of %s%n", m, ipc, train.numClasses(),
                train.size(), java.util.Arrays.toString(train.sampleShape()));
        o.flush();
        switch (m) {
            case "dm" -> {
                DistributionMatching.Config c = new DistributionMatching.Config(ipc, iterations, realBatch, lrImg > 0 ? lrImg : 1.0, 0.5, net, dsa, true, seed);
                config.put("dm", c);
                small = DistributionMatching.distill(train, c, ps);
            }
            case "dc" -> {
                GradientMatching.Config c = new GradientMatching.Config(ipc, iterations, outerLoop, realBatch, lrImg > 0 ? lrImg : 0.1, net, dsa, seed);
                config.put("dc", c);
                small = GradientMatching.distill(train, c, ps);
            }
            default -> {
                FeatureModel.Config fc = new FeatureModel.Config(new ConvNet.Spec(featureWidth, depth, true),
                        featureEpochs > 0 ? featureEpochs : (m.equals("forgetting") ? 3 : 1), featureLimit, 0.01, seed);
                Coreset cs = switch (m) {
                    case "herding" -> new Herding(fc, ps);
                    case "kcenter" -> new KCenter(fc, ps);
                    case "forgetting" -> new Forgetting(fc, ps);
                    default -> new Coresets.RandomCoreset();
                };
                if (!m.equals("random")) config.put("features", fc);
                indices = cs.select(train, ipc, seed);
                small = ImageData.subset(train, indices);
            }
        }
        SmallSet.write(out, small, indices, data, m, config, seed);
        o.printf(Locale.ROOT, "wrote %d images to %s (%s, %s%s) in %.1fs%n", small.size(), out, "train-images IDX", SmallSet.GRID,
                indices == null ? "" : ", " + SmallSet.INDICES, (System.nanoTime() - t0) / 1e9);
        o.flush();
        if (evalRuns > 0) {
            Dataset test = ImageData.load(data, ImageData.TEST);
            Evaluation.Config ec = new Evaluation.Config(evalRuns, evalEpochs, 256, 0.01, net, dsa, seed + 17);
            Evaluation.Result r = Evaluation.evaluate(small, test, Normalizer.of(train), ec, ps);
            o.println(r.line());
            o.flush();
        }
        return 0;
    }
}
