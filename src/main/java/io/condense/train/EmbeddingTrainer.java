package io.condense.train;

import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.data.text.TextBatch;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Trains a text model (a {@link Tape} over e.g. a fake-quantized or layer-dropped BERT) to reproduce a teacher's
 * mean-pooled sentence embeddings: loss {@link Losses#pooledEmbedding} (MSE or cosine) between the student's pooled
 * first output and the teacher's, on tokenized batches. Used by QAT of sentence-embedding models and by layer-drop
 * distillation.
 */
public final class EmbeddingTrainer {
    private EmbeddingTrainer() {}

    public enum LossKind { MSE, COSINE }

    /**
     * @param steps  optimizer steps (the batches are cycled)
     * @param loss   MSE or cosine on pooled embeddings
     * @param progressSeconds print the running loss every so many seconds (negative: never)
     */
    public record Config(int steps, LossKind loss, double progressSeconds) {
        public Config {
            if (steps < 0) throw new ModelException("steps must be >= 0, got " + steps);
            if (loss == null) loss = LossKind.MSE;
        }
    }

    /** Loss of every step, in order (before that step's update). */
    public record History(double[] losses) {
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

    /** The teacher's pooled embeddings [batch, dim] of every batch, run on the CPU inference backend. */
    public static List<INDArray> teacherEmbeddings(Graph teacher, List<TextBatch> batches) {
        List<INDArray> out = new ArrayList<>(batches.size());
        String first = teacher.outputs().get(0).name();
        try (Session s = Backends.cpu().open(teacher)) {
            for (TextBatch b : batches) {
                Tensor y = s.run(b.feeds(teacher.inputs())).get(first);
                INDArray h = Arrays2.toNd(y, DataType.FLOAT);
                out.add(h.rank() == 3 ? Losses.meanPool(h, mask(b)) : h);
            }
        }
        return out;
    }

    public static INDArray mask(TextBatch b) {
        long[][] m = b.mask();
        float[] f = new float[m.length * (m.length == 0 ? 0 : m[0].length)];
        int k = 0;
        for (long[] row : m) for (long v : row) f[k++] = v;
        return Nd4j.create(f, new long[] {m.length, m.length == 0 ? 0 : m[0].length}, 'c');
    }

    /** Mean loss of the student on the batches, no update (evaluation). */
    public static double evaluate(Tape student, List<TextBatch> batches, List<INDArray> targets, LossKind loss) {
        double s = 0;
        for (int i = 0; i < batches.size(); i++) {
            TextBatch b = batches.get(i);
            INDArray h = student.infer(feeds(student, b)).get(student.graph().outputs().get(0).name());
            s += Losses.pooledEmbedding(h, mask(b), targets.get(i), loss == LossKind.COSINE).value();
        }
        return s / batches.size();
    }

    /** {@code cfg.steps()} optimizer steps of the student towards the targets, cycling through the batches. */
    public static History fit(Tape student, Optimizer opt, List<TextBatch> batches, List<INDArray> targets, Config cfg, PrintStream progress) {
        if (batches.isEmpty()) throw new ModelException("no training batches");
        if (targets.size() != batches.size()) throw new IllegalArgumentException("one target per batch");
        String out = student.graph().outputs().get(0).name();
        double[] losses = new double[cfg.steps()];
        long t0 = System.nanoTime(), last = t0;
        for (int step = 0; step < cfg.steps(); step++) {
            TextBatch b = batches.get(step % batches.size());
            INDArray h = student.forward(feeds(student, b), true).get(out);
            Losses.Loss l = Losses.pooledEmbedding(h, mask(b), targets.get(step % batches.size()), cfg.loss() == LossKind.COSINE);
            if (!Double.isFinite(l.value())) throw new ModelException("loss became " + l.value() + " at step " + step + " (lower the learning rate)");
            losses[step] = l.value();
            Map<String, INDArray> grads = student.backward(Map.of(out, l.grad()));
            opt.step(student.parameters(), grads);
            long now = System.nanoTime();
            if (progress != null && cfg.progressSeconds() >= 0 && (now - last) / 1e9 >= cfg.progressSeconds()) {
                progress.printf(Locale.ROOT, "  step %d/%d  loss %.6g  (%.0f s)%n", step + 1, cfg.steps(), l.value(), (now - t0) / 1e9);
                last = now;
            }
        }
        return new History(losses);
    }

    public static Map<String, INDArray> feeds(Tape t, TextBatch b) {
        Map<String, INDArray> m = new HashMap<>();
        for (Map.Entry<String, Tensor> e : b.feeds(t.graph().inputs()).entrySet()) m.put(e.getKey(), Arrays2.toNd(e.getValue(), t.dtype()));
        return m;
    }
}
