package io.condense.prune;

import io.condense.data.Dataset;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.passes.GraphPass;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Unstructured and N:M pruning as a graph pass: masks the weight initializers of Conv/Gemm/MatMul nodes
 * ({@link PrunableLayer}) by an {@link Importance} criterion; pruned weights are exact zeros in the (dense)
 * graph. SparseGPT also updates the kept weights. {@link #masks()} gives the 0/1 masks for fine-tuning
 * (Optimizer masks keep the zeros through training) and {@link #report()} what each layer got.
 */
public final class PrunePass implements GraphPass {
    /** Per layer: weights, zeros after pruning, and why it was left alone (empty when pruned). */
    public record LayerResult(String node, String weight, String op, long size, long zeros, String skipped) {
        public double sparsity() { return size == 0 ? 0 : (double) zeros / size; }
    }

    private final PruneConfig cfg;
    private final Iterable<Map<String, Tensor>> calibration;
    private final Dataset labelled;
    private final PrintStream progress;
    private final Map<String, Tensor> masks = new LinkedHashMap<>();
    private final List<LayerResult> report = new ArrayList<>();

    /**
     * @param calibration feeds for calibration criteria (wanda, sparsegpt); null otherwise
     * @param labelled    labelled data for taylor; null otherwise
     */
    public PrunePass(PruneConfig cfg, Iterable<Map<String, Tensor>> calibration, Dataset labelled, PrintStream progress) {
        this.cfg = cfg;
        this.calibration = calibration;
        this.labelled = labelled;
        this.progress = progress;
        Importance.Needs needs = cfg.importance().needs();
        if ((needs == Importance.Needs.CALIBRATION || needs == Importance.Needs.HESSIAN) && calibration == null) {
            throw new ModelException(cfg.criterion() + " needs calibration data (--data DIR)");
        }
        if (needs == Importance.Needs.GRADIENTS && labelled == null) throw new ModelException(cfg.criterion() + " needs labelled data (--data DIR)");
    }

    public PrunePass(PruneConfig cfg) { this(cfg, null, null, null); }

    @Override public String name() { return "prune-" + cfg.criterion() + "-" + cfg.granularity(); }

    public PruneConfig config() { return cfg; }

    /** Weight name -> float32 0/1 mask of the weight's shape, for the layers the last {@link #apply} pruned. */
    public Map<String, Tensor> masks() { return Map.copyOf(masks); }

    public List<LayerResult> report() { return List.copyOf(report); }

    /** Zeros / weights over all prunable layers of the last {@link #apply}. */
    public double overallSparsity() {
        long z = 0, t = 0;
        for (LayerResult r : report) {
            z += r.zeros();
            t += r.size();
        }
        return t == 0 ? 0 : (double) z / t;
    }

    /** Weight -> sparsity, for the provenance. */
    public Map<String, Double> sparsityByLayer() {
        Map<String, Double> m = new LinkedHashMap<>();
        for (LayerResult r : report) m.put(r.weight(), Math.round(r.sparsity() * 1e6) / 1e6);
        return m;
    }

    @Override
    public Graph apply(Graph g) {
        masks.clear();
        report.clear();
        List<PrunableLayer> all = PrunableLayer.find(g);
        if (all.isEmpty()) throw new ModelException("nothing to prune: the model has no Conv, Gemm or MatMul with a float32 weight initializer");
        Importance imp = cfg.importance();
        List<PrunableLayer> layers = new ArrayList<>();
        Map<String, String> skipped = new LinkedHashMap<>();
        for (PrunableLayer l : all) {
            if (cfg.excluded(l)) skipped.put(l.weight(), "excluded");
            else if (cfg.granularity().kind() == Granularity.Kind.NM && !MaskSelector.nmApplicable(l, cfg.granularity().m())) {
                skipped.put(l.weight(), l.inChannels() + " input channels are not a multiple of " + cfg.granularity().m());
            } else if (cfg.sparsityOf(l) > 0 || cfg.granularity().kind() == Granularity.Kind.GLOBAL) layers.add(l);
            else skipped.put(l.weight(), "sparsity 0");
        }
        if (layers.isEmpty()) throw new ModelException("nothing to prune: every Conv/Gemm/MatMul weight is excluded or not prunable with " + cfg.granularity());
        ImportanceContext ctx = new ImportanceContext(g, calibration, cfg.calibrationBatches(), cfg.hessianRows(), labelled,
                cfg.gradientBatches(), 64, progress);
        if (imp.needs() == Importance.Needs.HESSIAN) ctx.needHessians();
        boolean usesData = imp.needs() == Importance.Needs.CALIBRATION || imp.needs() == Importance.Needs.HESSIAN;
        Graph cur = g;
        Map<String, double[][]> newW = new LinkedHashMap<>();
        Map<String, boolean[][]> keep = new LinkedHashMap<>();
        if (cfg.granularity().kind() == Granularity.Kind.GLOBAL) {
            if (imp instanceof SparseGpt) throw new ModelException("sparsegpt prunes layer by layer; use granularity 'layer' (method sparsegpt)");
            if (usesData) ctx.inputStats(layers);
            List<double[][]> scores = new ArrayList<>();
            List<double[][]> ws = new ArrayList<>();
            for (PrunableLayer l : layers) {
                double[][] w = l.matrix(g.initializers().get(l.weight()));
                ws.add(w);
                scores.add(imp.scores(l, w, ctx));
            }
            List<boolean[][]> ks = MaskSelector.global(scores, cfg.sparsity());
            for (int i = 0; i < layers.size(); i++) {
                keep.put(layers.get(i).weight(), ks.get(i));
                newW.put(layers.get(i).weight(), masked(ws.get(i), ks.get(i)));
            }
        } else {
            if (usesData && !cfg.sequential()) ctx.inputStats(layers);
            for (PrunableLayer l : layers) {
                if (usesData && cfg.sequential()) ctx.update(cur);
                double[][] w = l.matrix(cur.initializers().get(l.weight()));
                double s = cfg.sparsityOf(l);
                double[][] nw;
                boolean[][] k;
                if (imp instanceof SparseGpt sg) {
                    SparseGpt.Result r = sg.prune(l, w, s, cfg.granularity(), ctx);
                    nw = r.weights();
                    k = r.keep();
                } else {
                    double[][] sc = imp.scores(l, w, ctx);
                    k = switch (cfg.granularity().kind()) {
                        case LAYER -> MaskSelector.layer(sc, s);
                        case OUTPUT -> MaskSelector.perOutput(sc, s);
                        case NM -> MaskSelector.nm(sc, cfg.granularity().n(), cfg.granularity().m(), l.nmStride());
                        case GLOBAL -> throw new IllegalStateException();
                    };
                    nw = masked(w, k);
                }
                keep.put(l.weight(), k);
                newW.put(l.weight(), nw);
                if (usesData && cfg.sequential()) cur = cur.toBuilder().initializer(l.weight(), l.tensor(nw)).build();
            }
        }
        Graph.Builder b = g.toBuilder();
        for (PrunableLayer l : all) {
            if (!newW.containsKey(l.weight())) {
                report.add(new LayerResult(l.node(), l.weight(), l.op(), l.size(), zeros(g.initializers().get(l.weight())), skipped.getOrDefault(l.weight(), "")));
                continue;
            }
            Tensor t = l.tensor(newW.get(l.weight()));
            b.initializer(l.weight(), t);
            masks.put(l.weight(), l.maskTensor(keep.get(l.weight())));
            report.add(new LayerResult(l.node(), l.weight(), l.op(), l.size(), zeros(t), ""));
            if (progress != null) {
                LayerResult r = report.get(report.size() - 1);
                progress.printf(Locale.ROOT, "%s %s %s: %d/%d zero (%.1f%%)%n", l.node(), l.op(), l.weight(), r.zeros(), r.size(), 100 * r.sparsity());
            }
        }
        return b.build();
    }

    static double[][] masked(double[][] w, boolean[][] k) {
        double[][] o = new double[w.length][];
        for (int i = 0; i < w.length; i++) {
            o[i] = w[i].clone();
            for (int j = 0; j < o[i].length; j++) if (!k[i][j]) o[i][j] = 0;
        }
        return o;
    }

    static long zeros(Tensor t) {
        long z = 0;
        for (float f : t.toFloatArray()) if (f == 0f) z++;
        return z;
    }
}
