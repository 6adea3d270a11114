package io.condense.eval;

import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.data.text.TextBatch;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How closely a compressed model reproduces its reference, for models without class labels.
 * <ul>
 *   <li>Sentence-embedding models ({@link #compareText}): mean-pooled embeddings (attention-mask aware, over the first
 *   output [batch, seq, hidden]; a rank-2 first output [batch, hidden] is taken as already pooled), their cosine
 *   similarity to the reference's (mean, 1st percentile, min), and the Spearman rank correlation between the
 *   model's and the reference's cosine similarities of all sentence pairs.</li>
 *   <li>Any model ({@link #compareOutputs}): per output, max and mean absolute difference and top-1 agreement
 *   (argmax over the last axis, per row). On text batches, rows of [batch, seq, ...] outputs at padded token
 *   positions are left out.</li>
 * </ul>
 * The statistics are plain functions ({@link #compareEmbeddings}, {@link #spearman}, {@link #meanPool}) that
 * pruning, distillation and the compress pipeline can call on their own arrays.
 */
public final class Fidelity {
    private Fidelity() {}

    /** Embedding agreement over {@code sentences} sentences and their {@code pairs} pairs. */
    public record EmbeddingReport(int sentences, double meanCosine, double p1Cosine, double minCosine, double spearman, long pairs) {
        public String format() {
            return String.format(Locale.ROOT, "embeddings (%d sentences): cosine mean %.6f, p1 %.6f, min %.6f; Spearman of %d pairwise similarities %.6f",
                    sentences, meanCosine, p1Cosine, minCosine, pairs, spearman);
        }
    }

    /** Agreement of one output over every evaluated batch. */
    public record OutputReport(String output, long values, double maxAbsDiff, double meanAbsDiff, long rows, double top1Agreement) {
        public String format() {
            return String.format(Locale.ROOT, "output %s (%d values): max abs diff %.6g, mean abs diff %.6g, top-1 agreement %.4f (%d rows)",
                    output, values, maxAbsDiff, meanAbsDiff, top1Agreement, rows);
        }
    }

    /** Both reports of a text evaluation. */
    public record Report(EmbeddingReport embeddings, List<OutputReport> outputs) {}

    // ---- running models -------------------------------------------------------------------------------------

    /** Embeddings of every sentence of {@code batches} by {@code g} on the CPU backend. */
    public static float[][] embeddings(Graph g, List<TextBatch> batches) {
        try (Session s = Backends.cpu().open(g)) {
            return embeddings(s, g, batches);
        }
    }

    /** Embeddings of every sentence of {@code batches} by an open session of {@code g}. */
    public static float[][] embeddings(Session s, Graph g, List<TextBatch> batches) {
        List<float[]> out = new ArrayList<>();
        for (TextBatch b : batches) {
            Map<String, Tensor> r = s.run(b.feeds(g.inputs()));
            out.addAll(Arrays.asList(pool(r.get(g.outputs().get(0).name()), b.mask())));
        }
        return out.toArray(new float[0][]);
    }

    /**
     * Runs {@code model} and {@code reference} (CPU backend) on the same text batches and compares embeddings and
     * every output.
     */
    public static Report compareText(Graph model, Graph reference, List<TextBatch> batches) {
        return compareText(Backends.cpu(), model, reference, batches);
    }

    /** As {@link #compareText(Graph, Graph, List)}, both models on {@code backend}. */
    public static Report compareText(io.condense.backend.Backend backend, Graph model, Graph reference, List<TextBatch> batches) {
        checkOutputs(model, reference);
        List<float[]> e = new ArrayList<>(), r = new ArrayList<>();
        OutputAgreement[] acc = accumulators(model);
        try (Session sm = backend.open(model); Session sr = backend.open(reference)) {
            long nb = 0;
            for (TextBatch b : batches) {
                Map<String, Tensor> ym = sm.run(b.feeds(model.inputs()));
                Map<String, Tensor> yr = sr.run(b.feeds(reference.inputs()));
                e.addAll(Arrays.asList(pool(ym.get(model.outputs().get(0).name()), b.mask())));
                r.addAll(Arrays.asList(pool(yr.get(reference.outputs().get(0).name()), b.mask())));
                add(acc, nb++, model, reference, ym, yr, b.mask());
            }
        }
        return new Report(compareEmbeddings(e.toArray(new float[0][]), r.toArray(new float[0][])), reports(acc));
    }

    /** Runs both models (CPU backend) on every feed map and compares their outputs, by position. */
    public static List<OutputReport> compareOutputs(Graph model, Graph reference, Iterable<Map<String, Tensor>> feeds) {
        return compareOutputs(Backends.cpu(), model, reference, feeds);
    }

    /** As {@link #compareOutputs(Graph, Graph, Iterable)}, both models on {@code backend}. */
    public static List<OutputReport> compareOutputs(io.condense.backend.Backend backend, Graph model, Graph reference,
                                                    Iterable<Map<String, Tensor>> feeds) {
        checkOutputs(model, reference);
        OutputAgreement[] acc = accumulators(model);
        int n = 0;
        try (Session sm = backend.open(model); Session sr = backend.open(reference)) {
            for (Map<String, Tensor> f : feeds) {
                add(acc, n, model, reference, sm.run(f), sr.run(f), null);
                n++;
            }
        }
        if (n == 0) throw new ModelException("no input batches to compare the models on");
        return reports(acc);
    }

    private static void checkOutputs(Graph model, Graph reference) {
        if (model.outputs().isEmpty()) throw new ModelException("the model has no outputs");
        if (model.outputs().size() != reference.outputs().size()) {
            throw new ModelException("the model has " + model.outputs().size() + " outputs, the reference " + reference.outputs().size());
        }
    }

    private static OutputAgreement[] accumulators(Graph g) {
        OutputAgreement[] a = new OutputAgreement[g.outputs().size()];
        for (int i = 0; i < a.length; i++) a[i] = new OutputAgreement(g.outputs().get(i).name());
        return a;
    }

    private static void add(OutputAgreement[] acc, long batch, Graph model, Graph reference, Map<String, Tensor> ym, Map<String, Tensor> yr, long[][] mask) {
        for (int i = 0; i < acc.length; i++) {
            acc[i].add(batch, ym.get(model.outputs().get(i).name()), yr.get(reference.outputs().get(i).name()), mask);
        }
    }

    private static List<OutputReport> reports(OutputAgreement[] acc) {
        List<OutputReport> l = new ArrayList<>();
        for (OutputAgreement a : acc) l.add(a.report());
        return l;
    }

    static int argmax(double[] v, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (v[from + i] > v[from + best]) best = i;
        return best;
    }

    // ---- statistics -------------------------------------------------------------------------------------------

    /**
     * Sentence embeddings from a model output: [batch, seq, hidden] is mean-pooled over the tokens whose mask is
     * nonzero; [batch, hidden] is returned as is.
     */
    public static float[][] pool(Tensor output, long[][] mask) {
        if (output == null) throw new ModelException("the model produced no first output");
        if (output.rank() == 3) return meanPool(output, mask);
        if (output.rank() == 2 && output.dim(0) == mask.length) {
            int dim = (int) output.dim(1);
            float[] f = output.toFloatArray();
            float[][] out = new float[mask.length][];
            for (int b = 0; b < out.length; b++) out[b] = Arrays.copyOfRange(f, b * dim, (b + 1) * dim);
            return out;
        }
        throw new ModelException("expected the first output to be [batch, tokens, hidden] or pooled [batch, hidden], got "
                + Arrays.toString(output.shape()));
    }

    /** Mean of the token vectors of {@code hidden} [batch, seq, dim] over the tokens whose mask is nonzero. */
    public static float[][] meanPool(Tensor hidden, long[][] mask) {
        long[] s = hidden.shape();
        if (s.length != 3 || s[0] != mask.length || (mask.length > 0 && s[1] != mask[0].length)) {
            throw new ModelException("expected [batch, tokens, dim] = [" + mask.length + ", " + (mask.length == 0 ? 0 : mask[0].length)
                    + ", dim], got " + Arrays.toString(s));
        }
        int seq = (int) s[1], dim = (int) s[2];
        float[] h = hidden.toFloatArray();
        float[][] out = new float[mask.length][dim];
        for (int b = 0; b < mask.length; b++) {
            double[] acc = new double[dim];
            int n = 0;
            for (int t = 0; t < seq; t++) {
                if (mask[b][t] == 0) continue;
                n++;
                int base = (b * seq + t) * dim;
                for (int k = 0; k < dim; k++) acc[k] += h[base + k];
            }
            for (int k = 0; k < dim; k++) out[b][k] = (float) (acc[k] / Math.max(n, 1));
        }
        return out;
    }

    /**
     * Cosine similarity of each embedding to its reference (mean, 1st percentile with linear interpolation, min)
     * and the Spearman correlation of the two sets of pairwise cosine similarities (all i < j).
     */
    public static EmbeddingReport compareEmbeddings(float[][] emb, float[][] ref) {
        if (emb.length != ref.length) throw new ModelException(emb.length + " embeddings vs " + ref.length + " reference embeddings");
        if (emb.length == 0) throw new ModelException("no embeddings to compare");
        double[] cos = new double[emb.length];
        double sum = 0;
        for (int i = 0; i < emb.length; i++) {
            if (emb[i].length != ref[i].length) throw new ModelException("embedding size " + emb[i].length + " vs reference " + ref[i].length);
            cos[i] = cosine(emb[i], ref[i]);
            sum += cos[i];
        }
        double[] sorted = cos.clone();
        Arrays.sort(sorted);
        double rho = Double.NaN;
        long pairs = (long) emb.length * (emb.length - 1) / 2;
        if (emb.length >= 3) {
            if (pairs > Integer.MAX_VALUE - 8) throw new ModelException("too many sentences for all-pairs Spearman: " + emb.length);
            double[] a = pairwise(emb), b = pairwise(ref);
            rho = spearman(a, b);
        }
        return new EmbeddingReport(emb.length, sum / emb.length, percentile(sorted, 1), sorted[0], rho, pairs);
    }

    /** Cosine similarities of all pairs i < j, in the order (0,1), (0,2), ..., (1,2), ... */
    public static double[] pairwise(float[][] e) {
        int n = e.length;
        double[] norms = new double[n];
        for (int i = 0; i < n; i++) norms[i] = norm(e[i]);
        double[] out = new double[n * (n - 1) / 2];
        int k = 0;
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) out[k++] = dot(e[i], e[j]) / (norms[i] * norms[j]);
        }
        return out;
    }

    public static double cosine(float[] a, float[] b) { return dot(a, b) / (norm(a) * norm(b)); }

    public static double norm(float[] v) { return Math.sqrt(dot(v, v)); }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    /** Spearman's rank correlation: Pearson correlation of the ranks, ties given their average rank. */
    public static double spearman(double[] x, double[] y) {
        if (x.length != y.length) throw new IllegalArgumentException("lengths differ: " + x.length + " vs " + y.length);
        return pearson(ranks(x), ranks(y));
    }

    /** Ranks 1..n of {@code v}; tied values share the mean of their ranks (primitive arrays only: pairs can be millions). */
    public static double[] ranks(double[] v) {
        double[] sorted = v.clone();
        Arrays.sort(sorted);
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            int lo = bound(sorted, v[i], false), hi = bound(sorted, v[i], true); // [lo, hi) hold the value
            r[i] = (lo + hi - 1) / 2.0 + 1;
        }
        return r;
    }

    /** First index whose value is >= x ({@code upper}: > x), in {@link Double#compare} order. */
    private static int bound(double[] a, double x, boolean upper) {
        int lo = 0, hi = a.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            int c = Double.compare(a[mid], x);
            if (c < 0 || (upper && c == 0)) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /** Pearson correlation coefficient (NaN when either side is constant). */
    public static double pearson(double[] x, double[] y) {
        int n = x.length;
        double mx = 0, my = 0;
        for (int i = 0; i < n; i++) {
            mx += x[i];
            my += y[i];
        }
        mx /= n;
        my /= n;
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++) {
            double a = x[i] - mx, b = y[i] - my;
            sxy += a * b;
            sxx += a * a;
            syy += b * b;
        }
        return sxy / Math.sqrt(sxx * syy);
    }

    /** The {@code p}-th percentile of ascending {@code sorted}, interpolated linearly between ranks (NumPy's default). */
    public static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) return Double.NaN;
        double pos = p / 100.0 * (sorted.length - 1);
        int lo = (int) Math.floor(pos), hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }
}
