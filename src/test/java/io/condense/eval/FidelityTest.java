package io.condense.eval;

import io.condense.OrtReference;
import io.condense.TestData;
import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fidelity statistics against textbook values, and MiniLM against itself and a perturbed copy, where the
 * reference numbers come from ONNX Runtime embeddings and the formulas written out plainly in this test.
 */
class FidelityTest {
    private static Graph miniLm;
    private static List<TextBatch> batches;

    @BeforeAll
    static void load() throws Exception {
        Path p = TestData.miniLm();
        org.junit.jupiter.api.Assumptions.assumeTrue(p != null, "MiniLM jar not on the test class path: skipping");
        miniLm = OnnxImporter.load(p);
        byte[] json;
        try (InputStream in = FidelityTest.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            json = in.readAllBytes();
        }
        try (HfTokenizer tok = HfTokenizer.fromJson(json, "MiniLM tokenizer", 0)) {
            batches = TextData.batches(miniLm, tok, TextData.builtinCalibrationText().subList(0, 24), 8);
        }
    }

    @Test
    void spearmanTextbookExamples() {
        // Wikipedia "Spearman's rank correlation coefficient", worked example: IQ vs hours of TV per week, rho = -29/165
        double[] iq = {106, 100, 86, 101, 99, 103, 97, 113, 112, 110};
        double[] tv = {7, 27, 2, 50, 28, 29, 20, 12, 6, 17};
        assertEquals(-29.0 / 165.0, Fidelity.spearman(iq, tv), 1e-12);
        // ties get the average rank: ranks of {10, 20, 20, 30} are 1, 2.5, 2.5, 4
        assertArrayEquals(new double[] {1, 2.5, 2.5, 4}, Fidelity.ranks(new double[] {10, 20, 20, 30}), 0);
        // with ties: x = 1..5, y = {1, 2, 2, 3, 5} -> Pearson of ranks (1,2,3,4,5) and (1, 2.5, 2.5, 4, 5)
        // = 9.5 / sqrt(10 * 9.5) = 0.9746794344808963
        assertEquals(0.9746794344808963, Fidelity.spearman(new double[] {1, 2, 3, 4, 5}, new double[] {1, 2, 2, 3, 5}), 1e-12);
        assertEquals(1.0, Fidelity.spearman(new double[] {1, 5, 9}, new double[] {2, 3, 100}), 1e-12, "monotone = 1");
        // NumPy's default (linear) percentile: np.percentile([1, 2, 3, 4], 1) = 1.03
        assertEquals(1.03, Fidelity.percentile(new double[] {1, 2, 3, 4}, 1), 1e-12);
        assertEquals(4.0, Fidelity.percentile(new double[] {1, 2, 3, 4}, 100), 0);
    }

    @Test
    void maskedMeanPoolAndOutputStats() {
        // [2, 3, 2]: sentence 0 has 2 real tokens, sentence 1 has 3
        Tensor h = Tensor.of(new float[] {1, 2, 3, 4, 100, 100, 1, 1, 2, 2, 3, 3}, 2, 3, 2);
        float[][] e = Fidelity.meanPool(h, new long[][] {{1, 1, 0}, {1, 1, 1}});
        assertArrayEquals(new float[] {2, 3}, e[0]);
        assertArrayEquals(new float[] {2, 2}, e[1]);
        Fidelity.EmbeddingReport r = Fidelity.compareEmbeddings(new float[][] {{1, 0}, {0, 1}, {1, 1}},
                new float[][] {{1, 0}, {1, 1}, {1, 1}});
        // cosines 1, 1/sqrt(2), 1
        assertEquals((2 + Math.sqrt(0.5)) / 3, r.meanCosine(), 1e-9);
        assertEquals(Math.sqrt(0.5), r.minCosine(), 1e-9);
        assertEquals(3, r.pairs());
    }

    @Test
    void miniLmAgainstItselfIsExact() {
        Fidelity.Report r = Fidelity.compareText(miniLm, miniLm, batches);
        assertEquals(24, r.embeddings().sentences());
        assertEquals(1.0, r.embeddings().meanCosine(), 1e-6);
        assertEquals(1.0, r.embeddings().minCosine(), 1e-6);
        assertEquals(1.0, r.embeddings().spearman(), 1e-12);
        assertEquals(0.0, r.outputs().get(0).maxAbsDiff(), 0);
        assertEquals(1.0, r.outputs().get(0).top1Agreement(), 0);
    }

    @Test
    void miniLmAgainstPerturbedCopyMatchesAPlainComputationOnOnnxRuntime() throws Exception {
        // every float weight with Gaussian noise of 5% of its tensor's RMS
        Graph.Builder b = miniLm.toBuilder();
        SplittableRandom rnd = new SplittableRandom(7);
        for (Map.Entry<String, Tensor> e : miniLm.initializers().entrySet()) {
            Tensor w = e.getValue();
            if (w.dtype() != io.condense.ir.DType.FLOAT32 || w.size() < 100) continue;
            float[] v = w.toFloatArray();
            double rms = 0;
            for (float x : v) rms += (double) x * x;
            rms = Math.sqrt(rms / v.length);
            float[] n = v.clone();
            for (int i = 0; i < n.length; i++) n[i] += (float) (0.05 * rms * gaussian(rnd));
            b.initializer(e.getKey(), Tensor.of(n, w.shape()));
        }
        Graph noisy = b.build();
        Fidelity.Report r = Fidelity.compareText(noisy, miniLm, batches);

        // independent: ONNX Runtime runs both models; pooling, cosine and Spearman (no ties: 1 - 6 sum d^2 / (n (n^2 - 1))) written plainly
        List<double[]> eRef = new ArrayList<>(), eNoisy = new ArrayList<>();
        double maxAbs = 0;
        try (OrtReference ref = new OrtReference(OnnxExporter.toBytes(miniLm)); OrtReference nz = new OrtReference(OnnxExporter.toBytes(noisy))) {
            for (TextBatch tb : batches) {
                Map<String, Tensor> f = tb.feeds(miniLm.inputs());
                float[] a = ref.run(f).get("last_hidden_state").toFloatArray();
                float[] c = nz.run(f).get("last_hidden_state").toFloatArray();
                int seq = tb.length();
                for (int i = 0; i < a.length; i++) {
                    int token = i / 384;
                    if (tb.mask()[token / seq][token % seq] == 1) maxAbs = Math.max(maxAbs, Math.abs(a[i] - c[i])); // real tokens only
                }
                eRef.addAll(plainPool(a, tb.mask(), 384));
                eNoisy.addAll(plainPool(c, tb.mask(), 384));
            }
        }
        int n = eRef.size();
        double[] cos = new double[n];
        double mean = 0;
        for (int i = 0; i < n; i++) {
            cos[i] = plainCos(eNoisy.get(i), eRef.get(i));
            mean += cos[i] / n;
        }
        double min = Arrays.stream(cos).min().orElseThrow();
        List<Double> simRef = new ArrayList<>(), simNoisy = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                simRef.add(plainCos(eRef.get(i), eRef.get(j)));
                simNoisy.add(plainCos(eNoisy.get(i), eNoisy.get(j)));
            }
        }
        double[] ra = plainRanks(simNoisy), rb = plainRanks(simRef);
        double d2 = 0;
        for (int i = 0; i < ra.length; i++) d2 += (ra[i] - rb[i]) * (ra[i] - rb[i]);
        long m = ra.length;
        double rho = 1 - 6 * d2 / ((double) m * (m * m - 1));

        Fidelity.EmbeddingReport e = r.embeddings();
        assertTrue(e.meanCosine() < 0.9999 && e.meanCosine() > 0.5, "noise lowers the cosine: " + e.format());
        assertTrue(e.spearman() < 0.99999, e.format());
        assertEquals(mean, e.meanCosine(), 1e-4, "mean cosine vs ONNX Runtime + plain formula");
        assertEquals(min, e.minCosine(), 1e-4, "min cosine");
        assertEquals(rho, e.spearman(), 1e-4, "Spearman vs the no-ties formula on ONNX Runtime embeddings");
        assertTrue(e.p1Cosine() >= e.minCosine() && e.p1Cosine() <= e.meanCosine(), e.format());
        assertEquals(maxAbs, r.outputs().get(0).maxAbsDiff(), 1e-3 + 1e-3 * maxAbs, "max abs output difference over real tokens");
        long realTokens = batches.stream().mapToLong(tb -> java.util.Arrays.stream(tb.mask()).flatMapToLong(java.util.Arrays::stream).sum()).sum();
        assertEquals(realTokens, r.outputs().get(0).rows(), "padded positions are left out");
        assertTrue(r.outputs().get(0).top1Agreement() < 1.0, r.outputs().get(0).format());
        System.out.println("MiniLM vs 5%-noise copy: " + e.format() + "; reference mean " + mean + " min " + min + " rho " + rho);
    }

    private static double gaussian(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }

    private static List<double[]> plainPool(float[] h, long[][] mask, int dim) {
        List<double[]> out = new ArrayList<>();
        int seq = mask[0].length;
        for (int b = 0; b < mask.length; b++) {
            double[] s = new double[dim];
            int count = 0;
            for (int t = 0; t < seq; t++) {
                if (mask[b][t] != 1) continue;
                count++;
                for (int k = 0; k < dim; k++) s[k] += h[(b * seq + t) * dim + k];
            }
            for (int k = 0; k < dim; k++) s[k] /= count;
            out.add(s);
        }
        return out;
    }

    private static double plainCos(double[] a, double[] b) {
        double d = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            d += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return d / Math.sqrt(na * nb);
    }

    private static double[] plainRanks(List<Double> v) {
        Integer[] idx = new Integer[v.size()];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        Arrays.sort(idx, (p, q) -> Double.compare(v.get(p), v.get(q)));
        double[] r = new double[idx.length];
        for (int i = 0; i < idx.length; i++) r[idx[i]] = i + 1;
        return r;
    }
}
