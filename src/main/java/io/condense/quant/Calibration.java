package io.condense.quant;

import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Runs the float model on calibration batches and collects {@link TensorStats} of chosen intermediate values.
 *
 * <p>The graph is copied with the values of interest added as graph outputs and run on the CPU backend, one
 * session for all batches. Graph inputs among the values are taken from the feeds. Statistics are merged with
 * batch-size independent histograms (see {@link Histogram}), so the same samples give the same ranges however
 * they are batched (up to float rounding differences of the executor between batch sizes).
 */
public final class Calibration {
    private Calibration() {}

    /**
     * @param g        the float graph (already prepared, e.g. by {@link PtqPass#prepare})
     * @param tensors  values to collect statistics for (activations; initializers are skipped)
     * @param batches  feeds for the graph inputs, one map per batch
     * @param cfg      {@link QuantConfig#calibrationBatches()} limits the batches read; {@link QuantConfig#bins()}
     * @param progress where a progress line goes every few seconds and at the end; null for none
     * @throws ModelException for an empty data set, a batch the graph cannot run (wrong shape, missing input)
     *                        or a NaN/infinite value
     */
    public static CalibrationResult run(Graph g, Collection<String> tensors, Iterable<Map<String, Tensor>> batches,
                                        QuantConfig cfg, PrintStream progress) {
        Set<String> inputs = new HashSet<>();
        for (ValueInfo v : g.inputs()) inputs.add(v.name());
        Map<String, TensorStats> stats = new LinkedHashMap<>();
        for (String t : tensors) {
            if (g.initializers().containsKey(t) && !inputs.contains(t)) continue;
            stats.put(t, new TensorStats(t, cfg.bins()));
        }
        long t0 = System.nanoTime();
        long[] counts = probe(g, stats.keySet(), batches, cfg.calibrationBatches(), progress, (nb, values) -> {
            for (TensorStats st : stats.values()) st.add(values.get(st.name()).toFloatArray());
        });
        if (progress != null) {
            progress.printf(Locale.ROOT, "calibrated %d tensors on %d batches (%d samples) in %.1f s%n", stats.size(), counts[0], counts[1],
                    (System.nanoTime() - t0) / 1e9);
        }
        return new CalibrationResult(stats, (int) counts[0], counts[1]);
    }

    /** Receives the values of one calibration batch (graph inputs and computed values, by name). */
    @FunctionalInterface
    public interface BatchSink { void accept(int batch, Map<String, Tensor> values); }

    /**
     * The calibration mechanism itself: runs a copy of {@code g} with {@code values} added as graph outputs on the
     * CPU backend (one session for all batches) and hands each batch's values to {@code sink} (graph inputs among
     * them are taken from the feeds). Used for activation statistics here and, e.g., for layer-input norms and
     * Hessians by pruning criteria.
     *
     * @param maxBatches batches read at most (0 = all)
     * @return {batches, samples} read
     * @throws ModelException for an empty data set, a batch the graph cannot run, a NaN/infinite input or a value
     *                        that was not computed
     */
    public static long[] probe(Graph g, Collection<String> values, Iterable<Map<String, Tensor>> batches, int maxBatches,
                               PrintStream progress, BatchSink sink) {
        Set<String> outs = new HashSet<>();
        for (ValueInfo o : g.outputs()) outs.add(o.name());
        Set<String> inputs = new HashSet<>();
        for (ValueInfo v : g.inputs()) inputs.add(v.name());
        List<ValueInfo> allOuts = new ArrayList<>(g.outputs());
        Set<String> added = new HashSet<>();
        for (String t : values) {
            if (!outs.contains(t) && !inputs.contains(t) && added.add(t)) allOuts.add(new ValueInfo(t, TensorType.unknown()));
        }
        Graph probe = g.toBuilder().outputs(allOuts).build();
        int limit = maxBatches > 0 ? maxBatches : Integer.MAX_VALUE;
        int nb = 0;
        long samples = 0;
        long t0 = System.nanoTime(), lastPrint = t0;
        try (Session s = Backends.cpu().open(probe)) {
            Iterator<Map<String, Tensor>> it = batches.iterator();
            while (nb < limit && it.hasNext()) {
                Map<String, Tensor> feed = it.next();
                for (Map.Entry<String, Tensor> e : feed.entrySet()) checkFinite(e.getKey(), e.getValue(), nb + 1);
                Map<String, Tensor> res;
                try {
                    res = s.run(feed);
                } catch (ModelException e) {
                    throw new ModelException("calibration batch " + (nb + 1) + ": " + e.getMessage(), e);
                }
                Map<String, Tensor> got = new LinkedHashMap<>();
                for (String t : values) {
                    Tensor v = feed.containsKey(t) ? feed.get(t) : res.get(t);
                    if (v == null) throw new ModelException("calibration: value '" + t + "' was not computed");
                    got.put(t, v);
                }
                sink.accept(nb, got);
                nb++;
                if (!feed.isEmpty()) {
                    Tensor first = feed.containsKey(g.inputs().get(0).name()) ? feed.get(g.inputs().get(0).name()) : feed.values().iterator().next();
                    samples += first.rank() == 0 ? 1 : first.dim(0);
                }
                long now = System.nanoTime();
                if (progress != null && now - lastPrint > 2_000_000_000L) {
                    progress.printf(Locale.ROOT, "calibrating: %d batches, %d samples, %.1f s%n", nb, samples, (now - t0) / 1e9);
                    lastPrint = now;
                }
            }
        }
        if (nb == 0) throw new ModelException("calibration data is empty");
        return new long[] {nb, samples};
    }

    /**
     * Per-channel weight statistics: for every weight the rule table quantizes in {@code g}, max |w| per index of
     * its output-channel axis ({@link QdqRules#weightAxis}); a weight read by several nodes is listed once.
     */
    public static Map<String, double[]> weightStats(Graph g, QuantConfig cfg) {
        Map<String, double[]> m = new LinkedHashMap<>();
        for (QdqRules.Site s : QdqRules.plan(g, cfg)) {
            if (s.kind() != QdqRules.Kind.WEIGHT || m.containsKey(s.value())) continue;
            m.put(s.value(), QParams.channelAbsMax(g.initializers().get(s.value()), s.axis()));
        }
        return m;
    }

    private static void checkFinite(String name, Tensor t, int batch) {
        if (!t.dtype().isFloating()) return;
        if (t.dtype() == io.condense.ir.DType.FLOAT32) {
            for (float f : (float[]) t.data()) {
                if (!Float.isFinite(f)) throw new ModelException("calibration batch " + batch + ": input '" + name + "' has a " + (Float.isNaN(f) ? "NaN" : "infinite") + " value");
            }
            return;
        }
        for (int i = 0; i < t.size(); i++) {
            double d = t.getDouble(i);
            if (!Double.isFinite(d)) throw new ModelException("calibration batch " + batch + ": input '" + name + "' has a " + (Double.isNaN(d) ? "NaN" : "infinite") + " value");
        }
    }
}
