package io.condense.distill;

import io.condense.data.Augmentation;
import io.condense.data.Dataset;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.train.LrSchedule;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import io.condense.train.Trainer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Knowledge distillation: trains a student graph on a data set with a sum of {@link LossTerm}s that compare it
 * with a {@link Teacher} (soft targets, hints, embeddings) and with the hard labels. The student is any graph the
 * training tape runs: a built-in architecture, an imported ONNX model, a pruned model ({@code keepZeros} keeps its
 * zeros exactly zero) or a QAT training graph (pass its {@link Tape}, e.g. {@code Qat.tape(training)}).
 */
public final class Distiller {
    /**
     * @param optimizer sgd (momentum 0.9) | nesterov | adam | adamw
     * @param jitter random-crop padding for the student's inputs (0 = none; disables the teacher cache)
     * @param keepZeros keep zero weights of rank >= 2 parameters at zero (pruned students)
     */
    public record Config(int epochs, int batchSize, double lr, String optimizer, double weightDecay, int jitter, boolean keepZeros,
                         long seed, double progressSeconds) {
        public Config {
            if (epochs <= 0) throw new ModelException("--epochs must be positive, got " + epochs);
            if (batchSize <= 0) throw new ModelException("--batch-size must be positive, got " + batchSize);
            if (!(lr > 0)) throw new ModelException("--lr must be positive, got " + lr);
            if (jitter < 0) throw new ModelException("jitter must be >= 0");
        }
    }

    /** Per-epoch loss and test accuracy. */
    public record Epoch(int epoch, double loss, double testAccuracy, double seconds) {}

    private final Config cfg;
    private final PrintStream progress;
    private final List<Epoch> history = new ArrayList<>();

    public Distiller(Config cfg, PrintStream progress) {
        this.cfg = cfg;
        this.progress = progress;
    }

    public List<Epoch> history() { return history; }

    /** Hinton's loss: alpha * T^2 * KL(teacher/T || student/T) + (1 - alpha) * CE(labels), on the first outputs. */
    public static List<LossTerm> hinton(Graph student, Graph teacher, double temperature, double alpha) {
        if (alpha < 0 || alpha > 1) throw new ModelException("--alpha must be in [0, 1], got " + alpha);
        String s = student.outputs().get(0).name(), t = teacher.outputs().get(0).name();
        List<LossTerm> terms = new ArrayList<>();
        if (alpha > 0) terms.add(new KdTerm(s, t, temperature, alpha));
        if (alpha < 1) terms.add(new HardLabelTerm(s, 1 - alpha));
        return terms;
    }

    /** Distills into {@code student} (float32 tape over all its floating parameters) and returns the trained graph. */
    public Graph distill(Graph student, Teacher teacher, List<LossTerm> terms, Dataset train, Dataset test) {
        Tape tape = new Tape(student, io.condense.train.Tape.weights(student), DataType.FLOAT, cfg.seed());
        distill(tape, teacher, terms, train, test);
        return tape.toGraph();
    }

    /** Distills into the parameters of {@code tape} (e.g. a QAT training graph's tape); returns the tape's graph. */
    public Graph distill(Tape tape, Teacher teacher, List<LossTerm> terms, Dataset train, Dataset test) {
        Graph student = tape.graph();
        if (student.inputs().size() != 1) throw new ModelException("the student must have one input, it has " + student.inputs().size());
        if (terms.isEmpty()) throw new ModelException("no loss terms");
        String in = student.inputs().get(0).name();
        checkShapes(tape, teacher, terms, train, cfg.batchSize());
        long perEpoch = (train.size() + cfg.batchSize() - 1) / cfg.batchSize();
        Optimizer opt = Optimizer.of(cfg.optimizer(), cfg.lr()).weightDecay(cfg.weightDecay())
                .schedule(LrSchedule.cosine(Math.max(1, perEpoch * cfg.epochs()), 0));
        if (cfg.keepZeros()) {
            for (Map.Entry<String, INDArray> e : tape.parameters().entrySet()) {
                INDArray p = e.getValue();
                if (p.rank() >= 2 && p.eq(0).castTo(DataType.INT32).sumNumber().longValue() > 0) opt.mask(e.getKey(), p.neq(0).castTo(p.dataType()));
            }
        }
        // term parameters (hint projections) get their own optimizer state
        Optimizer termOpt = Optimizer.of(cfg.optimizer(), cfg.lr()).schedule(LrSchedule.cosine(Math.max(1, perEpoch * cfg.epochs()), 0));
        long[] shape = train.sampleShape();
        int ss = (int) java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        Augmentation jit = cfg.jitter() > 0 ? Augmentation.randomCrop(cfg.jitter()) : null;
        List<String> need = new ArrayList<>();
        for (LossTerm t : terms) for (String s : t.teacherTensors()) if (!need.contains(s)) need.add(s);
        SplittableRandom rnd = new SplittableRandom(cfg.seed());
        int[] all = new int[train.size()];
        for (int i = 0; i < all.length; i++) all[i] = i;
        for (int e = 1; e <= cfg.epochs(); e++) {
            long t0 = System.nanoTime(), last = t0;
            tape.reseed(cfg.seed() * 1_000_003L + e);
            int[] order = io.condense.dataset.Coresets.sample(all, all.length, rnd);
            double lossSum = 0;
            long seen = 0;
            for (int s = 0; s < order.length; s += cfg.batchSize()) {
                int m = Math.min(cfg.batchSize(), order.length - s);
                float[] x = new float[m * ss];
                int[] y = new int[m], ids = new int[m];
                for (int i = 0; i < m; i++) {
                    ids[i] = order[s + i];
                    System.arraycopy(train.sample(ids[i]), 0, x, i * ss, ss);
                    y[i] = train.label(ids[i]);
                    if (jit != null) jit.apply(x, i * ss, shape, rnd);
                }
                INDArray xb = Nd4j.create(x, batch(m, shape), 'c');
                Map<String, INDArray> tv = need.isEmpty() ? Map.of() : teacher.run(xb, jit == null ? ids : null, tape.dtype());
                tape.forward(Map.of(in, xb), true);
                Map<String, INDArray> sv = new HashMap<>();
                for (LossTerm t : terms) for (String n : t.studentTensors()) sv.put(n, tape.value(n));
                double loss = 0;
                Map<String, INDArray> grads = new LinkedHashMap<>();
                Map<String, INDArray> tParams = new LinkedHashMap<>(), tGrads = new LinkedHashMap<>();
                for (LossTerm t : terms) {
                    LossTerm.Value v = t.apply(sv, tv, y);
                    loss += v.value();
                    v.studentGrads().forEach((k, g) -> grads.merge(k, g, INDArray::add));
                    tParams.putAll(t.parameters());
                    tGrads.putAll(v.paramGrads());
                }
                if (!Double.isFinite(loss)) throw new ModelException(String.format(Locale.ROOT, "distillation diverged at epoch %d (loss %s); lower --lr", e, loss));
                opt.step(tape.parameters(), tape.backward(grads));
                if (!tParams.isEmpty()) termOpt.step(tParams, tGrads);
                lossSum += loss * m;
                seen += m;
                long now = System.nanoTime();
                if (progress != null && cfg.progressSeconds() > 0 && (now - last) / 1e9 >= cfg.progressSeconds()) {
                    last = now;
                    progress.printf(Locale.ROOT, "distill: epoch %d [%d/%d] loss %.4f%n", e, seen, order.length, lossSum / seen);
                }
            }
            double acc = test == null ? Double.NaN : Trainer.evaluate(tape, test, 500);
            double secs = (System.nanoTime() - t0) / 1e9;
            history.add(new Epoch(e, lossSum / Math.max(1, seen), acc, secs));
            if (progress != null && cfg.progressSeconds() >= 0) {
                progress.printf(Locale.ROOT, "distill: epoch %d/%d loss %.4f%s %.1fs%n", e, cfg.epochs(), lossSum / Math.max(1, seen),
                        test == null ? "" : String.format(Locale.ROOT, " test acc %.4f (%d errors)", acc, Math.round((1 - acc) * test.size())), secs);
            }
        }
        return tape.toGraph();
    }

    /** One small forward of both models, so that incompatible outputs fail with one line before training. */
    private static void checkShapes(Tape tape, Teacher teacher, List<LossTerm> terms, Dataset train, int batchSize) {
        long[] shape = train.sampleShape();
        int n = Math.min(Math.min(2, batchSize), train.size());
        int ss = (int) java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        float[] x = new float[n * ss];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(train.sample(i), 0, x, i * ss, ss);
            y[i] = train.label(i);
        }
        INDArray xb = Nd4j.create(x, batch(n, shape), 'c');
        List<String> need = new ArrayList<>();
        for (LossTerm t : terms) need.addAll(t.teacherTensors());
        Map<String, INDArray> tv = need.isEmpty() ? Map.of() : teacher.run(xb, null, tape.dtype());
        tape.infer(Map.of(tape.graph().inputs().get(0).name(), xb));
        Map<String, INDArray> sv = new HashMap<>();
        for (LossTerm t : terms) {
            for (String s : t.studentTensors()) {
                INDArray v = tape.value(s);
                if (v == null) throw new ModelException("the student has no tensor '" + s + "'");
                sv.put(s, v);
            }
        }
        for (LossTerm t : terms) t.apply(sv, tv, y);
        // HintTerm creates its projection on first use: that is intended (the widths are known now)
    }

    static long[] batch(int n, long[] sample) {
        long[] s = new long[sample.length + 1];
        s[0] = n;
        System.arraycopy(sample, 0, s, 1, sample.length);
        return s;
    }
}
