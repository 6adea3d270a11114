package io.condense.recipe.stages;

import io.condense.data.Dataset;
import io.condense.data.text.TextBatch;
import io.condense.distill.Distiller;
import io.condense.distill.EmbeddingTerm;
import io.condense.distill.Teacher;
import io.condense.distill.TextDistiller;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.onnx.OnnxImporter;
import io.condense.recipe.Stage;
import io.condense.recipe.StageContext;
import io.condense.recipe.TaskData;
import io.condense.recipe.TextTaskData;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code distill}: knowledge distillation, typically as the recovery stage after pruning. The teacher is the recipe's
 * input model (default), this stage's input ({@code previous}) or an ONNX file; the student is this stage's input,
 * or for text models that input with only {@code layers} of its encoder layers ({@link TextDistiller#layerDropStudent},
 * initialized from the kept layers as DistilBERT does).
 * <ul>
 *   <li>Image classifiers (--data): Hinton's loss alpha * T^2 * KL + (1 - alpha) * cross-entropy on the labelled
 *   training split ({@link Distiller}); zero weights stay zero ({@code keep_zeros}).</li>
 *   <li>Sentence-embedding models (--text): the teacher's mean-pooled embeddings on the recipe's calibration
 *   sentences (never the held-out ones the metric scores) with an {@link EmbeddingTerm} ({@link TextDistiller}).</li>
 * </ul>
 * Search dimensions: {@code layers} (fewest first) and {@code temperature}.
 */
public final class DistillStage implements Stage<DistillStage.Config> {
    /**
     * Keys left out take the defaults shown; keys for the other kind of data are rejected.
     *
     * @param teacher         input (the recipe's input model) | previous (this stage's input) | FILE.onnx
     * @param layers          text: encoder layers the student keeps, each a candidate (default: all, i.e. the stage's input)
     * @param temperature     images: softmax temperatures, each a candidate (default [4])
     * @param alpha           images: weight of the soft-target term in [0, 1] (default 0.9)
     * @param epochs          images: epochs (default 1)
     * @param optimizer       images: sgd | nesterov | adam | adamw (default adam)
     * @param keepZeros       images: zero weights stay zero (default true)
     * @param steps           text: optimizer steps (default 100)
     * @param loss            text: cosine | mse on mean-pooled embeddings (default cosine)
     * @param trainEmbeddings text: also train the embedding tables (default false)
     * @param lr              learning rate (default 1e-3 images, 1e-4 text; cosine decay)
     * @param batchSize       mini-batch size (default 64 images, 16 text)
     * @param limit           training images / sentences used (0 = all)
     */
    public record Config(String teacher, List<Integer> layers, List<Double> temperature, Double alpha, Integer epochs, String optimizer,
                         Boolean keepZeros, Integer steps, String loss, Boolean trainEmbeddings, Double lr, Integer batchSize, Integer limit) {
        public Config {
            teacher = teacher == null ? "input" : teacher;
            if (!teacher.equals("input") && !teacher.equals("previous") && !Files.isRegularFile(Path.of(teacher))) {
                throw new IllegalArgumentException("teacher: '" + teacher + "' is neither input, previous nor an existing model file");
            }
            if (layers != null) {
                layers = layers.stream().sorted().distinct().toList();
                for (int l : layers) if (l < 1) throw new IllegalArgumentException("layers values must be >= 1, got " + l);
                if (layers.isEmpty()) layers = null;
            }
            if (temperature != null) {
                temperature = temperature.stream().distinct().toList();
                for (double t : temperature) if (!(t > 0 && Double.isFinite(t))) throw new IllegalArgumentException("temperature values must be positive, got " + t);
                if (temperature.isEmpty()) temperature = null;
            }
            if (alpha != null && !(alpha >= 0 && alpha <= 1)) throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
            if (epochs != null && epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
            if (optimizer != null && !List.of("sgd", "nesterov", "adam", "adamw").contains(optimizer)) {
                throw new IllegalArgumentException("optimizer: '" + optimizer + "' is not allowed; allowed values: sgd, nesterov, adam, adamw");
            }
            if (steps != null && steps < 0) throw new IllegalArgumentException("steps must be >= 0, got " + steps);
            if (loss != null && !loss.equals("cosine") && !loss.equals("mse")) throw new IllegalArgumentException("loss: '" + loss + "' is not allowed; allowed values: cosine, mse");
            if (lr != null && !(lr > 0 && Double.isFinite(lr))) throw new IllegalArgumentException("lr must be positive, got " + lr);
            if (batchSize != null && batchSize < 1) throw new IllegalArgumentException("batch_size must be >= 1, got " + batchSize);
            if (limit != null && limit < 0) throw new IllegalArgumentException("limit must be >= 0, got " + limit);
        }

        Config with(Integer l, Double t) {
            return new Config(teacher, l == null ? null : List.of(l), t == null ? null : List.of(t), alpha, epochs, optimizer, keepZeros, steps, loss,
                    trainEmbeddings, lr, batchSize, limit);
        }

        /** The keys given that only image distillation reads. */
        List<String> imageKeys() {
            List<String> k = new ArrayList<>();
            if (temperature != null) k.add("temperature");
            if (alpha != null) k.add("alpha");
            if (epochs != null) k.add("epochs");
            if (optimizer != null) k.add("optimizer");
            if (keepZeros != null) k.add("keep_zeros");
            return k;
        }

        /** The keys given that only text distillation reads. */
        List<String> textKeys() {
            List<String> k = new ArrayList<>();
            if (layers != null) k.add("layers");
            if (steps != null) k.add("steps");
            if (loss != null) k.add("loss");
            if (trainEmbeddings != null) k.add("train_embeddings");
            return k;
        }
    }

    @Override public String name() { return "distill"; }

    @Override public Class<Config> configType() { return Config.class; }

    @Override public Config defaults() { return new Config(null, null, null, null, null, null, null, null, null, null, null, null, null); }

    @Override
    public List<Config> candidates(Config c) {
        List<Config> out = new ArrayList<>();
        List<Integer> ls = c.layers() == null ? java.util.Collections.singletonList(null) : c.layers();
        List<Double> ts = c.temperature() == null ? java.util.Collections.singletonList(null) : c.temperature();
        for (Integer l : ls) for (Double t : ts) out.add(c.with(l, t));
        return out;
    }

    @Override
    public String requirement(Config c, TaskData data) {
        if (data instanceof TextTaskData) {
            return c.imageKeys().isEmpty() ? null : "on text: " + String.join(", ", c.imageKeys()) + " only apply to image data (--data DIR)";
        }
        if (data.trainSet() == null) return "needs labelled training images (--data DIR) or text (--text FILE); " + data.describe() + " has neither";
        return c.textKeys().isEmpty() ? null : "on images: " + String.join(", ", c.textKeys()) + " only apply to text models (--text FILE)";
    }

    @Override
    public String label(Config c) {
        StringBuilder b = new StringBuilder("teacher=" + c.teacher());
        if (c.layers() != null) b.append(" layers=").append(c.layers().get(0));
        if (c.temperature() != null) b.append(" T=").append(c.temperature().get(0));
        return b.toString();
    }

    @Override public String method(Config c) { return c.layers() != null ? "distill/layer-drop-" + c.layers().get(0) : "distill"; }

    private static Graph teacher(StageContext ctx, Graph input, Config c) {
        return switch (c.teacher()) {
            case "input" -> ctx.inputModel();
            case "previous" -> input;
            default -> OnnxImporter.load(Path.of(c.teacher()));
        };
    }

    @Override
    public Graph apply(StageContext ctx, Graph input, Config c) {
        Graph t = teacher(ctx, input, c);
        if (ctx.data() instanceof TextTaskData) return onText(ctx, input, t, c);
        Dataset train = ctx.data().trainSet();
        if (c.limit() != null && c.limit() > 0) train = train.head(c.limit());
        double temperature = c.temperature() == null ? 4 : c.temperature().get(0), alpha = c.alpha() == null ? 0.9 : c.alpha();
        int bs = c.batchSize() == null ? 64 : c.batchSize();
        long fixed = fixedBatch(input);
        if (fixed > 0 && fixed != bs) {
            if (c.batchSize() != null) throw new ModelException("the model's input has a fixed batch size " + fixed + "; set batch_size: " + fixed + " or leave it out");
            bs = (int) fixed;
            ctx.log().println("  distill: the model's input has a fixed batch size " + fixed + ": training with batches of " + fixed);
        }
        Distiller.Config cfg = new Distiller.Config(c.epochs() == null ? 1 : c.epochs(), bs,
                c.lr() == null ? 1e-3 : c.lr(), c.optimizer() == null ? "adam" : c.optimizer(), 0, 0, c.keepZeros() == null || c.keepZeros(), ctx.seed(), 10);
        try (Teacher tt = new Teacher(t, List.of(t.outputs().get(0).name()), "cpu", true)) {
            return new Distiller(cfg, ctx.log()).distill(input, tt, Distiller.hinton(input, t, temperature, alpha), train, null);
        }
    }

    /** The fixed batch dimension of the first input, or 0 when it is symbolic (or unknown). */
    static long fixedBatch(Graph g) {
        var t = g.inputs().get(0).type();
        if (t == null || !t.hasRank() || t.dims().isEmpty()) return 0;
        var d = t.dims().get(0);
        return d.isKnown() ? d.value() : 0;
    }

    private static Graph onText(StageContext ctx, Graph input, Graph t, Config c) {
        Graph student = c.layers() == null ? input : TextDistiller.layerDropStudent(input, c.layers().get(0));
        int bs = c.batchSize() == null ? 16 : c.batchSize();
        int maxBatches = c.limit() == null || c.limit() == 0 ? 0 : (c.limit() + bs - 1) / bs;
        List<TextBatch> train = ctx.data().textBatches(t, bs, maxBatches);
        if (train == null || train.isEmpty()) throw new ModelException("no training sentences");
        TextDistiller.Config cfg = new TextDistiller.Config(c.steps() == null ? 100 : c.steps(), c.lr() == null ? 1e-4 : c.lr(),
                "mse".equals(c.loss()) ? EmbeddingTerm.Kind.MSE : EmbeddingTerm.Kind.COSINE, 0, Boolean.TRUE.equals(c.trainEmbeddings()), ctx.seed(), 10);
        ctx.log().printf(Locale.ROOT, "  distill: student %,d parameters (teacher %,d), %d steps on %d sentences%n", student.parameterCount(), t.parameterCount(),
                cfg.steps(), train.stream().mapToInt(TextBatch::size).sum());
        TextDistiller.Result r = new TextDistiller(cfg, ctx.log()).distill(student, t, train);
        ctx.fact("distill", java.util.Map.of("loss_first", r.first(Math.max(1, Math.min(10, cfg.steps() / 4))),
                "loss_last", r.last(Math.max(1, Math.min(10, cfg.steps() / 4))), "student_parameters", student.parameterCount()));
        return r.student();
    }
}
