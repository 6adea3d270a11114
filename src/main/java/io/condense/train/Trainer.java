package io.condense.train;

import io.condense.data.Augmentation;
import io.condense.data.Dataset;
import io.condense.ir.ModelException;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Supervised training loop: shuffled mini-batches, softmax cross-entropy (or a custom loss), optimizer steps,
 * per-epoch evaluation and progress lines. Deterministic for a fixed seed (shuffle, augmentation and Dropout
 * draw from seeded streams; ND4J CPU ops are deterministic for a fixed thread count).
 */
public final class Trainer {
    /** Computes a loss from the model outputs for a batch (default: cross-entropy on the first output). */
    @FunctionalInterface
    public interface LossFn { Losses.Loss apply(INDArray logits, Dataset.Batch batch); }

    public static final class Config {
        public int epochs = 1;
        public int batchSize = 64;
        public long seed = 0;
        public double labelSmoothing = 0;
        public List<Augmentation> augment = List.of();
        /** Stop an epoch after this many steps (0 = whole epoch); for smoke tests. */
        public long maxStepsPerEpoch = 0;
        /** Seconds between progress lines (0 = only per-epoch summaries; negative = silent). */
        public double progressSeconds = 5;
        public PrintStream out = System.out;
        public LossFn loss;

        public Config epochs(int v) { epochs = v; return this; }
        public Config batchSize(int v) { batchSize = v; return this; }
        public Config seed(long v) { seed = v; return this; }
        public Config labelSmoothing(double v) { labelSmoothing = v; return this; }
        public Config augment(List<Augmentation> v) { augment = v; return this; }
        public Config maxStepsPerEpoch(long v) { maxStepsPerEpoch = v; return this; }
        public Config progressSeconds(double v) { progressSeconds = v; return this; }
        public Config out(PrintStream v) { out = v; return this; }
        public Config loss(LossFn v) { loss = v; return this; }
    }

    /** {@code cpuSeconds}: CPU time the whole process used during the epoch's training steps (all threads). */
    public record EpochStats(int epoch, double loss, double trainAccuracy, double testAccuracy, double seconds, double imagesPerSecond,
                             double cpuSeconds) {}

    static double processCpuSeconds() {
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) return sun.getProcessCpuTime() / 1e9;
        return Double.NaN;
    }

    private final Tape tape;
    private final Optimizer optimizer;
    private final Config cfg;
    private final String input, output;

    public Trainer(Tape tape, Optimizer optimizer, Config cfg) {
        this.tape = tape;
        this.optimizer = optimizer;
        this.cfg = cfg;
        if (tape.graph().inputs().size() != 1) throw new ModelException("training needs a model with one input, this one has " + tape.graph().inputs().size());
        this.input = tape.graph().inputs().get(0).name();
        this.output = tape.graph().outputs().get(0).name();
        optimizer.applyMasks(tape.parameters());
    }

    public Tape tape() { return tape; }

    /** Trains for {@code cfg.epochs}; evaluates on {@code test} (may be null) after each epoch. */
    public List<EpochStats> fit(Dataset train, Dataset test) {
        List<EpochStats> all = new ArrayList<>();
        for (int e = 1; e <= cfg.epochs; e++) {
            EpochStats s = epoch(train, test, e);
            all.add(s);
        }
        return all;
    }

    private void log(String fmt, Object... args) {
        if (cfg.progressSeconds >= 0 && cfg.out != null) cfg.out.println(String.format(Locale.ROOT, fmt, args));
    }

    /** One pass over {@code train}. */
    public EpochStats epoch(Dataset train, Dataset test, int epoch) {
        long t0 = System.nanoTime(), lastLog = t0;
        double cpu0 = processCpuSeconds();
        double lossSum = 0;
        long seen = 0, correct = 0, step = 0;
        tape.reseed(cfg.seed * 1_000_003L + epoch);
        long tData = tape.now();
        for (Dataset.Batch b : train.batches(cfg.batchSize, true, cfg.seed * 1_000_003L + epoch, false, cfg.augment)) {
            tape.record("(data)", 0, tape.now() - tData);
            Map<String, INDArray> out = tape.forward(Map.of(input, b.x()), true);
            INDArray logits = out.get(output);
            Losses.Loss l = cfg.loss != null ? cfg.loss.apply(logits, b) : Losses.softmaxCrossEntropy(logits, b.labels(), cfg.labelSmoothing);
            step++;
            if (!Double.isFinite(l.value())) {
                throw new ModelException(String.format(Locale.ROOT, "training diverged: loss is %s at epoch %d, step %d (learning rate %.3g); lower the learning rate",
                        Double.isNaN(l.value()) ? "NaN" : "infinite", epoch, step, optimizer.currentLr()));
            }
            Map<String, INDArray> grads = tape.backward(Map.of(output, l.grad()));
            long tOpt = tape.now();
            optimizer.step(tape.parameters(), grads);
            tape.record("(optimizer)", 1, tape.now() - tOpt);
            lossSum += l.value() * b.size();
            correct += Losses.correct(logits, b.labels());
            seen += b.size();
            long now = System.nanoTime();
            if (cfg.progressSeconds > 0 && (now - lastLog) / 1e9 >= cfg.progressSeconds) {
                lastLog = now;
                log("epoch %d [%6d/%d] loss %.4f acc %.4f %.0f img/s", epoch, seen, train.size(), lossSum / seen,
                        (double) correct / seen, seen / ((now - t0) / 1e9));
            }
            if (cfg.maxStepsPerEpoch > 0 && step >= cfg.maxStepsPerEpoch) break;
            tData = tape.now();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        double cpu = processCpuSeconds() - cpu0;
        double testAcc = test == null ? Double.NaN : evaluate(tape, test, Math.max(cfg.batchSize, 256));
        EpochStats s = new EpochStats(epoch, lossSum / Math.max(1, seen), (double) correct / Math.max(1, seen), testAcc, secs, seen / secs, cpu);
        log("epoch %d/%d: loss %.4f train acc %.4f%s  %.1fs (%.0f img/s, %.1f cpu-s)", epoch, cfg.epochs, s.loss(), s.trainAccuracy(),
                test == null ? "" : String.format(Locale.ROOT, " test acc %.4f", testAcc), secs, s.imagesPerSecond(), cpu);
        return s;
    }

    /** Accuracy of the graph's first output on {@code data} (inference mode). */
    public static double evaluate(Tape tape, Dataset data, int batchSize) {
        String in = tape.graph().inputs().get(0).name(), out = tape.graph().outputs().get(0).name();
        long correct = 0;
        for (Dataset.Batch b : data.batches(batchSize)) {
            INDArray logits = tape.infer(Map.of(in, b.x())).get(out);
            correct += Losses.correct(logits, b.labels());
        }
        return (double) correct / data.size();
    }
}
