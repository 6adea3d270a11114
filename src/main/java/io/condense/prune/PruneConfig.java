package io.condense.prune;

import io.condense.ir.ModelException;

import java.util.List;
import java.util.Map;

/**
 * Settings of {@link PrunePass}.
 *
 * @param criterion          importance criterion name ({@link Importance#of}): magnitude, l2, bn-scale, taylor, wanda, sparsegpt
 * @param granularity        layer, output, global or N:M
 * @param sparsity           fraction of weights to zero in [0, 1) (ignored for N:M, which implies 1 - N/M)
 * @param layerSparsity      per-weight overrides (weight initializer name -> sparsity), e.g. from sensitivity analysis
 * @param exclude            regular expressions; layers whose weight or node name matches one stay dense
 * @param calibrationBatches calibration batches read at most (0 = all)
 * @param hessianRows        rows per layer summed into a Hessian at most (0 = all)
 * @param gradientBatches    labelled batches for Taylor scores
 * @param damp               SparseGPT damping relative to the mean Hessian diagonal
 * @param blockColumns       SparseGPT block width
 * @param sequential         calibration criteria take each layer's inputs from the already pruned layers before it
 */
public record PruneConfig(String criterion, Granularity granularity, double sparsity, Map<String, Double> layerSparsity,
                          List<String> exclude, int calibrationBatches, long hessianRows, int gradientBatches, double damp,
                          int blockColumns, boolean sequential) {
    public PruneConfig {
        if (criterion == null || criterion.isBlank()) criterion = "magnitude";
        Importance.of(criterion); // validates the name
        if (granularity == null) granularity = Granularity.LAYER;
        checkSparsity(sparsity, "sparsity");
        layerSparsity = layerSparsity == null ? Map.of() : Map.copyOf(layerSparsity);
        layerSparsity.forEach((k, v) -> checkSparsity(v, "sparsity of " + k));
        exclude = exclude == null ? List.of() : List.copyOf(exclude);
        for (String e : exclude) {
            try {
                java.util.regex.Pattern.compile(e);
            } catch (java.util.regex.PatternSyntaxException x) {
                throw new ModelException("bad exclude pattern '" + e + "': " + x.getDescription());
            }
        }
        if (calibrationBatches < 0 || hessianRows < 0 || gradientBatches < 0) throw new ModelException("batch and row limits must be >= 0");
        if (!(damp >= 0) || damp > 10) throw new ModelException("damping must be in [0, 10], got " + damp);
        if (blockColumns < 1) throw new ModelException("block columns must be >= 1, got " + blockColumns);
        if (granularity.kind() == Granularity.Kind.GLOBAL && !layerSparsity.isEmpty()) {
            throw new ModelException("global pruning chooses per-layer sparsities itself; per-layer sparsities need granularity 'layer'");
        }
    }

    static void checkSparsity(double s, String what) {
        if (!(s >= 0 && s < 1)) throw new ModelException(what + " must be in [0, 1), got " + s);
    }

    /** Criterion at one sparsity and granularity, other settings at their defaults (16 calibration batches). */
    public static PruneConfig of(String criterion, Granularity g, double sparsity) {
        return new PruneConfig(criterion, g, sparsity, Map.of(), List.of(), 16, 0, 8, 0.01, 128, true);
    }

    public PruneConfig withSparsity(double s) {
        return new PruneConfig(criterion, granularity, s, layerSparsity, exclude, calibrationBatches, hessianRows, gradientBatches, damp, blockColumns, sequential);
    }

    public PruneConfig withLayerSparsity(Map<String, Double> m) {
        return new PruneConfig(criterion, granularity, sparsity, m, exclude, calibrationBatches, hessianRows, gradientBatches, damp, blockColumns, sequential);
    }

    public PruneConfig withExclude(List<String> e) {
        return new PruneConfig(criterion, granularity, sparsity, layerSparsity, e, calibrationBatches, hessianRows, gradientBatches, damp, blockColumns, sequential);
    }

    public PruneConfig withCalibrationBatches(int n) {
        return new PruneConfig(criterion, granularity, sparsity, layerSparsity, exclude, n, hessianRows, gradientBatches, damp, blockColumns, sequential);
    }

    public Importance importance() {
        Importance i = Importance.of(criterion);
        return i instanceof SparseGpt ? new SparseGpt(damp, blockColumns) : i;
    }

    /** The sparsity a layer gets (N:M: implied by the pattern). */
    public double sparsityOf(PrunableLayer l) {
        if (granularity.kind() == Granularity.Kind.NM) return granularity.impliedSparsity();
        return layerSparsity.getOrDefault(l.weight(), sparsity);
    }

    public boolean excluded(PrunableLayer l) {
        for (String e : exclude) if (l.weight().matches(e) || l.node().matches(e)) return true;
        return false;
    }
}
