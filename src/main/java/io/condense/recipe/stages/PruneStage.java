package io.condense.recipe.stages;

import io.condense.ir.Graph;
import io.condense.prune.Granularity;
import io.condense.prune.PruneConfig;
import io.condense.prune.PrunePass;
import io.condense.recipe.Stage;
import io.condense.recipe.StageContext;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code prune}: unstructured or N:M weight pruning ({@link PrunePass}); the search tries the sparsity levels from the
 * highest down and keeps the first (sparsest) that meets the floor. Pruned weights are exact zeros in a dense model:
 * the file is as large, but it compresses and sparse kernels can skip them.
 */
public final class PruneStage implements Stage<PruneStage.Config> {
    /**
     * @param sparsity    sparsity levels to try (each a candidate, highest first); ignored for N:M granularity
     * @param criterion   magnitude | l2 | wanda | sparsegpt | taylor | bn-scale (as {@code condense prune})
     * @param granularity layer | output | global | N:M (e.g. 2:4)
     * @param exclude     regular expressions of weights or nodes kept dense
     */
    public record Config(List<Double> sparsity, String criterion, String granularity, List<String> exclude) {
        public Config {
            sparsity = sparsity == null || sparsity.isEmpty() ? List.of(0.5) : sparsity.stream().sorted((a, b) -> Double.compare(b, a)).distinct().toList();
            for (double s : sparsity) if (!(s >= 0 && s < 1)) throw new IllegalArgumentException("sparsity values must be in [0, 1), got " + s);
            criterion = criterion == null ? "magnitude" : criterion;
            granularity = granularity == null ? "layer" : granularity;
            exclude = exclude == null ? List.of() : List.copyOf(exclude);
            try {
                PruneConfig.of(criterion, Granularity.parse(granularity), sparsity.get(0));
            } catch (io.condense.ir.ModelException e) {
                throw new IllegalArgumentException(e.getMessage());
            }
        }

        PruneConfig prune(int calibrationBatches) {
            PruneConfig p = PruneConfig.of(criterion, Granularity.parse(granularity), sparsity.get(0));
            return new PruneConfig(p.criterion(), p.granularity(), p.sparsity(), Map.of(), exclude, calibrationBatches, p.hessianRows(), p.gradientBatches(),
                    p.damp(), p.blockColumns(), p.sequential());
        }
    }

    @Override public String name() { return "prune"; }

    @Override public Class<Config> configType() { return Config.class; }

    @Override public Config defaults() { return new Config(null, null, null, null); }

    @Override public boolean orderIsPreference() { return true; }

    @Override
    public List<Config> candidates(Config c) {
        if (Granularity.parse(c.granularity()).kind() == Granularity.Kind.NM) return List.of(new Config(List.of(c.sparsity().get(0)), c.criterion(), c.granularity(), c.exclude()));
        List<Config> out = new ArrayList<>();
        for (double s : c.sparsity()) out.add(new Config(List.of(s), c.criterion(), c.granularity(), c.exclude()));
        return out;
    }

    @Override
    public String method(Config c) { return "prune/" + c.criterion() + "-" + c.granularity().toLowerCase(Locale.ROOT); }

    @Override
    public Graph apply(StageContext ctx, Graph input, Config c) {
        PruneConfig pc = c.prune(ctx.recipe().data().calibrationBatches());
        PrunePass pass = new PrunePass(pc, ctx.calibration(input), ctx.data().trainSet(), null);
        Graph g = pass.apply(input);
        ctx.fact("sparsity", pass.overallSparsity());
        return g;
    }
}
