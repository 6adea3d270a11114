package io.condense.prune;

import io.condense.data.Dataset;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.train.Arrays2;
import io.condense.train.LrSchedule;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import io.condense.train.Trainer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.DoubleFunction;

/**
 * Pruning interleaved with training:
 * <ul>
 * <li>{@link Kind#ONESHOT}: prune to the target, then fine-tune;</li>
 * <li>{@link Kind#ITERATIVE}: {@code iterations} rounds of prune -> fine-tune, the kept fraction shrinking
 * geometrically ({@code s_i = 1 - (1 - s)^(i/k)}, Han et al. 2015);</li>
 * <li>{@link Kind#AGP}: Zhu and Gupta's (2017) gradual schedule
 * {@code s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3}, the masks recomputed every {@code dt = frequency} training
 * steps over the first {@code pruneFraction} of training, then training at the final masks.</li>
 * </ul>
 * Masked weights stay exactly zero through every optimizer step (Optimizer masks). The model with the best accuracy
 * on the validation data (measured at the final sparsity only) is returned.
 */
public final class PruneSchedule {
    public enum Kind { ONESHOT, ITERATIVE, AGP }

    /**
     * @param epochs         fine-tuning epochs in total (0: prune only; ONESHOT alone allows 0)
     * @param iterations     ITERATIVE rounds
     * @param initialSparsity AGP s_i
     * @param pruneFraction  AGP: fraction of the training steps over which sparsity ramps up (n dt)
     * @param frequency      AGP: steps between mask updates (dt; 0 = a quarter epoch)
     * @param optimizer      Optimizer.of name (sgd = momentum 0.9)
     */
    public record Config(Kind kind, int epochs, int iterations, double initialSparsity, double pruneFraction, int frequency,
                         double lr, String optimizer, double weightDecay, int batchSize, long seed) {
        public Config {
            if (kind == null) kind = Kind.ONESHOT;
            if (epochs < 0) throw new ModelException("fine-tune epochs must be >= 0, got " + epochs);
            if (kind != Kind.ONESHOT && epochs == 0) throw new ModelException(kind.name().toLowerCase(Locale.ROOT) + " pruning needs fine-tune epochs > 0");
            if (iterations < 1) throw new ModelException("iterations must be >= 1, got " + iterations);
            PruneConfig.checkSparsity(initialSparsity, "initial sparsity");
            if (!(pruneFraction > 0 && pruneFraction <= 1)) throw new ModelException("prune fraction must be in (0, 1], got " + pruneFraction);
            if (frequency < 0) throw new ModelException("frequency must be >= 0");
            if (!(lr > 0)) throw new ModelException("learning rate must be positive, got " + lr);
            if (weightDecay < 0) throw new ModelException("weight decay must be >= 0");
            if (batchSize < 1) throw new ModelException("batch size must be >= 1");
        }

        public static Config oneShot(int epochs, double lr) { return new Config(Kind.ONESHOT, epochs, 1, 0, 0.7, 0, lr, "sgd", 0, 64, 1); }

        public Config with(Kind k, int iters) {
            return new Config(k, epochs, iters, initialSparsity, pruneFraction, frequency, lr, optimizer, weightDecay, batchSize, seed);
        }
    }

    /** The best model, its validation accuracy, and one line per epoch / stage. */
    public record Result(Graph best, double bestValidationAccuracy, double finalSparsity, List<String> log, PrunePass lastPass) {}

    private PruneSchedule() {}

    /**
     * @param pass       the pruning pass for a target sparsity (the sparsity argument is ignored for N:M)
     * @param validation held-out labelled data for choosing the checkpoint (may be null: the last model is kept)
     */
    public static Result run(Graph g, double sparsity, DoubleFunction<PrunePass> pass, Config cfg, Dataset train, Dataset validation,
                             PrintStream out) {
        PruneConfig.checkSparsity(sparsity, "sparsity");
        List<String> log = new ArrayList<>();
        if (cfg.epochs() == 0) {
            PrunePass p = pass.apply(sparsity);
            Graph r = p.apply(g);
            return new Result(r, Double.NaN, p.overallSparsity(), log, p);
        }
        if (train == null) throw new ModelException("fine-tuning needs training data (--data DIR)");
        Tape tape = new Tape(g, io.condense.train.Tape.weights(g), DataType.FLOAT, cfg.seed());
        long spe = (train.size() + cfg.batchSize() - 1) / cfg.batchSize();
        long total = cfg.epochs() * spe;
        Optimizer opt = Optimizer.of(cfg.optimizer(), cfg.lr()).weightDecay(cfg.weightDecay()).schedule(LrSchedule.cosine(total, 0));
        int chunk = cfg.kind() == Kind.AGP ? (cfg.frequency() > 0 ? cfg.frequency() : (int) Math.max(1, spe / 4)) : 0;
        Trainer.Config tc = new Trainer.Config().epochs(1).batchSize(cfg.batchSize()).seed(cfg.seed()).progressSeconds(-1).maxStepsPerEpoch(chunk);
        Trainer trainer = new Trainer(tape, opt, tc);
        Best best = new Best();
        PrunePass last = null;
        switch (cfg.kind()) {
            case ONESHOT, ITERATIVE -> {
                int k = cfg.kind() == Kind.ONESHOT ? 1 : cfg.iterations();
                int epochIndex = 0;
                for (int it = 1; it <= k; it++) {
                    double s = k == 1 ? sparsity : 1 - Math.pow(1 - sparsity, (double) it / k);
                    last = pass.apply(s);
                    prune(tape, opt, last);
                    int ep = it < k ? Math.max(1, cfg.epochs() / k) : Math.max(1, cfg.epochs() - (k - 1) * Math.max(1, cfg.epochs() / k));
                    line(out, log, String.format(Locale.ROOT, "stage %d/%d: pruned to %.4f sparsity (%s), fine-tuning %d epochs", it, k, last.overallSparsity(), last.config().criterion(), ep));
                    for (int e = 0; e < ep; e++) {
                        epochIndex++;
                        Trainer.EpochStats st = trainer.epoch(train, null, epochIndex);
                        double va = validation == null ? Double.NaN : Trainer.evaluate(tape, validation, 256);
                        line(out, log, String.format(Locale.ROOT, "epoch %d: loss %.4f train acc %.4f val acc %.4f sparsity %.4f", epochIndex, st.loss(),
                                st.trainAccuracy(), va, last.overallSparsity()));
                        if (it == k) best.offer(tape, va, last.overallSparsity(), last);
                    }
                }
            }
            case AGP -> {
                // the last update (j = n) must happen before training ends: n dt < total
                long nSteps = Math.max(1, Math.min(Math.round(cfg.pruneFraction() * total / chunk), (total - 1) / chunk));
                long done = 0, sinceEval = 0;
                int ci = 0;
                double si = cfg.initialSparsity();
                while (done < total) {
                    long j = done / chunk;
                    if (j <= nSteps && done % chunk == 0) {
                        double frac = Math.min(1.0, (double) j / nSteps);
                        double s = sparsity + (si - sparsity) * Math.pow(1 - frac, 3);
                        if (s > 0 || j == nSteps) {
                            last = pass.apply(s);
                            prune(tape, opt, last);
                        }
                    }
                    Trainer.EpochStats st = trainer.epoch(train, null, ++ci);
                    long steps = Math.min(chunk, total - done);
                    done += steps;
                    sinceEval += steps;
                    boolean atFinal = done / chunk > nSteps;
                    if (sinceEval >= spe || done >= total) {
                        sinceEval = 0;
                        double va = validation == null ? Double.NaN : Trainer.evaluate(tape, validation, 256);
                        line(out, log, String.format(Locale.ROOT, "step %d/%d: loss %.4f val acc %.4f sparsity %.4f", done, total, st.loss(), va,
                                last == null ? 0 : last.overallSparsity()));
                        if (atFinal) best.offer(tape, va, last.overallSparsity(), last);
                    }
                }
                if (best.graph == null) best.offer(tape, validation == null ? Double.NaN : Trainer.evaluate(tape, validation, 256), last.overallSparsity(), last);
            }
        }
        return new Result(best.graph, best.acc, best.sparsity, log, last);
    }

    private static final class Best {
        Graph graph;
        double acc = Double.NEGATIVE_INFINITY, sparsity;

        PrunePass pass;

        void offer(Tape tape, double va, double s, PrunePass p) {
            if (graph == null || Double.isNaN(va) || va > acc) {
                graph = positiveZeros(tape.toGraph(), p);
                acc = va;
                sparsity = s;
            }
        }
    }

    /** Masked weights as +0.0 (the optimizer's multiply by the mask leaves -0.0 where a weight was negative). */
    static Graph positiveZeros(Graph g, PrunePass p) {
        Graph.Builder b = g.toBuilder();
        for (Map.Entry<String, Tensor> m : p.masks().entrySet()) {
            Tensor t = g.initializers().get(m.getKey());
            float[] w = t.toFloatArray().clone(), k = m.getValue().toFloatArray();
            for (int i = 0; i < w.length; i++) if (k[i] == 0f || w[i] == 0f) w[i] = 0f;
            b.initializer(m.getKey(), Tensor.of(w, t.shape()));
        }
        return b.build();
    }

    /** Prunes the tape's current weights with {@code p} and installs the masks in the optimizer. */
    static void prune(Tape tape, Optimizer opt, PrunePass p) {
        Graph pruned = p.apply(tape.toGraph());
        for (Map.Entry<String, Tensor> m : p.masks().entrySet()) {
            INDArray w = tape.parameters().get(m.getKey());
            if (w == null) throw new ModelException("pruned weight '" + m.getKey() + "' is not a trainable parameter");
            w.assign(Arrays2.toNd(pruned.initializers().get(m.getKey()), w.dataType()).reshape(w.shape()));
            opt.mask(m.getKey(), Arrays2.toNd(m.getValue(), w.dataType()).reshape(w.shape()));
        }
        opt.applyMasks(tape.parameters());
    }

    /** Splits off the last {@code n} samples as validation data: {train, validation}. */
    public static Dataset[] split(Dataset d, int n) {
        if (n <= 0 || n >= d.size()) throw new ModelException("validation split of " + n + " does not fit " + d.size() + " samples");
        int keep = d.size() - n, ss = d.sample(0).length;
        float[] a = new float[keep * ss], b = new float[n * ss];
        int[] la = new int[keep], lb = new int[n];
        for (int i = 0; i < d.size(); i++) {
            float[] s = d.sample(i);
            if (i < keep) {
                System.arraycopy(s, 0, a, i * ss, ss);
                la[i] = d.label(i);
            } else {
                System.arraycopy(s, 0, b, (i - keep) * ss, ss);
                lb[i - keep] = d.label(i);
            }
        }
        return new Dataset[] {new Dataset(a, la, d.sampleShape()), new Dataset(b, lb, d.sampleShape())};
    }

    private static void line(PrintStream out, List<String> log, String s) {
        log.add(s);
        if (out != null) out.println(s);
    }

}
