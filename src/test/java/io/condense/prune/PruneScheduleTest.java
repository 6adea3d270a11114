package io.condense.prune;

import io.condense.OrtReference;
import io.condense.TestData;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.data.Dataset;
import io.condense.data.Mnist;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.quant.CalibrationData;
import io.condense.train.Models;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import io.condense.train.Trainer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pruning a (briefly) trained LeNet-300-100 on an MNIST subset: exported zeros, ORT parity, schedules keeping zeros. */
class PruneScheduleTest {
    static Dataset train, val, test;
    static Graph trained;

    @BeforeAll static void setUp() {
        Path mnist = TestData.require("mnist");
        Dataset all = Mnist.load(mnist, true).head(3000);
        Dataset[] tv = PruneSchedule.split(all, 500);
        train = tv[0];
        val = tv[1];
        test = Mnist.load(mnist, false).head(1000);
        Tape tape = new Tape(Models.lenet300100(1), n -> true, DataType.FLOAT, 1);
        new Trainer(tape, Optimizer.of("sgd", 0.05), new Trainer.Config().epochs(1).batchSize(50).progressSeconds(-1)).fit(train, null);
        trained = tape.toGraph();
    }

    static long zeros(Graph g, String w) { return PrunePass.zeros(g.initializers().get(w)); }

    @Test void exportedModelHasExactZerosAndOrtAgrees() throws Exception {
        PrunePass p = new PrunePass(PruneConfig.of("magnitude", Granularity.GLOBAL, 0.8));
        Graph pruned = p.apply(trained);
        assertEquals(0.8, p.overallSparsity(), 1e-5);
        byte[] bytes = OnnxExporter.toBytes(pruned);
        Graph back = OnnxImporter.fromBytes(bytes);
        for (PrunePass.LayerResult r : p.report()) {
            assertEquals(r.zeros(), zeros(back, r.weight()), r.weight());
            float[] m = p.masks().get(r.weight()).toFloatArray(), w = back.initializers().get(r.weight()).toFloatArray();
            for (int i = 0; i < m.length; i++) if (m[i] == 0) assertEquals(0f, w[i]);
        }
        // global magnitude prunes the big first layer harder than the last
        assertTrue(p.report().get(0).sparsity() > p.report().get(2).sparsity(), p.report().toString());
        Tensor x = Tensor.of(test.head(16).sample(0).length == 784 ? flat(test.head(16)) : null, 16, 1, 28, 28);
        Tensor ort = OrtReference.run(bytes, Map.of("input", x)).get("logits");
        try (Session s = Backends.cpu().open(back)) {
            float[] a = s.run(Map.of("input", x)).get("logits").toFloatArray(), b = ort.toFloatArray();
            for (int i = 0; i < a.length; i++) assertEquals(b[i], a[i], 1e-4 * (1 + Math.abs(b[i])));
        }
    }

    static float[] flat(Dataset d) {
        float[] f = new float[d.size() * 784];
        for (int i = 0; i < d.size(); i++) System.arraycopy(d.sample(i), 0, f, i * 784, 784);
        return f;
    }

    @Test void schedulesKeepPrunedWeightsZeroAndReachTheTarget() {
        for (PruneSchedule.Kind kind : PruneSchedule.Kind.values()) {
            PruneSchedule.Config sc = new PruneSchedule.Config(kind, 2, 2, 0, 0.5, 10, 0.01, "adam", 1e-4, 50, 3);
            PruneSchedule.Result r = PruneSchedule.run(trained, 0.9, s -> new PrunePass(PruneConfig.of("magnitude", Granularity.LAYER, s)), sc,
                    train.head(1000), val, null);
            PrunePass last = r.lastPass();
            double total = 0, z = 0;
            for (PrunableLayer l : PrunableLayer.find(r.best())) {
                total += l.size();
                z += zeros(r.best(), l.weight());
                // every weight the final mask removed is exactly zero after Adam steps with weight decay
                float[] m = last.masks().get(l.weight()).toFloatArray(), w = r.best().initializers().get(l.weight()).toFloatArray();
                for (int i = 0; i < m.length; i++) if (m[i] == 0) assertEquals(0, Float.floatToRawIntBits(w[i]), kind + " " + l.weight()); // +0.0
            }
            assertEquals(0.9, z / total, 2e-3, kind.toString());
            assertTrue(r.bestValidationAccuracy() > 0.8, kind + " " + r.log());
            // the returned model is the best validation checkpoint
            double va = Trainer.evaluate(new Tape(r.best()), val, 256);
            assertEquals(r.bestValidationAccuracy(), va, 1e-9, kind.toString());
        }
    }

    @Test void agpSparsityFollowsTheCubicSchedule() {
        // with a recording pass factory, the sparsities asked for are s_f + (s_i - s_f)(1 - j/n)^3
        List<Double> asked = new java.util.ArrayList<>();
        PruneSchedule.Config sc = new PruneSchedule.Config(PruneSchedule.Kind.AGP, 1, 1, 0.1, 1.0, 5, 0.01, "sgd", 0, 100, 1);
        PruneSchedule.run(trained, 0.8, s -> {
            asked.add(s);
            return new PrunePass(PruneConfig.of("magnitude", Granularity.LAYER, s));
        }, sc, train.head(2000), null, null);
        int n = asked.size() - 1; // 2000/100 = 20 steps, dt 5: updates at steps 0, 5, 10, 15 (the last one before training ends)
        assertEquals(3, n, asked.toString());
        for (int j = 0; j <= n; j++) assertEquals(0.8 + (0.1 - 0.8) * Math.pow(1 - (double) j / n, 3), asked.get(j), 1e-12);
    }

    @Test void calibrationCriteriaOnTheTrainedModel() {
        var calib = CalibrationData.fromDataset(trained.inputs().get(0), train.head(256), 64, 4);
        for (String c : List.of("wanda", "sparsegpt")) {
            PrunePass p = new PrunePass(PruneConfig.of(c, Granularity.nm(2, 4), 0), calib, null, null);
            Graph g = p.apply(trained);
            for (NmCheck.LayerCheck ch : NmCheck.check(g, 2, 4)) {
                if (ch.groups() > 0) assertTrue(ch.conforms(), ch.toString());
            }
            double oneShot = Trainer.evaluate(new Tape(g), val, 256);
            assertTrue(oneShot > 0.7, c);
            // fine-tuning with the 2:4 masks recovers accuracy and keeps the pattern
            PruneSchedule.Result r = PruneSchedule.run(trained, 0, s -> new PrunePass(PruneConfig.of(c, Granularity.nm(2, 4), 0), calib, null, null),
                    new PruneSchedule.Config(PruneSchedule.Kind.ONESHOT, 1, 1, 0, 0.7, 0, 0.01, "sgd", 0, 50, 1), train.head(1000), val, null);
            for (NmCheck.LayerCheck ch : NmCheck.check(r.best(), 2, 4)) if (ch.groups() > 0) assertTrue(ch.conforms(), c + " fine-tuned " + ch);
            assertTrue(r.bestValidationAccuracy() >= oneShot - 0.005, c + ": " + oneShot + " -> " + r.bestValidationAccuracy());
        }
    }
}
