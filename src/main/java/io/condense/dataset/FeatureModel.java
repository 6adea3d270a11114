package io.condense.dataset;

import io.condense.data.Dataset;
import io.condense.ir.ModelException;
import io.condense.train.LrSchedule;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import io.condense.train.Trainer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/**
 * A ConvNet trained on the (normalized) training split, whose {@code features} output is the embedding herding
 * and k-center work in. The papers use a ConvNet-3 trained on the whole set; {@code limit} and a smaller width
 * make that affordable on a CPU.
 */
public final class FeatureModel {
    /** @param limit train on the first N images only (0 = all) */
    public record Config(ConvNet.Spec net, int epochs, int limit, double lr, long seed) {
        public Config {
            if (epochs <= 0) throw new ModelException("feature model epochs must be positive, got " + epochs);
        }

        public static Config defaults(long seed) { return new Config(new ConvNet.Spec(32, 3, true), 1, 0, 0.01, seed); }
    }

    private final Tape tape;

    private FeatureModel(Tape tape) { this.tape = tape; }

    /** Trains on {@code normalized} (already normalized) data. */
    public static FeatureModel train(Dataset normalized, Config cfg, PrintStream progress) {
        Dataset d = cfg.limit() > 0 ? normalized.head(cfg.limit()) : normalized;
        Tape tape = new Tape(ConvNet.build(cfg.net(), d.sampleShape(), normalized.numClasses(), cfg.seed()), n -> true, DataType.FLOAT, cfg.seed());
        long steps = (long) cfg.epochs() * ((d.size() + 63) / 64);
        Optimizer opt = Optimizer.sgd(cfg.lr()).momentum(0.9).weightDecay(5e-4).schedule(LrSchedule.cosine(Math.max(1, steps), 0));
        Trainer.Config tc = new Trainer.Config().epochs(cfg.epochs()).batchSize(64).seed(cfg.seed()).augment(List.of())
                .out(progress).progressSeconds(progress == null ? -1 : 30);
        new Trainer(tape, opt, tc).fit(d, null);
        return new FeatureModel(tape);
    }

    /** Embeddings [n][features] of the samples at {@code indices}. */
    public float[][] embed(Dataset normalized, int[] indices) {
        float[][] out = new float[indices.length][];
        int bs = 256;
        long[] shape = normalized.sampleShape();
        int ss = (int) java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        for (int s = 0; s < indices.length; s += bs) {
            int m = Math.min(bs, indices.length - s);
            float[] x = new float[m * ss];
            for (int i = 0; i < m; i++) System.arraycopy(normalized.sample(indices[s + i]), 0, x, i * ss, ss);
            INDArray f = tape.infer(Map.of(ConvNet.INPUT, org.nd4j.linalg.factory.Nd4j.create(x, DistributionMatching.batchShape(m, shape), 'c')))
                    .get(ConvNet.FEATURES);
            float[] flat = f.castTo(DataType.FLOAT).dup('c').data().asFloat();
            int fd = (int) f.size(1);
            for (int i = 0; i < m; i++) out[s + i] = java.util.Arrays.copyOfRange(flat, i * fd, (i + 1) * fd);
        }
        return out;
    }
}
