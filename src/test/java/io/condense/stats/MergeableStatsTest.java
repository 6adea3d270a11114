package io.condense.stats;

import io.condense.eval.Fidelity;
import io.condense.eval.OutputAgreement;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.prune.LayerInputStats;
import io.condense.prune.PrunableLayer;
import io.condense.quant.Calibration;
import io.condense.quant.CalibrationData;
import io.condense.quant.CalibrationMethod;
import io.condense.quant.CalibrationResult;
import io.condense.quant.QuantConfig;
import io.condense.quant.TensorStats;
import io.condense.train.Models;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BinaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every mergeable statistic, computed over 1, 3 and 8 random contiguous splits of its data (each part serialized
 * and deserialized, as Spark ships it, and merged in a random order), equals the single-process result bit for bit.
 */
class MergeableStatsTest {
    static final int[] PARTS = {1, 3, 8};

    /** Random cut points: {@code parts} contiguous non-empty ranges of [0, n). */
    static int[] cuts(int n, int parts, Random r) {
        List<Integer> all = new ArrayList<>();
        for (int i = 1; i < n; i++) all.add(i);
        Collections.shuffle(all, r);
        int[] c = new int[parts + 1];
        for (int i = 1; i < parts; i++) c[i] = all.get(i - 1);
        c[parts] = n;
        Arrays.sort(c);
        return c;
    }

    @SuppressWarnings("unchecked")
    static <T extends Serializable> T roundTrip(T o) {
        try {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(b)) { out.writeObject(o); }
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(b.toByteArray()))) { return (T) in.readObject(); }
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** Merges the parts in a random order (a random fold or a random binary tree). */
    static <T> T mergeShuffled(List<T> parts, BinaryOperator<T> merge, Random r) {
        List<T> l = new ArrayList<>(parts);
        Collections.shuffle(l, r);
        while (l.size() > 1) {
            int i = r.nextInt(l.size() - 1);
            T m = merge.apply(l.get(i), l.get(i + 1));
            l.remove(i + 1);
            l.set(i, m);
        }
        return l.get(0);
    }

    @Test
    void orderedSumIsIndependentOfSplitsAndMergeOrder() {
        Random r = new Random(1);
        int n = 77, len = 5;
        double[][] terms = new double[n][len];
        for (double[] t : terms) for (int j = 0; j < len; j++) t[j] = r.nextGaussian() * Math.pow(10, r.nextInt(12) - 6);
        OrderedSum single = new OrderedSum(len);
        for (int i = 0; i < n; i++) single.add(i, terms[i]);
        double[] ref = single.total();
        double[] naive = new double[len];
        for (double[] t : terms) for (int j = 0; j < len; j++) naive[j] += t[j];
        // the plain running sum rounds differently: the test data do exercise the order dependence
        assertTrue(!Arrays.equals(naive, ref), "expected the running sum to differ from the pairwise sum in some bit");
        for (int parts : PARTS) {
            for (int trial = 0; trial < 5; trial++) {
                int[] c = cuts(n, parts, r);
                List<OrderedSum> ps = new ArrayList<>();
                for (int p = 0; p < parts; p++) {
                    OrderedSum s = new OrderedSum(len);
                    for (int i = c[p]; i < c[p + 1]; i++) s.add(i, terms[i]);
                    ps.add(roundTrip(s));
                }
                OrderedSum m = mergeShuffled(ps, OrderedSum::merge, r);
                assertArrayEquals(ref, m.total(), 0.0, parts + " parts");
                assertEquals(n, m.chunks());
            }
        }
        // non-contiguous parts (chunks dealt out at random) and a shuffled insertion order give the same bits too
        OrderedSum[] deal = {new OrderedSum(len), new OrderedSum(len), new OrderedSum(len)};
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) order.add(i);
        Collections.shuffle(order, r);
        for (int i : order) deal[r.nextInt(3)].add(i, terms[i]);
        assertArrayEquals(ref, deal[2].merge(deal[0]).merge(deal[1]).total(), 0.0);
        assertThrows(IllegalStateException.class, () -> single.add(5, terms[5]));
        assertThrows(IllegalStateException.class, () -> single.copy().merge(single));
        assertArrayEquals(new double[len], new OrderedSum(len).total(), 0.0);
    }

    @Test
    void calibrationStatisticsMergeExactly() {
        Graph g = Models.lenet5(3);
        List<Map<String, Tensor>> batches = new ArrayList<>();
        CalibrationData.random(g.inputs().get(0), 4, 11, 7, -1, 1).forEach(batches::add);
        List<String> tensors = new ArrayList<>();
        for (var n : g.nodes()) tensors.add(n.output(0));
        QuantConfig cfg = QuantConfig.defaults();
        CalibrationResult single = Calibration.run(g, tensors, batches, cfg, null);
        Random r = new Random(2);
        for (int parts : PARTS) {
            int[] c = cuts(batches.size(), parts, r);
            List<CalibrationResult> ps = new ArrayList<>();
            for (int p = 0; p < parts; p++) ps.add(roundTrip(Calibration.run(g, tensors, batches.subList(c[p], c[p + 1]), cfg, null)));
            CalibrationResult m = mergeShuffled(ps, CalibrationResult::merge, r);
            assertEquals(single.batches(), m.batches());
            assertEquals(single.samples(), m.samples());
            for (String t : single.stats().keySet()) {
                TensorStats a = single.get(t), b = m.get(t);
                assertEquals(a.count(), b.count(), t);
                assertEquals(Double.doubleToLongBits(a.min()), Double.doubleToLongBits(b.min()), t);
                assertEquals(Double.doubleToLongBits(a.max()), Double.doubleToLongBits(b.max()), t);
                assertArrayEquals(a.histogram().counts(), b.histogram().counts(), t);
                assertEquals(a.histogram().binWidth(), b.histogram().binWidth(), 0.0, t);
                for (CalibrationMethod method : CalibrationMethod.values()) {
                    QuantConfig mc = cfg.withMethod(method);
                    assertEquals(a.threshold(mc), b.threshold(mc), 0.0, t + " " + method);
                }
            }
            assertEquals(single.qparams(cfg).toString(), m.qparams(cfg).toString());
        }
    }

    @Test
    void layerMomentsAndHessiansMergeExactly() {
        Graph g = Models.lenet5(4);
        List<Map<String, Tensor>> batches = new ArrayList<>();
        CalibrationData.random(g.inputs().get(0), 3, 9, 8, 0, 1).forEach(batches::add);
        List<PrunableLayer> layers = PrunableLayer.find(g);
        assertTrue(layers.stream().anyMatch(l -> l.op().equals("Conv")) && layers.stream().anyMatch(l -> !l.op().equals("Conv")));
        Map<String, LayerInputStats> single = LayerInputStats.collect(g, layers, batches, 0, true, 0, null);
        Random r = new Random(3);
        for (int parts : PARTS) {
            int[] c = cuts(batches.size(), parts, r);
            List<Map<String, LayerMoments[]>> ps = new ArrayList<>();
            for (int p = 0; p < parts; p++) {
                ps.add(LayerInputStats.moments(g, layers, batches.subList(c[p], c[p + 1]), 0, true, 0, c[p], null));
            }
            for (PrunableLayer l : layers) {
                List<LayerMoments[]> per = new ArrayList<>();
                for (Map<String, LayerMoments[]> p : ps) per.add(roundTrip(p.get(l.weight())));
                LayerMoments[] m = mergeShuffled(per, (a, b) -> {
                    for (int i = 0; i < a.length; i++) a[i].merge(b[i]);
                    return a;
                }, r);
                LayerInputStats got = new LayerInputStats(l, m), want = single.get(l.weight());
                assertEquals(want.rows, got.rows);
                assertEquals(want.hessianRows(), got.hessianRows());
                for (int gi = 0; gi < want.groups; gi++) {
                    assertArrayEquals(want.sumSquares[gi], got.sumSquares[gi], 0.0, l.weight());
                    for (int i = 0; i < want.xtx[gi].length; i++) assertArrayEquals(want.xtx[gi][i], got.xtx[gi][i], 0.0, l.weight());
                }
            }
        }
        // the Hessian is the real X^T X: its diagonal is the column sum of squares
        LayerInputStats s = single.values().iterator().next();
        for (int j = 0; j < s.sumSquares[0].length; j++) assertEquals(s.sumSquares[0][j], s.xtx[0][j][j], 1e-9 * Math.max(1, s.sumSquares[0][j]));
    }

    @Test
    void classSumsMergeExactlyAndGiveTheMean() {
        Random r = new Random(4);
        int n = 1500, d = 6, k = 4;
        int[] labels = new int[n];
        float[][] f = new float[n][d];
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = i;
            labels[i] = r.nextInt(k);
            for (int j = 0; j < d; j++) f[i][j] = (float) (r.nextGaussian() * 3 + labels[i]);
        }
        ClassSums single = new ClassSums(k, d);
        single.addAll(ids, labels, f);
        int chunks = (n + ClassSums.CHUNK - 1) / ClassSums.CHUNK;
        for (int parts : new int[] {1, 3, chunks}) {
            int[] c = cuts(chunks, parts, r);
            List<ClassSums> ps = new ArrayList<>();
            for (int p = 0; p < parts; p++) {
                ClassSums s = new ClassSums(k, d);
                for (int ch = c[p]; ch < c[p + 1]; ch++) {
                    int a = ch * ClassSums.CHUNK, b = Math.min(n, a + ClassSums.CHUNK);
                    s.addChunk(ch, Arrays.copyOfRange(labels, a, b), Arrays.copyOfRange(f, a, b));
                }
                ps.add(roundTrip(s));
            }
            ClassSums m = mergeShuffled(ps, ClassSums::merge, r);
            for (int cl = 0; cl < k; cl++) {
                assertEquals(single.count(cl), m.count(cl));
                assertArrayEquals(single.mean(cl), m.mean(cl), 0.0);
            }
        }
        // against the plain mean in high precision
        for (int cl = 0; cl < k; cl++) {
            java.math.BigDecimal[] s = new java.math.BigDecimal[d];
            Arrays.fill(s, java.math.BigDecimal.ZERO);
            long cnt = 0;
            for (int i = 0; i < n; i++) {
                if (labels[i] != cl) continue;
                cnt++;
                for (int j = 0; j < d; j++) s[j] = s[j].add(new java.math.BigDecimal(f[i][j]));
            }
            assertEquals(cnt, single.count(cl));
            for (int j = 0; j < d; j++) {
                double exact = s[j].divide(java.math.BigDecimal.valueOf(cnt), java.math.MathContext.DECIMAL128).doubleValue();
                assertEquals(exact, single.mean(cl)[j], 1e-12 * Math.max(1, Math.abs(exact)));
            }
        }
    }

    @Test
    void evaluationCountsAndOutputAgreementMergeExactly() {
        Random r = new Random(5);
        int nb = 13, classes = 5;
        List<Tensor[]> batches = new ArrayList<>();
        List<int[][]> preds = new ArrayList<>();
        for (int b = 0; b < nb; b++) {
            int rows = 2 + r.nextInt(5);
            float[] m = new float[rows * classes], ref = new float[rows * classes];
            for (int i = 0; i < m.length; i++) {
                ref[i] = (float) r.nextGaussian();
                m[i] = ref[i] + (float) (r.nextGaussian() * 0.3);
            }
            batches.add(new Tensor[] {Tensor.of(m, rows, classes), Tensor.of(ref, rows, classes)});
            int[] p = new int[rows], l = new int[rows];
            for (int i = 0; i < rows; i++) {
                p[i] = r.nextInt(classes);
                l[i] = r.nextInt(classes);
            }
            preds.add(new int[][] {p, l});
        }
        OutputAgreement single = new OutputAgreement("y");
        Confusion conf = new Confusion(classes);
        for (int b = 0; b < nb; b++) {
            single.add(b, batches.get(b)[0], batches.get(b)[1], null);
            conf.add(preds.get(b)[0], preds.get(b)[1]);
        }
        Fidelity.OutputReport want = single.report();
        assertTrue(want.meanAbsDiff() > 0.1 && want.meanAbsDiff() < 0.4, "mean |d| of N(0, 0.3^2) noise: " + want.meanAbsDiff());
        for (int parts : PARTS) {
            int[] c = cuts(nb, parts, r);
            List<OutputAgreement> ps = new ArrayList<>();
            List<Confusion> cs = new ArrayList<>();
            for (int p = 0; p < parts; p++) {
                OutputAgreement a = new OutputAgreement("y");
                Confusion cc = new Confusion(classes);
                for (int b = c[p]; b < c[p + 1]; b++) {
                    a.add(b, batches.get(b)[0], batches.get(b)[1], null);
                    cc.add(preds.get(b)[0], preds.get(b)[1]);
                }
                ps.add(roundTrip(a));
                cs.add(roundTrip(cc));
            }
            assertEquals(want, mergeShuffled(ps, OutputAgreement::merge, r).report());
            Confusion mc = mergeShuffled(cs, Confusion::merge, r);
            assertTrue(Arrays.deepEquals(conf.matrix(), mc.matrix()));
            assertEquals(conf.accuracy(), mc.accuracy(), 0.0);
        }
        long correct = 0, total = 0;
        for (int[][] pl : preds) for (int i = 0; i < pl[0].length; i++, total++) if (pl[0][i] == pl[1][i]) correct++;
        assertEquals((double) correct / total, conf.accuracy(), 0.0);
    }

    @Test
    void channelStatsMergeAndMatchTheWeightAbsMax() {
        Random r = new Random(6);
        float[] w = new float[6 * 4 * 3];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        Tensor t = Tensor.of(w, 6, 4, 3);
        double[] want = new double[4];
        for (int i = 0; i < w.length; i++) want[(i / 3) % 4] = Math.max(want[(i / 3) % 4], Math.abs(w[i]));
        assertArrayEquals(want, ChannelStats.of(t, 1).absMax(), 0.0);
        assertArrayEquals(want, io.condense.quant.QParams.channelAbsMax(t, 1), 0.0);
        ChannelStats a = ChannelStats.of(Tensor.of(Arrays.copyOfRange(w, 0, 24), 2, 4, 3), 1);
        ChannelStats b = ChannelStats.of(Tensor.of(Arrays.copyOfRange(w, 24, 72), 4, 4, 3), 1);
        ChannelStats m = roundTrip(b).merge(roundTrip(a));
        ChannelStats all = ChannelStats.of(t, 1);
        assertArrayEquals(all.min(), m.min(), 0.0);
        assertArrayEquals(all.max(), m.max(), 0.0);
        assertEquals(all.count(), m.count());
        assertNotEquals(0, m.absMax()[0]);
    }
}
