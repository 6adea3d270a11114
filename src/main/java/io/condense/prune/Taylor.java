package io.condense.prune;

/**
 * First-order Taylor importance (Molchanov et al. 2017/2019): the loss change of removing a weight estimated as
 * {@code |w * dL/dw|}, averaged over a few labelled batches ({@link ImportanceContext#taylorScores}, gradients from
 * the training tape in inference mode); a group's score is the sum.
 */
public final class Taylor implements Importance {
    @Override public String name() { return "taylor"; }

    @Override public Needs needs() { return Needs.GRADIENTS; }

    @Override
    public double[][] scores(PrunableLayer layer, double[][] w, ImportanceContext ctx) {
        return ctx.taylorScores(layer);
    }
}
