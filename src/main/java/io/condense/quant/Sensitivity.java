package io.condense.quant;

import io.condense.backend.Backend;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Per-layer sensitivity to quantization: each quantizable node is quantized alone (its activation inputs and
 * weight; everything else float) and the model is evaluated on held-out feeds. The metric is top-1 accuracy
 * when labels are given, else top-1 agreement with the float model; {@code drop} = float metric - metric.
 * The layers with the largest drops are the candidates to keep in float ({@link #worst}).
 */
public final class Sensitivity {
    private Sensitivity() {}

    /** One layer's result. */
    public record Layer(String node, String opType, double metric, double drop) {}

    /** The result: the float model's metric and each layer's, sorted by drop (largest first). */
    public record Report(String metricName, double floatMetric, double fullyQuantizedMetric, List<Layer> layers) {
        /** Names of the {@code k} most sensitive layers. */
        public List<String> worst(int k) {
            return layers.stream().limit(Math.max(0, k)).map(Layer::node).toList();
        }

        public void print(PrintStream out) {
            out.printf(Locale.ROOT, "sensitivity (%s): float %.4f, all layers quantized %.4f%n", metricName, floatMetric, fullyQuantizedMetric);
            out.printf(Locale.ROOT, "  %-40s %-18s %9s %9s%n", "node", "op", metricName, "drop");
            for (Layer l : layers) out.printf(Locale.ROOT, "  %-40s %-18s %9.4f %9.4f%n", l.node, l.opType, l.metric, l.drop);
        }
    }

    /**
     * @param prepared a {@link PtqPass#prepare prepared} float graph
     * @param stats    calibration statistics ({@link PtqPass#calibrate})
     * @param cfg      settings; its include/exclude lists limit which layers are tried
     * @param eval     evaluation feeds
     * @param labels   per-sample labels over all eval batches in order, or null for agreement with float
     */
    public static Report analyze(Graph prepared, CalibrationResult stats, QuantConfig cfg, List<Map<String, Tensor>> eval,
                                 int[] labels, PrintStream progress) {
        return analyze(Backends.cpu(), prepared, stats, cfg, eval, labels, progress);
    }

    /** As {@link #analyze(Graph, CalibrationResult, QuantConfig, List, int[], PrintStream)}, evaluating on {@code backend}. */
    public static Report analyze(Backend backend, Graph prepared, CalibrationResult stats, QuantConfig cfg, List<Map<String, Tensor>> eval,
                                 int[] labels, PrintStream progress) {
        int[] floatTop = top1(backend, prepared, eval);
        int[] ref = labels != null ? labels : floatTop;
        String metric = labels != null ? "accuracy" : "agreement";
        double floatMetric = match(floatTop, ref);
        double full = match(top1(backend, PtqPass.quantize(prepared, stats, cfg), eval), ref);
        Set<String> layers = new LinkedHashSet<>();
        for (QdqRules.Site s : QdqRules.plan(prepared, cfg)) layers.add(prepared.nodes().get(s.node()).name());
        List<Layer> out = new ArrayList<>();
        int i = 0;
        for (String name : layers) {
            Graph q = PtqPass.quantize(prepared, stats, cfg.withInclude(List.of(name)));
            double m = match(top1(backend, q, eval), ref);
            String op = prepared.nodes().stream().filter(n -> n.name().equals(name)).map(Node::opType).findFirst().orElse("?");
            out.add(new Layer(name, op, m, floatMetric - m));
            if (progress != null) progress.printf(Locale.ROOT, "sensitivity: %d/%d %s %.4f%n", ++i, layers.size(), name, m);
        }
        out.sort(Comparator.comparingDouble(Layer::drop).reversed());
        return new Report(metric, floatMetric, full, out);
    }

    /** Top-1 class per sample of the first output (argmax over its last axis), over all feeds in order. */
    public static int[] top1(Graph g, List<Map<String, Tensor>> feeds) { return top1(Backends.cpu(), g, feeds); }

    /** As {@link #top1(Graph, List)} on {@code backend}. */
    public static int[] top1(Backend backend, Graph g, List<Map<String, Tensor>> feeds) {
        List<Integer> out = new ArrayList<>();
        String name = g.outputs().get(0).name();
        try (Session s = backend.open(g)) {
            for (Map<String, Tensor> f : feeds) {
                Tensor y = s.run(f).get(name);
                int classes = (int) y.dim(-1);
                for (int r = 0; r < y.size() / classes; r++) {
                    int best = 0;
                    double bv = Double.NEGATIVE_INFINITY;
                    for (int c = 0; c < classes; c++) {
                        double v = y.getDouble(r * classes + c);
                        if (v > bv) {
                            bv = v;
                            best = c;
                        }
                    }
                    out.add(best);
                }
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    static double match(int[] a, int[] b) {
        int n = Math.min(a.length, b.length), m = 0;
        for (int i = 0; i < n; i++) if (a[i] == b[i]) m++;
        return n == 0 ? 0 : (double) m / n;
    }
}
