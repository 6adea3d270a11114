package io.condense.recipe.stages;

import io.condense.ir.Graph;
import io.condense.recipe.Stage;
import io.condense.recipe.StageContext;
import io.condense.train.LrSchedule;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import io.condense.train.Trainer;

/** {@code fine-tune}: trains the model on the labelled training data (cross-entropy) and returns the trained float model. */
public final class FineTuneStage implements Stage<FineTuneStage.Config> {
    /**
     * @param epochs    epochs
     * @param lr        learning rate
     * @param optimizer sgd | nesterov | adam | adamw
     * @param batchSize mini-batch size
     * @param limit     training samples used (0 = all)
     * @param maxSteps  steps per epoch at most (0 = a full epoch)
     * @param keepZeros weights that are exactly zero (pruned) stay zero (default true; weights with under 10% zeros are not masked)
     */
    public record Config(Integer epochs, Double lr, String optimizer, Integer batchSize, Integer limit, Integer maxSteps, Boolean keepZeros) {
        public Config {
            epochs = epochs == null ? 1 : epochs;
            lr = lr == null ? 1e-3 : lr;
            optimizer = optimizer == null ? "adam" : optimizer;
            batchSize = batchSize == null ? 64 : batchSize;
            limit = limit == null ? 0 : limit;
            maxSteps = maxSteps == null ? 0 : maxSteps;
            keepZeros = keepZeros == null || keepZeros;
            if (epochs < 1 || batchSize < 1 || limit < 0 || maxSteps < 0 || !(lr > 0)) {
                throw new IllegalArgumentException("epochs and batch_size must be >= 1, lr > 0, limit and max_steps >= 0");
            }
            if (!java.util.List.of("sgd", "sgd-plain", "nesterov", "adam", "adamw").contains(optimizer)) {
                throw new IllegalArgumentException("optimizer must be one of sgd, sgd-plain, nesterov, adam, adamw; got " + optimizer);
            }
        }
    }

    @Override public String name() { return "fine-tune"; }

    @Override public Class<Config> configType() { return Config.class; }

    @Override public Config defaults() { return new Config(null, null, null, null, null, null, null); }

    @Override public boolean needsTrainingData() { return true; }

    @Override public String method(Config c) { return "train/fine-tune"; }

    @Override
    public Graph apply(StageContext ctx, Graph input, Config c) {
        var train = ctx.data().trainSet();
        if (c.limit() > 0) train = train.head(c.limit());
        Tape tape = new Tape(input, Tape.weights(input), org.nd4j.linalg.api.buffer.DataType.FLOAT, ctx.seed());
        long steps = (long) c.epochs() * (c.maxSteps() > 0 ? c.maxSteps() : (train.size() + c.batchSize() - 1) / c.batchSize());
        Optimizer opt = Optimizer.of(c.optimizer(), c.lr()).schedule(LrSchedule.cosine(Math.max(1, steps), 0));
        if (c.keepZeros()) {
            for (var e : tape.parameters().entrySet()) {
                org.nd4j.linalg.api.ndarray.INDArray p = e.getValue();
                org.nd4j.linalg.api.ndarray.INDArray mask = p.neq(0).castTo(p.dataType());
                if (p.length() > 0 && mask.sumNumber().doubleValue() < 0.9 * p.length()) opt.mask(e.getKey(), mask); // pruned: keep the zeros
            }
        }
        Trainer.Config tc = new Trainer.Config().epochs(c.epochs()).batchSize(c.batchSize()).seed(ctx.seed()).maxStepsPerEpoch(c.maxSteps())
                .out(ctx.log()).progressSeconds(10);
        new Trainer(tape, opt, tc).fit(train, null);
        return tape.toGraph();
    }
}
