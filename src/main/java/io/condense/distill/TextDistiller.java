package io.condense.distill;

import io.condense.data.text.TextBatch;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.train.EmbeddingTrainer;
import io.condense.train.LrSchedule;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Embedding distillation of a sentence-embedding transformer: the student (a {@link LayerDrop} student, a
 * head/FFN-pruned model, any BERT-style graph with the teacher's inputs and embedding width) learns the teacher's
 * mean-pooled sentence embeddings on tokenized text with an {@link EmbeddingTerm} (MSE or cosine, attention-mask
 * aware pooling of the student's first output). The teacher runs once per batch on the CPU inference backend (its
 * pooled embeddings are fixed targets); the student trains with AdamW under a cosine learning-rate decay. Embedding
 * tables (the data inputs of Gather nodes: word, position and type embeddings) stay frozen unless
 * {@link Config#trainEmbeddings}: they hold half of MiniLM's parameters and change little. Scalar initializers
 * (epsilons, exponents, scale factors) are never trained.
 */
public final class TextDistiller {
    /** The key under which the batch's attention mask is passed to the loss term. */
    static final String MASK = "attention_mask#distill";

    /**
     * @param steps           optimizer steps (the training batches are cycled)
     * @param lr              AdamW peak learning rate (cosine decay to 0 over {@code steps})
     * @param loss            MSE or COSINE on mean-pooled embeddings
     * @param weightDecay     AdamW decoupled weight decay
     * @param trainEmbeddings also train the embedding tables
     * @param seed            seeds dropout masks of the student
     * @param progressSeconds print the running loss every so many seconds (negative: never)
     */
    public record Config(int steps, double lr, EmbeddingTerm.Kind loss, double weightDecay, boolean trainEmbeddings, long seed, double progressSeconds) {
        public Config {
            if (steps < 0) throw new ModelException("steps must be >= 0, got " + steps);
            if (!(lr > 0) || !Double.isFinite(lr)) throw new ModelException("lr must be positive, got " + lr);
            if (!(weightDecay >= 0)) throw new ModelException("weight decay must be >= 0, got " + weightDecay);
            if (loss == null) loss = EmbeddingTerm.Kind.COSINE;
        }
    }

    /** The trained student and the loss of every step (before that step's update). */
    public record Result(Graph student, double[] losses) {
        /** Mean loss of the first {@code k} steps. */
        public double first(int k) { return mean(0, Math.min(k, losses.length)); }

        /** Mean loss of the last {@code k} steps. */
        public double last(int k) { return mean(Math.max(0, losses.length - k), losses.length); }

        private double mean(int from, int to) {
            double s = 0;
            for (int i = from; i < to; i++) s += losses[i];
            return to > from ? s / (to - from) : Double.NaN;
        }
    }

    private final Config cfg;
    private final PrintStream progress;

    public TextDistiller(Config cfg, PrintStream progress) {
        this.cfg = cfg;
        this.progress = progress;
    }

    /**
     * The indices of {@code keep} of {@code layers} encoder layers, evenly spaced and ending with the last one
     * (6 layers, keep 3: 1, 3, 5, DistilBERT's "one layer out of two"; keep 2: 2, 5).
     */
    public static List<Integer> evenlySpaced(int layers, int keep) {
        if (keep < 1 || keep > layers) throw new ModelException("the student must keep between 1 and " + layers + " layers (the teacher's), got " + keep);
        List<Integer> k = new ArrayList<>();
        for (int i = 1; i <= keep; i++) k.add((int) Math.round((double) i * layers / keep) - 1);
        return k;
    }

    /** A student keeping {@code keep} of the teacher's encoder layers ({@link #evenlySpaced}), initialized from them. */
    public static Graph layerDropStudent(Graph teacher, int keep) {
        List<LayerDrop.Layer> layers = LayerDrop.layers(teacher, null);
        List<Integer> idx = new ArrayList<>();
        for (int i : evenlySpaced(layers.size(), keep)) idx.add(layers.get(i).index());
        return new LayerDrop(new LayerDrop.Config(idx)).apply(teacher);
    }

    /** Distills the teacher's pooled embeddings on {@code train} into {@code student}; returns the trained student. */
    public Result distill(Graph student, Graph teacher, List<TextBatch> train) {
        if (train.isEmpty()) throw new ModelException("no training sentences");
        List<INDArray> targets = EmbeddingTrainer.teacherEmbeddings(teacher, train);
        Set<String> tables = new HashSet<>();
        for (Node n : student.nodes()) if (n.opType().equals("Gather") && student.initializers().containsKey(n.input(0))) tables.add(n.input(0));
        // one-element initializers of elementwise ops are constants of the computation (Tape.weights)
        java.util.function.Predicate<String> weights = Tape.weights(student);
        Tape tape = new Tape(student, name -> (cfg.trainEmbeddings() || !tables.contains(name)) && weights.test(name),
                DataType.FLOAT, cfg.seed());
        String out = student.outputs().get(0).name();
        EmbeddingTerm term = new EmbeddingTerm(out, "teacher", cfg.loss(), 1.0, MASK);
        Optimizer opt = Optimizer.adamW(cfg.lr()).weightDecay(cfg.weightDecay()).schedule(LrSchedule.cosine(Math.max(1, cfg.steps()), 0));
        double[] losses = new double[cfg.steps()];
        long t0 = System.nanoTime(), last = t0;
        for (int step = 0; step < cfg.steps(); step++) {
            int i = step % train.size();
            TextBatch b = train.get(i);
            INDArray h = tape.forward(EmbeddingTrainer.feeds(tape, b), true).get(out);
            LossTerm.Value v = term.apply(Map.of(out, h, MASK, EmbeddingTrainer.mask(b)), Map.of("teacher", targets.get(i)), null);
            if (!Double.isFinite(v.value())) throw new ModelException("distillation loss became " + v.value() + " at step " + (step + 1) + " (lower the learning rate)");
            losses[step] = v.value();
            opt.step(tape.parameters(), tape.backward(v.studentGrads()));
            long now = System.nanoTime();
            if (progress != null && cfg.progressSeconds() >= 0 && ((now - last) / 1e9 >= cfg.progressSeconds() || step + 1 == cfg.steps())) {
                progress.printf(Locale.ROOT, "  step %d/%d  %s loss %.6g  (%.0f s)%n", step + 1, cfg.steps(), term.name(), v.value(), (now - t0) / 1e9);
                last = now;
            }
        }
        return new Result(tape.toGraph(), losses);
    }
}
