package io.condense.spark;

import io.condense.eval.Fidelity;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.prune.LayerInputStats;
import io.condense.prune.PrunableLayer;
import io.condense.quant.Calibration;
import io.condense.quant.CalibrationData;
import io.condense.quant.CalibrationResult;
import io.condense.quant.QuantConfig;
import io.condense.quant.Sensitivity;
import io.condense.stats.Confusion;
import io.condense.stats.LayerMoments;
import io.condense.train.Models;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * condense on Spark ({@code local[2]}) against the single-process path on the same samples: calibration statistics,
 * layer Hessians, accuracy counts and output agreement, bit for bit on 1, 3 and 8 partitions.
 */
class SparkStatsTest {
    static JavaSparkContext sc;
    static final int N = 38, BATCH = 4; // 10 batches, the last one short

    @BeforeAll
    static void start() { sc = SparkTestSupport.context("local[2]"); }

    @AfterAll
    static void stop() {
        if (sc != null) sc.stop();
    }

    @Test
    void calibrationEqualsSingleProcessOn1And3And8Partitions() {
        Graph g = Models.lenet5(11);
        List<float[]> xs = SparkTestSupport.samples(N, 784, 5);
        List<String> tensors = SparkTestSupport.allOutputs(g);
        QuantConfig cfg = QuantConfig.defaults();
        CalibrationResult single = Calibration.run(g, tensors,
                CalibrationData.fromArray(g.inputs().get(0), SparkTestSupport.concat(xs), N, 784, BATCH, 0), cfg, null);
        assertEquals(10, single.batches());
        SparkModel model = SparkModel.broadcast(sc, g);
        long parses = SparkModel.parsesInThisJvm();
        for (int parts : new int[] {1, 3, 8}) {
            Batched<float[]> data = Batched.of(sc.parallelize(xs, 3), BATCH, 0, parts);
            assertEquals(parts, data.partitions());
            CalibrationResult got = DistributedStats.calibrate(data, model, Feeds.arrays(), tensors, cfg.bins(), 0);
            SparkTestSupport.assertSameStats(single, got);
        }
        // local mode: one executor JVM (this one), so the broadcast model was parsed once for all 12 tasks
        assertEquals(parses + 1, SparkModel.parsesInThisJvm());
        // a sample limit keeps the first samples, like --samples / calibration batches
        CalibrationResult first = Calibration.run(g, tensors,
                CalibrationData.fromArray(g.inputs().get(0), SparkTestSupport.concat(xs), N, 784, BATCH, 3), cfg, null);
        SparkTestSupport.assertSameStats(first, DistributedStats.calibrate(Batched.of(sc.parallelize(xs, 2), BATCH, 3 * BATCH, 3),
                model, Feeds.arrays(), tensors, cfg.bins(), 0));
    }

    @Test
    void hessiansEqualSingleProcess() {
        Graph g = Models.lenet5(12);
        List<float[]> xs = SparkTestSupport.samples(N, 784, 6);
        List<PrunableLayer> layers = PrunableLayer.find(g);
        Map<String, LayerInputStats> single = LayerInputStats.collect(g, layers,
                CalibrationData.fromArray(g.inputs().get(0), SparkTestSupport.concat(xs), N, 784, BATCH, 0), 0, true, 0, null);
        SparkModel model = SparkModel.broadcast(sc, g);
        for (int parts : new int[] {1, 3, 8}) {
            Map<String, LayerMoments[]> m = DistributedStats.moments(Batched.of(sc.parallelize(xs, 2), BATCH, 0, parts), model, Feeds.arrays(),
                    List.of(), true, 0);
            for (PrunableLayer l : layers) {
                LayerInputStats want = single.get(l.weight()), got = new LayerInputStats(l, m.get(l.weight()));
                assertEquals(want.rows, got.rows);
                for (int gi = 0; gi < want.groups; gi++) {
                    assertArrayEquals(want.sumSquares[gi], got.sumSquares[gi], 0.0, l.weight());
                    for (int i = 0; i < want.xtx[gi].length; i++) assertArrayEquals(want.xtx[gi][i], got.xtx[gi][i], 0.0, l.weight() + " row " + i);
                }
            }
        }
    }

    @Test
    void evaluationEqualsSingleProcess() {
        Graph g = Models.lenet5(13), ref = Models.lenet5(14);
        List<float[]> xs = SparkTestSupport.samples(N, 784, 7);
        List<DistributedStats.Labelled> data = new ArrayList<>();
        for (int i = 0; i < N; i++) data.add(new DistributedStats.Labelled(xs.get(i), i % 10));
        List<Map<String, Tensor>> feeds = new ArrayList<>();
        CalibrationData.fromArray(g.inputs().get(0), SparkTestSupport.concat(xs), N, 784, BATCH, 0).forEach(feeds::add);
        int[] pred = Sensitivity.top1(g, feeds);
        Confusion want = new Confusion(10);
        int[] labels = new int[N];
        for (int i = 0; i < N; i++) labels[i] = i % 10;
        want.add(pred, labels);
        List<Fidelity.OutputReport> wantOut = Fidelity.compareOutputs(g, ref, feeds);
        SparkModel m = SparkModel.broadcast(sc, g), r = SparkModel.broadcast(sc, ref);
        for (int parts : new int[] {1, 3, 8}) {
            Confusion got = DistributedStats.accuracy(Batched.of(sc.parallelize(data, 3), BATCH, 0, parts), m, 10, 0);
            assertTrue(java.util.Arrays.deepEquals(want.matrix(), got.matrix()));
            assertEquals(N, got.total());
            assertEquals(wantOut, DistributedStats.compareOutputs(Batched.of(sc.parallelize(xs, 3), BATCH, 0, parts), m, r, Feeds.arrays(), 0));
        }
        assertTrue(wantOut.get(0).maxAbsDiff() > 0, "two differently seeded models disagree");
    }

    @Test
    void sensitivityFanOutEqualsSingleProcess() {
        Graph g = Models.lenet5(15);
        int n = 48;
        List<float[]> xs = SparkTestSupport.samples(n, 784, 8);
        float[] x = SparkTestSupport.concat(xs);
        List<Map<String, Tensor>> feeds = new ArrayList<>();
        CalibrationData.fromArray(g.inputs().get(0), x, n, 784, 16, 0).forEach(feeds::add);
        int[] labels = Sensitivity.top1(g, feeds); // the float model's own predictions: baseline accuracy 1
        DistributedSensitivity.EvalSet es = new DistributedSensitivity.EvalSet(feeds, labels);
        double[] levels = {0.5, 0.9};
        io.condense.prune.SensitivityAnalysis.Result want = io.condense.prune.SensitivityAnalysis.run(g,
                io.condense.prune.PruneConfig.of("magnitude", io.condense.prune.Granularity.LAYER, 0.5), levels, es::accuracy,
                io.condense.prune.PrunePass::new, null);
        io.condense.prune.SensitivityAnalysis.Result got = DistributedSensitivity.run(sc, SparkModel.broadcast(sc, g), "magnitude", levels,
                x, n, 784, 16, labels, 0);
        assertEquals(1.0, got.baseline(), 0.0);
        assertEquals(io.condense.prune.SensitivityAnalysis.csv(want), io.condense.prune.SensitivityAnalysis.csv(got));
        assertEquals(want.curves().size(), got.curves().size());
        for (int i = 0; i < want.curves().size(); i++) assertArrayEquals(want.curves().get(i).accuracy(), got.curves().get(i).accuracy(), 0.0);
        assertTrue(got.curves().stream().anyMatch(c -> c.accuracy()[1] < 1.0), "pruning 90% of some layer changes predictions");
    }

    @Test
    void coresetSelectionEqualsSingleProcess() {
        Graph g = Models.lenet300100(16); // logits as a 10-d embedding
        int n = 700, classes = 3, ipc = 4;
        List<float[]> xs = SparkTestSupport.samples(n, 784, 10);
        List<DistributedStats.Labelled> data = new ArrayList<>();
        for (int i = 0; i < n; i++) data.add(new DistributedStats.Labelled(xs.get(i), (i * 7) % classes));
        // single process: features on batches of 256 in index order, then the core's per-class herding / k-center
        float[][] feats = new float[n][];
        try (io.condense.backend.Session s = io.condense.backend.Backends.cpu().open(g)) {
            int k = 0;
            for (Map<String, Tensor> f : CalibrationData.fromArray(g.inputs().get(0), SparkTestSupport.concat(xs), n, 784, 256, 0)) {
                for (float[] row : DistributedCoreset.features(s, g, f)) feats[k++] = row;
            }
        }
        List<Integer> want = new ArrayList<>(), wantK = new ArrayList<>();
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        for (int c = 0; c < classes; c++) {
            int cc = c;
            int[] ids = java.util.stream.IntStream.range(0, n).filter(i -> data.get(i).label() == cc).toArray();
            float[][] f = java.util.Arrays.stream(ids).mapToObj(i -> feats[i]).toArray(float[][]::new);
            for (int i : io.condense.dataset.Herding.herd(f, ids, ipc)) want.add(i);
            for (int i : io.condense.dataset.KCenter.greedy(f, ids, ipc, r.nextInt(ids.length))) wantK.add(i);
        }
        SparkModel m = SparkModel.broadcast(sc, g);
        for (int parts : new int[] {1, 3}) {
            Batched<DistributedStats.Labelled> b = Batched.of(sc.parallelize(data, 2), io.condense.stats.ClassSums.CHUNK, 0, parts);
            assertEquals(want, java.util.Arrays.stream(DistributedCoreset.run(b, m, classes, ipc, "herding", 3, 0)).boxed().toList());
            assertEquals(wantK, java.util.Arrays.stream(DistributedCoreset.run(b, m, classes, ipc, "kcenter", 3, 0)).boxed().toList());
        }
        assertEquals(classes * ipc, want.stream().distinct().count());
    }
}
