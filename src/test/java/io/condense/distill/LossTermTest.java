package io.condense.distill;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Loss terms: values against plain double-loop formulas, gradients against central differences (float64). */
class LossTermTest {
    static INDArray randn(long seed, long... shape) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.DOUBLE, shape);
    }

    /** Central-difference check of every student gradient (and term parameter gradient) of {@code term}. */
    static void checkGradients(LossTerm term, Map<String, INDArray> s, Map<String, INDArray> t, int[] labels) {
        LossTerm.Value v = term.apply(s, t, labels);
        Map<String, INDArray> targets = new HashMap<>(s);
        targets.putAll(term.parameters());
        Map<String, INDArray> grads = new HashMap<>(v.studentGrads());
        grads.putAll(v.paramGrads());
        for (Map.Entry<String, INDArray> e : targets.entrySet()) {
            INDArray x = e.getValue(), g = grads.get(e.getKey());
            INDArray flat = x.reshape(x.length());
            double eps = 1e-6;
            for (int i = 0; i < x.length(); i++) {
                double o = flat.getDouble(i);
                flat.putScalar(i, o + eps);
                double p = term.apply(s, t, labels).value();
                flat.putScalar(i, o - eps);
                double m = term.apply(s, t, labels).value();
                flat.putScalar(i, o);
                double num = (p - m) / (2 * eps), ana = g.dup('c').reshape(g.length()).getDouble(i);
                assertEquals(num, ana, 1e-6 + 1e-5 * Math.abs(num), term.name() + " d/d" + e.getKey() + "[" + i + "]");
            }
        }
    }

    @Test void kdMatchesHintonsFormula() {
        INDArray zs = randn(1, 4, 5).muli(3), zt = randn(2, 4, 5).muli(3);
        double T = 20, alpha = 0.7;
        KdTerm kd = new KdTerm("s", "t", T, alpha);
        double got = kd.apply(Map.of("s", zs), Map.of("t", zt), null).value();
        double ref = 0;
        for (int n = 0; n < 4; n++) {
            double[] ps = softmax(zs.getRow(n).toDoubleVector(), T), pt = softmax(zt.getRow(n).toDoubleVector(), T);
            for (int k = 0; k < 5; k++) ref += pt[k] * Math.log(pt[k] / ps[k]);
        }
        ref = alpha * T * T * ref / 4;
        assertEquals(ref, got, 1e-9 * Math.abs(ref));
        checkGradients(new KdTerm("s", "t", 4, 0.5), new HashMap<>(Map.of("s", zs)), Map.of("t", zt), null);
    }

    private static double[] softmax(double[] z, double T) {
        double m = Double.NEGATIVE_INFINITY, s = 0;
        for (double v : z) m = Math.max(m, v / T);
        double[] p = new double[z.length];
        for (int i = 0; i < z.length; i++) s += p[i] = Math.exp(z[i] / T - m);
        for (int i = 0; i < z.length; i++) p[i] /= s;
        return p;
    }

    @Test void hardLabelCrossEntropy() {
        INDArray z = randn(3, 3, 4);
        int[] y = {0, 3, 1};
        double ref = 0;
        for (int n = 0; n < 3; n++) ref -= Math.log(softmax(z.getRow(n).toDoubleVector(), 1)[y[n]]);
        ref = 0.25 * ref / 3;
        assertEquals(ref, new HardLabelTerm("s", 0.25).apply(Map.of("s", z), Map.of(), y).value(), 1e-12);
        checkGradients(new HardLabelTerm("s", 0.25), new HashMap<>(Map.of("s", z)), Map.of(), y);
    }

    @Test void hintWithProjectionOnFeatureMaps() {
        // student 3 channels, teacher 5 channels, 2x2 positions: a learned 3->5 projection per position
        HintTerm h = new HintTerm("s", "t", 0.5, 7);
        Map<String, INDArray> s = new HashMap<>(Map.of("s", randn(4, 2, 3, 2, 2)));
        Map<String, INDArray> t = Map.of("t", randn(5, 2, 5, 2, 2));
        h.apply(s, t, null);
        assertEquals(1, h.parameters().size());
        checkGradients(h, s, t, null);
        // equal widths: no projection, value = weight * mean squared difference
        HintTerm same = new HintTerm("s", "t", 2, 0);
        INDArray a = randn(6, 3, 4), b = randn(7, 3, 4);
        double ref = 0;
        for (int i = 0; i < 12; i++) ref += Math.pow(a.getDouble(i / 4, i % 4) - b.getDouble(i / 4, i % 4), 2);
        assertEquals(2 * ref / 12, same.apply(Map.of("s", a), Map.of("t", b), null).value(), 1e-12);
        assertEquals(0, same.parameters().size());
        checkGradients(same, new HashMap<>(Map.of("s", a)), Map.of("t", b), null);
    }

    @Test void embeddingMseAndCosineOnPooledHiddenStates() {
        Map<String, INDArray> t = Map.of("t", randn(8, 2, 3, 4));
        for (EmbeddingTerm.Kind k : EmbeddingTerm.Kind.values()) {
            Map<String, INDArray> s = new HashMap<>(Map.of("s", randn(9, 2, 3, 4)));
            checkGradients(new EmbeddingTerm("s", "t", k, 0.8), s, t, null);
        }
        // cosine of a vector with a positive multiple of itself: loss 0
        INDArray a = randn(10, 3, 6);
        assertEquals(0, new EmbeddingTerm("s", "t", EmbeddingTerm.Kind.COSINE, 1).apply(Map.of("s", a), Map.of("t", a.mul(3)), null).value(), 1e-7);
        Supplier<Object> bad = () -> new EmbeddingTerm("s", "t", EmbeddingTerm.Kind.MSE, 1).apply(Map.of("s", a), Map.of("t", randn(1, 3, 5)), null);
        assertEquals("embedding loss: student 's' [3, 6] and teacher 't' [3, 5] are incompatible (need equal [N, D] or [N, L, D])",
                org.junit.jupiter.api.Assertions.assertThrows(io.condense.ir.ModelException.class, bad::get).getMessage());
    }
    /** With a mask, padded tokens do not count: the loss equals the unmasked loss on the unpadded rows, and gradients match differences. */
    @Test void maskedEmbeddingPoolsOnlyRealTokens() {
        INDArray h = randn(11, 2, 4, 3), teacher = randn(12, 2, 3);
        INDArray mask = Nd4j.create(new double[][] {{1, 1, 1, 0}, {1, 1, 0, 0}});
        for (EmbeddingTerm.Kind k : EmbeddingTerm.Kind.values()) {
            EmbeddingTerm term = new EmbeddingTerm("s", "t", k, 0.7, "m");
            Map<String, INDArray> s = new HashMap<>(Map.of("s", h, "m", mask));
            LossTerm.Value v = term.apply(s, Map.of("t", teacher), null);
            // reference: pool by hand over the real tokens, then the unmasked [N, D] term
            INDArray pooled = Nd4j.vstack(h.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 3),
                            org.nd4j.linalg.indexing.NDArrayIndex.all()).mean(true, 0),
                    h.get(org.nd4j.linalg.indexing.NDArrayIndex.point(1), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 2),
                            org.nd4j.linalg.indexing.NDArrayIndex.all()).mean(true, 0));
            double ref = new EmbeddingTerm("p", "t", k, 0.7).apply(Map.of("p", pooled), Map.of("t", teacher), null).value();
            assertEquals(ref, v.value(), 1e-6, k.name());
            INDArray g = v.studentGrads().get("s"), flat = h.reshape(h.length());
            assertEquals(1, v.studentGrads().size(), "no gradient for the mask");
            for (int i = 0; i < h.length(); i++) {
                double o = flat.getDouble(i), eps = 1e-6;
                flat.putScalar(i, o + eps);
                double p = term.apply(s, Map.of("t", teacher), null).value();
                flat.putScalar(i, o - eps);
                double m = term.apply(s, Map.of("t", teacher), null).value();
                flat.putScalar(i, o);
                assertEquals((p - m) / (2 * eps), g.dup('c').reshape(g.length()).getDouble(i), 1e-6, k + " d/ds[" + i + "]");
            }
        }
    }
}
