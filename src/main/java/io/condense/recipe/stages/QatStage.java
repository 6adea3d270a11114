package io.condense.recipe.stages;

import io.condense.ir.Graph;
import io.condense.quant.QuantConfig;
import io.condense.quant.qat.Qat;
import io.condense.recipe.Stage;
import io.condense.recipe.StageContext;

import java.util.ArrayList;
import java.util.List;

/** {@code qat}: quantization-aware fine-tuning (fake-quant STE or LSQ) exported as INT8 QDQ ({@link Qat}); needs labelled data. */
public final class QatStage implements Stage<QatStage.Config> {
    /**
     * @param weightBits weight bit widths to try (2..8; each a candidate, fewest bits first)
     * @param mode       lsq (learned scales) or ste
     * @param epochs     fine-tuning epochs
     * @param lr         Adam learning rate of the weights
     * @param batchSize  mini-batch size
     * @param limit      training samples used (0 = all)
     */
    public record Config(List<Integer> weightBits, Qat.Mode mode, Integer epochs, Double lr, Integer batchSize, Integer limit) {
        public Config {
            weightBits = weightBits == null || weightBits.isEmpty() ? List.of(8) : weightBits.stream().sorted().distinct().toList();
            mode = mode == null ? Qat.Mode.LSQ : mode;
            epochs = epochs == null ? 1 : epochs;
            lr = lr == null ? 1e-4 : lr;
            batchSize = batchSize == null ? 64 : batchSize;
            limit = limit == null ? 0 : limit;
            if (epochs < 0 || batchSize < 1 || limit < 0 || !(lr > 0)) throw new IllegalArgumentException("epochs, batch_size, limit and lr must be positive");
        }
    }

    @Override public String name() { return "qat"; }

    @Override public Class<Config> configType() { return Config.class; }

    @Override public Config defaults() { return new Config(null, null, null, null, null, null); }

    @Override public boolean needsTrainingData() { return true; }

    @Override
    public List<Config> candidates(Config c) {
        List<Config> out = new ArrayList<>();
        for (int b : c.weightBits()) out.add(new Config(List.of(b), c.mode(), c.epochs(), c.lr(), c.batchSize(), c.limit()));
        return out;
    }

    @Override public String method(Config c) { return "quantize/qat-" + c.mode().name().toLowerCase(java.util.Locale.ROOT) + "-w" + c.weightBits().get(0); }

    @Override
    public Graph apply(StageContext ctx, Graph input, Config c) {
        var train = ctx.data().trainSet();
        if (c.limit() > 0) train = train.head(c.limit());
        Qat.Config cfg = new Qat.Config(c.weightBits().get(0), c.mode(), c.epochs(), c.batchSize(), c.lr(), 1e-3, 8, ctx.seed(), QuantConfig.defaults());
        return new Qat(cfg, null).run(input, train, null);
    }
}
