package io.condense.recipe;

import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.data.Dataset;
import io.condense.data.Mnist;
import io.condense.data.Preprocessing;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.quant.CalibrationData;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * MNIST-format image classification data (a folder of train-/t10k- IDX files): calibration and training from the
 * training split, the metric (top-1 accuracy) on the first samples of the test split. The pixel scale is explicit:
 * given, or the one recorded in the model ({@link Preprocessing}), or 1/255.
 */
public final class ImageData implements TaskData {
    private final Path dir;
    private final Double givenScale;
    private double scale = Double.NaN;
    private Dataset train, test;

    /**
     * @param dir   folder with the IDX files
     * @param scale pixel multiplier, or null to take the model's recorded one (default 1/255)
     */
    public ImageData(Path dir, Double scale) {
        this.dir = dir;
        this.givenScale = scale;
        if (scale != null && !(scale > 0 && Double.isFinite(scale))) throw new ModelException("pixel scale must be positive, got " + scale);
    }

    public Path dir() { return dir; }

    private double scale() {
        if (Double.isNaN(scale)) scale = givenScale == null ? Preprocessing.UNIT_SCALE : givenScale;
        return scale;
    }

    @Override
    public String describe() {
        return "MNIST-format images in " + dir + " (" + preprocessing().describe() + ")";
    }

    @Override
    public Preprocessing preprocessing() { return Preprocessing.image(scale(), 0, 1); }

    @Override
    public synchronized Dataset trainSet() {
        if (train == null) train = Mnist.load(dir, true, (float) scale());
        return train;
    }

    @Override
    public synchronized Dataset testSet() {
        if (test == null) test = Mnist.load(dir, false, (float) scale());
        return test;
    }

    @Override
    public List<Map<String, Tensor>> calibration(Graph g, int batchSize, int maxBatches) {
        ValueInfo in = CalibrationData.singleInput(g);
        List<Map<String, Tensor>> out = new ArrayList<>();
        for (Map<String, Tensor> m : CalibrationData.fromDataset(in, trainSet(), CalibrationData.batchSize(in, batchSize), maxBatches)) out.add(m);
        return out;
    }

    @Override
    public Map<String, Tensor> benchmarkFeed(Graph g) {
        ValueInfo in = CalibrationData.singleInput(g);
        return CalibrationData.fromDataset(in, trainSet().head(64), CalibrationData.batchSize(in, 1), 1).iterator().next();
    }

    @Override
    public Metric metric(Graph reference, int batchSize, int samples) {
        Dataset d = samples > 0 ? testSet().head(samples) : testSet();
        return new Metric() {
            @Override public String name() { return "accuracy"; }

            @Override public double evaluate(Graph g) { return accuracy(g, d, batchSize); }
        };
    }

    /**
     * Pixel range check: a recorded preprocessing that contradicts {@code --scale} is warned about; without a record,
     * the model is run on 200 test images at this scale and at the other usual one (1 vs 1/255): a model that is much
     * more accurate, or as accurate and clearly more confident (mean top-1 softmax probability), at the other scale
     * expects that range. That is an error when the scale was left to its default (calibrating on the wrong range
     * gives activation ranges the deployed model never sees), a warning when it was given explicitly.
     */
    @Override
    public List<String> check(Graph g) {
        List<String> warnings = new ArrayList<>();
        boolean recorded = Preprocessing.of(g).map(p -> p.pixelScale() != null).orElse(false);
        scale = Preprocessing.pixelScale(g, givenScale, warnings::add);
        train = test = null;
        if (recorded) return warnings;
        String w = pixelRangeProblem(g, dir, scale, givenScale != null);
        if (w != null) {
            if (givenScale == null) throw new ModelException(w);
            warnings.add("warning: " + w);
        }
        return warnings;
    }

    /** The pixel-range diagnosis of {@link #check} for {@code g} on the test split of {@code dir}, or null when the scale looks right. */
    public static String pixelRangeProblem(Graph g, Path dir, double s, boolean explicit) {
        double other = Math.abs(s - 1) < 1e-12 ? Preprocessing.UNIT_SCALE : 1;
        double[] a = accuracyAndConfidence(g, Mnist.load(dir, false, (float) s).head(200));
        double[] b = accuracyAndConfidence(g, Mnist.load(dir, false, (float) other).head(200));
        String fix = other == 1 ? "1" : "0.00392156862745098", keep = s == 1 ? "1" : "0.00392156862745098";
        if (b[0] > a[0] + 0.3) {
            return String.format(Locale.ROOT, "the model expects %s pixels: with pixel scale %s it scores accuracy %.3f, with %s %.3f; pass --scale %s",
                    other == 1 ? "0..255" : "0..1", name(s), a[0], name(other), b[0], fix);
        }
        if (a[0] > b[0] + 0.3 || a[0] < 0.5 && b[0] < 0.5 || explicit) return null;
        // both ranges work about equally (e.g. mnist-8, which takes 0..255): only the user knows what the deployed model is fed
        String better = b[0] > a[0] || b[0] == a[0] && b[1] > a[1] ? fix : keep;
        return String.format(Locale.ROOT, "the model records no pixel range and scores about the same with pixel scale %s (accuracy %.3f) and %s (%.3f); "
                + "calibrating on the wrong range breaks the deployed model, so pass it explicitly: --scale %s (0..255) or --scale 0.00392156862745098 (0..1)"
                + " (%s scores better here)", name(s), a[0], name(other), b[0], "1", better.equals("1") ? "1" : "1/255");
    }

    private static String name(double s) { return Math.abs(s - 1) < 1e-12 ? "1" : Math.abs(s - Preprocessing.UNIT_SCALE) < 1e-9 ? "1/255" : Double.toString(s); }

    /** Top-1 accuracy and mean top-1 softmax probability of {@code g} on {@code d}. */
    static double[] accuracyAndConfidence(Graph g, Dataset d) {
        ValueInfo in = CalibrationData.singleInput(g);
        int bs = CalibrationData.batchSize(in, 50);
        String out = g.outputs().get(0).name();
        int[] labels = d.labels();
        double correct = 0, conf = 0;
        int seen = 0;
        try (Session s = Backends.cpu().open(g)) {
            for (Map<String, Tensor> feed : CalibrationData.fromDataset(in, d, bs, 0)) {
                Tensor y = s.run(feed).get(out);
                int classes = (int) y.dim(-1), rows = y.size() / classes;
                for (int r = 0; r < rows; r++, seen++) {
                    int best = 0;
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int c = 0; c < classes; c++) {
                        double v = y.getDouble(r * classes + c);
                        if (v > max) {
                            max = v;
                            best = c;
                        }
                    }
                    for (int c = 0; c < classes; c++) sum += Math.exp(y.getDouble(r * classes + c) - max);
                    conf += 1 / sum;
                    if (best == labels[seen]) correct++;
                }
            }
        }
        return new double[] {correct / Math.max(1, seen), conf / Math.max(1, seen)};
    }

    /** Top-1 accuracy of {@code g}'s first output on {@code d} through the CPU inference backend (float, QDQ and integer models). */
    public static double accuracy(Graph g, Dataset d, int batchSize) {
        ValueInfo in = CalibrationData.singleInput(g);
        int bs = CalibrationData.batchSize(in, batchSize);
        String out = g.outputs().get(0).name();
        int[] labels = d.labels();
        long correct = 0;
        int seen = 0;
        try (Session s = Backends.cpu().open(g)) {
            for (Map<String, Tensor> feed : CalibrationData.fromDataset(in, d, bs, 0)) {
                Tensor y = s.run(feed).get(out);
                int classes = (int) y.dim(-1), rows = y.size() / classes;
                for (int r = 0; r < rows; r++, seen++) {
                    int best = 0;
                    double bv = Double.NEGATIVE_INFINITY;
                    for (int c = 0; c < classes; c++) {
                        double v = y.getDouble(r * classes + c);
                        if (v > bv) {
                            bv = v;
                            best = c;
                        }
                    }
                    if (best == labels[seen]) correct++;
                }
            }
        }
        if (seen == 0) throw new ModelException("no samples evaluated");
        return (double) correct / seen;
    }
}
