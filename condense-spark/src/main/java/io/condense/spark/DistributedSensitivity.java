package io.condense.spark;

import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.prune.Granularity;
import io.condense.prune.PrunableLayer;
import io.condense.prune.PruneConfig;
import io.condense.prune.PrunePass;
import io.condense.prune.SensitivityAnalysis;
import io.condense.quant.Sensitivity;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A pruning sensitivity sweep ({@link SensitivityAnalysis}) as one Spark task per model variant (layer x level):
 * each task prunes the broadcast model with {@link SensitivityAnalysis#variant} and measures top-1 accuracy on the
 * broadcast evaluation set. Data-free criteria only (magnitude, l2): the criteria that need calibration data or
 * gradients run in one process ({@code condense sensitivity}).
 */
public final class DistributedSensitivity {
    private DistributedSensitivity() {}

    /** The evaluation set: pre-batched feeds and labels (small enough to broadcast: a validation split). */
    public record EvalSet(List<Map<String, Tensor>> feeds, int[] labels) {
        /** Top-1 accuracy of {@code g}. */
        public double accuracy(Graph g) {
            int[] p = Sensitivity.top1(g, feeds);
            if (p.length != labels.length) throw new io.condense.ir.ModelException(p.length + " predictions for " + labels.length + " labels");
            long c = 0;
            for (int i = 0; i < p.length; i++) if (p[i] == labels[i]) c++;
            return (double) c / labels.length;
        }
    }

    /** Feeds are not serializable: the evaluation set travels as flat samples and is batched once per JVM. */
    record EvalData(float[] x, int count, int sampleSize, int batchSize, int[] labels) implements Serializable {}

    private static final java.util.concurrent.ConcurrentHashMap<String, EvalSet> EVAL = new java.util.concurrent.ConcurrentHashMap<>();

    static EvalSet evalSet(Graph g, EvalData d, String key) {
        return EVAL.computeIfAbsent(key, k -> {
            List<Map<String, Tensor>> f = new ArrayList<>();
            io.condense.quant.CalibrationData.fromArray(io.condense.quant.CalibrationData.singleInput(g), d.x(), d.count(), d.sampleSize(), d.batchSize(), 0)
                    .forEach(f::add);
            return new EvalSet(f, d.labels());
        });
    }

    /**
     * @param x      evaluation samples (flat, {@code count * sampleSize}), {@code labels} their classes
     * @param threads backend threads per task
     */
    public static SensitivityAnalysis.Result run(JavaSparkContext sc, SparkModel model, String criterion, double[] levels,
                                                 float[] x, int count, int sampleSize, int batchSize, int[] labels, int threads) {
        Graph g = model.graph();
        PruneConfig base = PruneConfig.of(criterion, Granularity.LAYER, 0.5);
        if (base.importance().needs() != io.condense.prune.Importance.Needs.WEIGHTS) {
            throw new io.condense.ir.ModelException("condense-spark sensitivity supports the data-free criteria (magnitude, l2); '" + criterion
                    + "' needs calibration data or gradients: use condense sensitivity");
        }
        List<PrunableLayer> layers = SensitivityAnalysis.layers(g, base);
        Broadcast<EvalData> eval = sc.broadcast(new EvalData(x, count, sampleSize, batchSize, labels));
        String key = model.sha256() + "/" + eval.id();
        List<int[]> variants = new ArrayList<>();
        variants.add(new int[] {-1, -1}); // the baseline
        for (int li = 0; li < layers.size(); li++) for (int vi = 0; vi < levels.length; vi++) variants.add(new int[] {li, vi});
        double[] lv = levels.clone();
        List<double[]> res = sc.parallelize(variants, variants.size()).map(v -> {
            ExecutorEnv.ensure(threads);
            Graph m = model.graph();
            EvalSet es = evalSet(m, eval.value(), key);
            if (v[0] < 0) return new double[] {-1, -1, es.accuracy(m)};
            PruneConfig b = PruneConfig.of(criterion, Granularity.LAYER, 0.5);
            List<PrunableLayer> ls = SensitivityAnalysis.layers(m, b);
            Graph pruned = new PrunePass(SensitivityAnalysis.variant(b, ls, ls.get(v[0]), lv[v[1]])).apply(m);
            return new double[] {v[0], v[1], es.accuracy(pruned)};
        }).collect();
        double baseline = Double.NaN;
        double[][] acc = new double[layers.size()][levels.length];
        for (double[] r : res) {
            if (r[0] < 0) baseline = r[2];
            else acc[(int) r[0]][(int) r[1]] = r[2];
        }
        List<SensitivityAnalysis.Curve> curves = new ArrayList<>();
        for (int li = 0; li < layers.size(); li++) curves.add(new SensitivityAnalysis.Curve(layers.get(li), levels.clone(), acc[li]));
        return new SensitivityAnalysis.Result(base.criterion(), baseline, curves);
    }
}
