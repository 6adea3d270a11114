package io.condense.dataset;

import io.condense.data.Augmentation;
import io.condense.data.Dataset;
import io.condense.ir.ModelException;
import io.condense.train.LrSchedule;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import io.condense.train.Trainer;
import org.nd4j.linalg.api.buffer.DataType;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * The evaluation protocol of DC/DSA/DM: train fresh ConvNets on the small set (SGD, momentum 0.9, weight decay
 * 5e-4, batch 256, learning rate 0.01 divided by 10 halfway, DSA augmentation per sample), test each on the full
 * test split, report mean and (population) standard deviation of the accuracies. The papers train 1000 epochs
 * (DM) or 300 (DC); {@code epochs} sets it.
 */
public final class Evaluation {
    private Evaluation() {}

    public record Config(int runs, int epochs, int batchSize, double lr, ConvNet.Spec net, String dsa, long seed) {
        public Config {
            if (runs <= 0) throw new ModelException("--eval-runs must be positive, got " + runs);
            if (epochs <= 0) throw new ModelException("evaluation epochs must be positive, got " + epochs);
            new DiffAugment(dsa);
        }

        public static Config paper(int runs, int epochs, long seed) {
            return new Config(runs, epochs, 256, 0.01, ConvNet.Spec.paper(), DiffAugment.DEFAULT, seed);
        }
    }

    public record Result(double[] accuracies, double mean, double std) {
        public String line() { return String.format(Locale.ROOT, "accuracy: %.2f +- %.2f", 100 * mean, 100 * std); }
    }

    /** {@code small} and {@code test} in pixel space; both are normalized with {@code norm} (the full training split's). */
    public static Result evaluate(Dataset small, Dataset test, Normalizer norm, Config cfg, PrintStream progress) {
        if (small.size() == 0) throw new ModelException("the small set is empty");
        Dataset tr = norm.normalize(small), te = norm.normalize(test);
        int classes = Math.max(tr.numClasses(), te.numClasses());
        DiffAugment aug = new DiffAugment(cfg.dsa());
        List<Augmentation> augs = aug.isEmpty() ? List.of() : List.of((buf, off, shape, rnd) -> {
            int ss = (int) java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            float[] one = java.util.Arrays.copyOfRange(buf, off, off + ss);
            System.arraycopy(aug.draw(rnd).forward(one, shape), 0, buf, off, ss);
        });
        double[] acc = new double[cfg.runs()];
        for (int r = 0; r < cfg.runs(); r++) {
            long seed = cfg.seed() + 1000L * r;
            Tape tape = new Tape(ConvNet.build(cfg.net(), tr.sampleShape(), classes, seed), n -> true, DataType.FLOAT, seed);
            long perEpoch = (tr.size() + cfg.batchSize() - 1) / cfg.batchSize();
            long half = Math.max(1, perEpoch * (cfg.epochs() / 2));
            Optimizer opt = Optimizer.sgd(cfg.lr()).momentum(0.9).weightDecay(5e-4).schedule(LrSchedule.step(half, 0.1));
            Trainer.Config tc = new Trainer.Config().epochs(cfg.epochs()).batchSize(cfg.batchSize()).seed(seed).augment(augs).progressSeconds(-1);
            Trainer t = new Trainer(tape, opt, tc);
            for (int e = 1; e <= cfg.epochs(); e++) t.epoch(tr, null, e);
            acc[r] = Trainer.evaluate(tape, te, 500);
            if (progress != null) progress.printf(Locale.ROOT, "eval: run %d/%d accuracy %.4f%n", r + 1, cfg.runs(), acc[r]);
        }
        double mean = java.util.Arrays.stream(acc).average().orElse(0);
        double var = java.util.Arrays.stream(acc).map(a -> (a - mean) * (a - mean)).average().orElse(0);
        return new Result(acc, mean, Math.sqrt(var));
    }
}
