package io.condense.spark;

import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.eval.Fidelity;
import io.condense.eval.OutputAgreement;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.prune.LayerInputStats;
import io.condense.prune.PrunableLayer;
import io.condense.quant.Calibration;
import io.condense.quant.CalibrationMethod;
import io.condense.quant.CalibrationResult;
import io.condense.quant.QuantConfig;
import io.condense.quant.Sensitivity;
import io.condense.stats.Confusion;
import io.condense.stats.LayerMoments;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The data-parallel statistics of condense on Spark: each partition runs the CPU backend on its batches (the
 * broadcast model parsed once per executor JVM) and returns mergeable statistics ({@link io.condense.stats});
 * the driver combines them with a tree reduction. Every result equals the single-process result on the same samples
 * and batch size bit for bit (same backend thread count), however the data are partitioned and whether or not
 * tasks were retried: a retried task recomputes the same batches, and only one attempt's result is reduced.
 */
public final class DistributedStats {
    private DistributedStats() {}

    /**
     * Activation statistics ({@link Calibration#run}) of {@code tensors} of the model (e.g. the tensors
     * {@link io.condense.quant.PtqPass#calibrate} would pick in the prepared graph).
     *
     * @param bins    histogram bins ({@link QuantConfig#bins()})
     * @param threads backend threads per task ({@code spark.task.cpus}); {@code <= 0} leaves them as they are
     */
    public static <S> CalibrationResult calibrate(Batched<S> data, SparkModel model, Feeds<S> feeds, List<String> tensors, int bins, int threads) {
        ArrayList<String> ts = new ArrayList<>(tensors);
        return data.aggregate((first, batches) -> {
            ExecutorEnv.ensure(threads);
            Graph g = model.graph();
            QuantConfig cfg = new QuantConfig(CalibrationMethod.MINMAX, 99.99, true, true, List.of(), List.of(), 0, bins, false, QuantConfig.Placement.RULES);
            return Calibration.run(g, ts, feedsOf(g, feeds, batches), cfg, null);
        }, CalibrationResult::merge);
    }

    /**
     * Layer-input moments ({@link LayerInputStats#moments}: sums of squares and, with {@code hessian}, X^T X) of
     * the prunable layers of the model whose weights are named in {@code weights} (all when empty).
     */
    public static <S> Map<String, LayerMoments[]> moments(Batched<S> data, SparkModel model, Feeds<S> feeds, List<String> weights,
                                                          boolean hessian, int threads) {
        ArrayList<String> ws = new ArrayList<>(weights);
        return data.aggregate((first, batches) -> {
            ExecutorEnv.ensure(threads);
            Graph g = model.graph();
            List<PrunableLayer> layers = new ArrayList<>();
            for (PrunableLayer l : PrunableLayer.find(g)) if (ws.isEmpty() || ws.contains(l.weight())) layers.add(l);
            return new LinkedHashMap<>(LayerInputStats.moments(g, layers, feedsOf(g, feeds, batches), 0, hessian, 0, first, null));
        }, (a, b) -> {
            for (Map.Entry<String, LayerMoments[]> e : a.entrySet()) {
                LayerMoments[] o = b.get(e.getKey());
                for (int i = 0; i < o.length; i++) e.getValue()[i].merge(o[i]);
            }
            return a;
        });
    }

    /** A labelled sample (image classification). */
    public record Labelled(float[] x, int label) implements Serializable {}

    /** Top-1 confusion matrix of the model's first output (argmax over its last axis) against the labels. */
    public static Confusion accuracy(Batched<Labelled> data, SparkModel model, int classes, int threads) {
        Feeds<float[]> arrays = Feeds.arrays();
        return data.aggregate((first, batches) -> {
            ExecutorEnv.ensure(threads);
            Graph g = model.graph();
            Confusion c = new Confusion(classes);
            List<Map<String, Tensor>> fs = new ArrayList<>();
            List<int[]> labels = new ArrayList<>();
            for (List<Labelled> b : batches) {
                Map<String, Tensor> f = arrays.feeds(g, b.stream().map(Labelled::x).toList());
                if (f == null) continue;
                fs.add(f);
                labels.add(b.stream().mapToInt(Labelled::label).toArray());
            }
            if (fs.isEmpty()) return c;
            int[] pred = Sensitivity.top1(Backends.cpu(), g, fs);
            int k = 0;
            for (int[] l : labels) {
                c.add(java.util.Arrays.copyOfRange(pred, k, k + l.length), l);
                k += l.length;
            }
            return c;
        }, Confusion::merge);
    }

    /** Per-output agreement of {@code model} with {@code reference} ({@link Fidelity#compareOutputs} on Spark). */
    public static <S> List<Fidelity.OutputReport> compareOutputs(Batched<S> data, SparkModel model, SparkModel reference, Feeds<S> feeds, int threads) {
        OutputAgreement[] merged = data.aggregate((first, batches) -> {
            ExecutorEnv.ensure(threads);
            Graph g = model.graph(), r = reference.graph();
            OutputAgreement[] acc = new OutputAgreement[g.outputs().size()];
            for (int i = 0; i < acc.length; i++) acc[i] = new OutputAgreement(g.outputs().get(i).name());
            try (Session sm = Backends.cpu().open(g); Session sr = Backends.cpu().open(r)) {
                long b = first - 1;
                for (List<S> batch : batches) {
                    b++;
                    Map<String, Tensor> f = feeds.feeds(g, batch);
                    if (f == null) continue;
                    Map<String, Tensor> ym = sm.run(f), yr = sr.run(f);
                    for (int i = 0; i < acc.length; i++) acc[i].add(b, ym.get(g.outputs().get(i).name()), yr.get(r.outputs().get(i).name()), null);
                }
            }
            return acc;
        }, (a, b) -> {
            for (int i = 0; i < a.length; i++) a[i].merge(b[i]);
            return a;
        });
        List<Fidelity.OutputReport> out = new ArrayList<>();
        for (OutputAgreement a : merged) out.add(a.report());
        return out;
    }

    /** Embedding fidelity of a text model to its reference ({@link Fidelity#compareText} on Spark). */
    public static Fidelity.Report compareText(Batched<String> data, SparkModel model, SparkModel reference, Feeds.TextTokenizer tok, int threads) {
        TextPartial p = data.aggregate((first, batches) -> {
            ExecutorEnv.ensure(threads);
            Graph g = model.graph(), r = reference.graph();
            TextPartial t = new TextPartial();
            t.acc = new OutputAgreement[g.outputs().size()];
            for (int i = 0; i < t.acc.length; i++) t.acc[i] = new OutputAgreement(g.outputs().get(i).name());
            try (Session sm = Backends.cpu().open(g); Session sr = Backends.cpu().open(r)) {
                long b = first;
                for (List<String> sentences : batches) {
                    io.condense.data.text.TextBatch tb = tok.batch(g, sentences);
                    Map<String, Tensor> ym = sm.run(tb.feeds(g.inputs())), yr = sr.run(tb.feeds(r.inputs()));
                    t.emb.put(b, Fidelity.pool(ym.get(g.outputs().get(0).name()), tb.mask()));
                    t.ref.put(b, Fidelity.pool(yr.get(r.outputs().get(0).name()), tb.mask()));
                    for (int i = 0; i < t.acc.length; i++) t.acc[i].add(b, ym.get(g.outputs().get(i).name()), yr.get(r.outputs().get(i).name()), tb.mask());
                    b++;
                }
            }
            return t;
        }, TextPartial::merge);
        List<float[]> e = new ArrayList<>(), r = new ArrayList<>();
        p.emb.values().forEach(a -> e.addAll(List.of(a)));
        p.ref.values().forEach(a -> r.addAll(List.of(a)));
        List<Fidelity.OutputReport> outs = new ArrayList<>();
        for (OutputAgreement a : p.acc) outs.add(a.report());
        return new Fidelity.Report(Fidelity.compareEmbeddings(e.toArray(new float[0][]), r.toArray(new float[0][])), outs);
    }

    /** Embeddings by batch (kept in batch order) and output agreement; merged on the driver. */
    static final class TextPartial implements Serializable {
        private static final long serialVersionUID = 1L;
        final TreeMap<Long, float[][]> emb = new TreeMap<>(), ref = new TreeMap<>();
        OutputAgreement[] acc;

        TextPartial merge(TextPartial o) {
            emb.putAll(o.emb);
            ref.putAll(o.ref);
            for (int i = 0; i < acc.length; i++) acc[i].merge(o.acc[i]);
            return this;
        }
    }

    private static <S> List<Map<String, Tensor>> feedsOf(Graph g, Feeds<S> feeds, List<List<S>> batches) {
        List<Map<String, Tensor>> out = new ArrayList<>();
        for (List<S> b : batches) {
            Map<String, Tensor> f = feeds.feeds(g, b);
            if (f != null) out.add(f);
        }
        return out;
    }
}
