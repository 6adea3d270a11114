package io.condense.prune;

import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.onnx.ModelFiles;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Per-layer pruning sensitivity (Han et al. 2015, Fig. 5; Li et al. 2017): every layer is pruned alone at each
 * level (10..90% by default) with a criterion, the model evaluated, and the curves written as CSV, a markdown
 * table and a PNG plot (XChart). {@link #allocate} derives per-layer sparsities that reach a global target (of
 * parameters or of MACs) while allowing every layer the same accuracy drop.
 */
public final class SensitivityAnalysis {
    public enum Budget { PARAMS, MACS }

    /** One layer's accuracy at each level. */
    public record Curve(PrunableLayer layer, double[] levels, double[] accuracy) {}

    public record Result(String criterion, double baseline, List<Curve> curves) {}

    private SensitivityAnalysis() {}

    public static final double[] DEFAULT_LEVELS = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};

    /**
     * @param evaluate accuracy (or any higher-is-better metric) of a graph
     * @param base     the pruning configuration; its sparsity is replaced by each level, and only the analysed layer
     *                 is pruned
     */
    public static Result run(Graph g, PruneConfig base, double[] levels, ToDoubleFunction<Graph> evaluate,
                             java.util.function.Function<PruneConfig, PrunePass> passFor, PrintStream progress) {
        if (levels.length == 0) throw new ModelException("no sensitivity levels");
        for (double l : levels) PruneConfig.checkSparsity(l, "sensitivity level");
        List<PrunableLayer> layers = layers(g, base);
        double baseline = evaluate.applyAsDouble(g);
        if (progress != null) progress.printf(Locale.ROOT, "baseline: %.4f%n", baseline);
        List<Curve> curves = new ArrayList<>();
        for (PrunableLayer l : layers) {
            double[] acc = new double[levels.length];
            for (int i = 0; i < levels.length; i++) {
                acc[i] = evaluate.applyAsDouble(passFor.apply(variant(base, layers, l, levels[i])).apply(g));
                if (progress != null) progress.printf(Locale.ROOT, "%s at %.0f%%: %.4f%n", l.node(), 100 * levels[i], acc[i]);
            }
            curves.add(new Curve(l, levels.clone(), acc));
        }
        return new Result(base.criterion(), baseline, curves);
    }

    /** The layers a sensitivity analysis of {@code g} under {@code base} visits, in graph order. */
    public static List<PrunableLayer> layers(Graph g, PruneConfig base) {
        List<PrunableLayer> layers = PrunableLayer.find(g).stream().filter(l -> !base.excluded(l)).toList();
        if (layers.isEmpty()) throw new ModelException("nothing to prune: the model has no Conv, Gemm or MatMul with a float32 weight initializer");
        return layers;
    }

    /**
     * The configuration of one variant: only {@code layer} (one of {@code layers}) pruned, at {@code level}
     * (a global granularity becomes per layer). Each variant is independent, so a sweep can run them in parallel
     * (condense-spark runs one task per variant).
     */
    public static PruneConfig variant(PruneConfig base, List<PrunableLayer> layers, PrunableLayer layer, double level) {
        List<String> ex = new ArrayList<>(base.exclude());
        for (PrunableLayer o : layers) if (!o.weight().equals(layer.weight())) ex.add(java.util.regex.Pattern.quote(o.weight()));
        PruneConfig c = base.withSparsity(level).withExclude(ex);
        if (c.granularity().kind() == Granularity.Kind.GLOBAL) c = new PruneConfig(c.criterion(), Granularity.LAYER, c.sparsity(), Map.of(), c.exclude(),
                c.calibrationBatches(), c.hessianRows(), c.gradientBatches(), c.damp(), c.blockColumns(), c.sequential());
        return c;
    }

    public static String csv(Result r) {
        StringBuilder sb = new StringBuilder("layer,weight,op,params,macs,sparsity,accuracy\n");
        for (Curve c : r.curves()) {
            sb.append(String.format(Locale.ROOT, "%s,%s,%s,%d,%d,0,%.6f%n", c.layer().node(), c.layer().weight(), c.layer().op(), c.layer().size(), c.layer().macs(), r.baseline()));
            for (int i = 0; i < c.levels().length; i++) {
                sb.append(String.format(Locale.ROOT, "%s,%s,%s,%d,%d,%.2f,%.6f%n", c.layer().node(), c.layer().weight(), c.layer().op(), c.layer().size(),
                        c.layer().macs(), c.levels()[i], c.accuracy()[i]));
            }
        }
        return sb.toString();
    }

    public static String markdown(Result r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Accuracy with one layer pruned (%s), baseline %.4f%n%n| layer | params |", r.criterion(), r.baseline()));
        double[] lv = r.curves().get(0).levels();
        for (double l : lv) sb.append(String.format(Locale.ROOT, " %.0f%% |", 100 * l));
        sb.append("\n|---|---|");
        for (int i = 0; i < lv.length; i++) sb.append("---|");
        sb.append('\n');
        for (Curve c : r.curves()) {
            sb.append("| ").append(c.layer().node()).append(" (").append(c.layer().weight()).append(") | ").append(c.layer().size()).append(" |");
            for (double a : c.accuracy()) sb.append(String.format(Locale.ROOT, " %.4f |", a));
            sb.append('\n');
        }
        return sb.toString();
    }

    /** The accuracy-vs-sparsity plot, one line per layer, as PNG bytes. */
    public static byte[] png(Result r) {
        XYChart chart = new XYChartBuilder().width(800).height(500).title("Pruning sensitivity (" + r.criterion() + ")")
                .xAxisTitle("sparsity of the layer").yAxisTitle("accuracy").build();
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideSW);
        for (Curve c : r.curves()) {
            double[] x = new double[c.levels().length + 1], y = new double[x.length];
            y[0] = r.baseline();
            for (int i = 0; i < c.levels().length; i++) {
                x[i + 1] = c.levels()[i];
                y[i + 1] = c.accuracy()[i];
            }
            chart.addSeries(c.layer().node() + " (" + c.layer().size() + ")", x, y).setMarker(SeriesMarkers.CIRCLE);
        }
        try {
            return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new ModelException("cannot draw the sensitivity plot: " + e.getMessage());
        }
    }

    /** Writes sensitivity.csv, sensitivity.md and sensitivity.png into {@code dir} (each atomically). */
    public static List<Path> write(Result r, Path dir) {
        Path csv = dir.resolve("sensitivity.csv"), md = dir.resolve("sensitivity.md"), png = dir.resolve("sensitivity.png");
        byte[] c = csv(r).getBytes(StandardCharsets.UTF_8), m = markdown(r).getBytes(StandardCharsets.UTF_8), p = png(r);
        ModelFiles.writeAtomically(csv, o -> o.write(c));
        ModelFiles.writeAtomically(md, o -> o.write(m));
        ModelFiles.writeAtomically(png, o -> o.write(p));
        return List.of(csv, md, png);
    }

    /**
     * Per-layer sparsities reaching {@code target} (fraction of all analysed layers' parameters, or of their MACs,
     * removed) while every layer loses at most the same accuracy {@code t}: a layer gets the largest sparsity at
     * which its curve (interpolated linearly, first crossing) stays at or above {@code baseline - t}; {@code t} is
     * found by bisection. Layers are capped at the largest analysed level.
     *
     * @throws ModelException when the target cannot be reached within the analysed levels
     */
    public static Map<String, Double> allocate(Result r, double target, Budget budget) {
        PruneConfig.checkSparsity(target, "target sparsity");
        double totalW = 0;
        for (Curve c : r.curves()) totalW += weight(c, budget);
        if (totalW <= 0) throw new ModelException("MACs of the layers are unknown (need static input shapes); allocate by parameters");
        double lo = 0, hi = 1;
        for (Curve c : r.curves()) hi = Math.max(hi, r.baseline() - min(c.accuracy()) + 1e-9);
        if (reached(r, hi, budget, totalW) < target - 1e-9) {
            throw new ModelException(String.format(Locale.ROOT, "target %.3f cannot be reached: the analysed levels allow at most %.3f", target,
                    reached(r, hi, budget, totalW)));
        }
        for (int it = 0; it < 60; it++) {
            double mid = (lo + hi) / 2;
            if (reached(r, mid, budget, totalW) >= target) hi = mid;
            else lo = mid;
        }
        // at hi the target is reached (possibly overshooting through a jump); scale the layers down to hit it
        Map<String, Double> m = new LinkedHashMap<>();
        double got = reached(r, hi, budget, totalW);
        double f = got > 0 ? Math.min(1, target / got) : 0;
        for (Curve c : r.curves()) m.put(c.layer().weight(), Math.round(sparsityAt(r.baseline(), c, hi) * f * 1e4) / 1e4);
        return m;
    }

    private static double weight(Curve c, Budget b) { return b == Budget.PARAMS ? c.layer().size() : Math.max(0, c.layer().macs()); }

    private static double reached(Result r, double t, Budget b, double totalW) {
        double s = 0;
        for (Curve c : r.curves()) s += sparsityAt(r.baseline(), c, t) * weight(c, b);
        return s / totalW;
    }

    /** Largest sparsity whose (interpolated) accuracy is still >= baseline - t, up to the first crossing. */
    static double sparsityAt(double baseline, Curve c, double t) {
        double floor = baseline - t, prevS = 0, prevA = baseline;
        for (int i = 0; i < c.levels().length; i++) {
            double s = c.levels()[i], a = c.accuracy()[i];
            if (a < floor) {
                if (prevA <= a) return prevS;
                return prevS + (s - prevS) * (prevA - floor) / (prevA - a);
            }
            prevS = s;
            prevA = a;
        }
        return prevS;
    }

    private static double min(double[] a) {
        double m = Double.POSITIVE_INFINITY;
        for (double v : a) m = Math.min(m, v);
        return m;
    }
}
