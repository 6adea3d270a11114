package io.condense.prune;

/**
 * A pruning criterion: how important each weight of a layer is (higher = keep). Scores are given for the layer's
 * weight matrix {@code [rows = outputs][cols = inputs]} ({@link PrunableLayer#matrix}); structured pruning
 * reduces the scores of a group of weights (a filter, a neuron, a head) with {@link #groupScore}.
 * One class per criterion: {@link Magnitude} (L1), {@link L2Norm}, {@link BatchNormScale}, {@link Taylor},
 * {@link Wanda}, {@link SparseGpt}.
 */
public interface Importance {
    /** What the criterion needs besides the weights. */
    enum Needs { WEIGHTS, CALIBRATION, HESSIAN, GRADIENTS }

    /** Short name recorded in the provenance ("magnitude", "wanda", ...). */
    String name();

    Needs needs();

    /** Per-weight scores, {@code [rows][cols]}; {@code w} is the current weight matrix. */
    double[][] scores(PrunableLayer layer, double[][] w, ImportanceContext ctx);

    /** Importance of a group of weights from their per-weight scores (default: the sum). */
    default double groupScore(double[] weightScores) {
        double s = 0;
        for (double v : weightScores) s += v;
        return s;
    }

    /** Importance of each output row (filter / neuron): {@link #groupScore} of the row's scores. */
    default double[] rowScores(PrunableLayer layer, double[][] w, ImportanceContext ctx) {
        double[][] s = scores(layer, w, ctx);
        double[] r = new double[s.length];
        for (int i = 0; i < s.length; i++) r[i] = groupScore(s[i]);
        return r;
    }

    /** The criterion of a name: magnitude|l1, l2, bn-scale, taylor, wanda, sparsegpt. */
    static Importance of(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "magnitude", "l1" -> new Magnitude();
            case "l2" -> new L2Norm();
            case "bn-scale", "bn", "batchnorm" -> new BatchNormScale();
            case "taylor" -> new Taylor();
            case "wanda" -> new Wanda();
            case "sparsegpt", "obs" -> new SparseGpt();
            default -> throw new io.condense.ir.ModelException("unknown importance criterion '" + name
                    + "' (magnitude, l2, bn-scale, taylor, wanda, sparsegpt)");
        };
    }
}
