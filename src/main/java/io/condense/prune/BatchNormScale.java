package io.condense.prune;

import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;

import java.util.List;

/**
 * BatchNorm scale (network slimming, Liu et al. 2017): an output channel is as important as {@code |gamma|} of the
 * BatchNormalization that directly follows the layer; every weight of the channel gets that score and a group's
 * score is the mean (= |gamma| for a whole channel). A layer without a following BatchNorm is refused.
 */
public final class BatchNormScale implements Importance {
    @Override public String name() { return "bn-scale"; }

    @Override public Needs needs() { return Needs.WEIGHTS; }

    @Override
    public double[][] scores(PrunableLayer layer, double[][] w, ImportanceContext ctx) {
        float[] gamma = gamma(ctx.graph(), layer);
        double[][] s = new double[w.length][];
        for (int i = 0; i < w.length; i++) {
            s[i] = new double[w[i].length];
            java.util.Arrays.fill(s[i], Math.abs(gamma[i]));
        }
        return s;
    }

    @Override
    public double groupScore(double[] weightScores) {
        double s = 0;
        for (double v : weightScores) s += v;
        return weightScores.length == 0 ? 0 : s / weightScores.length;
    }

    /** The scale of the BatchNormalization reading the layer's output (its only consumer). */
    static float[] gamma(Graph g, PrunableLayer layer) {
        Node n = null;
        for (Node x : g.nodes()) if ((x.name().isEmpty() ? x.output(0) : x.name()).equals(layer.node())) n = x;
        if (n == null) throw new ModelException("no node " + layer.node());
        List<Node> cons = g.consumers().getOrDefault(n.output(0), List.of());
        if (cons.size() != 1 || !cons.get(0).opType().equals("BatchNormalization")) {
            throw new ModelException("bn-scale: " + layer.node() + " is not followed by a BatchNormalization");
        }
        Tensor t = g.initializers().get(cons.get(0).input(1));
        if (t == null || t.size() != layer.rows()) throw new ModelException("bn-scale: BatchNormalization after " + layer.node() + " has no constant scale of " + layer.rows());
        return t.toFloatArray();
    }
}
