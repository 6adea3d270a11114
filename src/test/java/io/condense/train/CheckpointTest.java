package io.condense.train;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.condense.data.Dataset;
import io.condense.ir.Graph;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Trained weights survive ONNX export and import, and ONNX Runtime computes the same logits as the tape. */
class CheckpointTest {
    @org.junit.jupiter.api.BeforeAll
    static void threads() { Threads.auto(); }

    @TempDir Path dir;

    static Dataset randomImages(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * 784];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(10);
            // a class-dependent bright square so there is something to learn
            for (int k = 0; k < 784; k++) x[i * 784 + k] = (float) (r.nextGaussian() * 0.3);
            int row = 2 + 2 * y[i];
            for (int a = row; a < row + 4; a++) for (int b = 10; b < 16; b++) x[i * 784 + a * 28 + b] += 2;
        }
        return new Dataset(x, y, new long[] {1, 28, 28});
    }

    @Test void parameterCounts() {
        assertEquals(266_610, Models.lenet300100(0).parameterCount());
        assertEquals(431_080, Models.lenet5(0).parameterCount());
        assertNotEquals(Models.lenet5(1).initializers().get("conv1.weight").getDouble(0), Models.lenet5(2).initializers().get("conv1.weight").getDouble(0));
        assertEquals(Models.lenet5(1).initializers().get("conv1.weight").getDouble(5), Models.lenet5(1).initializers().get("conv1.weight").getDouble(5));
    }

    @Test void lenet300100() throws Exception { roundTrip("lenet-300-100"); }

    @Test void lenet5() throws Exception { roundTrip("lenet5"); }

    @Test void resnetSmall() throws Exception { roundTrip("resnet-small"); }

    private void roundTrip(String model) throws Exception {
        Graph g = Models.byName(model, 42);
        Tape tape = new Tape(g);
        Dataset data = randomImages(24, 1);
        new Trainer(tape, Optimizer.adam(1e-3), new Trainer.Config().batchSize(8).maxStepsPerEpoch(3).progressSeconds(-1)).fit(data, null);
        Graph trained = tape.toGraph();
        // weights moved, and (for BatchNorm) running statistics were updated
        String w = trained.initializers().keySet().iterator().next();
        assertNotEquals(g.initializers().get(w).getDouble(0), trained.initializers().get(w).getDouble(0));
        if (model.startsWith("resnet")) {
            assertNotEquals(0.0, trained.initializers().get("stem.bn.running_mean").getDouble(0));
        }
        Path file = dir.resolve(model + ".onnx");
        OnnxExporter.save(trained, file);
        Graph loaded = OnnxImporter.load(file);
        Tape reloaded = new Tape(loaded);

        Dataset probe = randomImages(8, 2);
        INDArray x = probe.batches(8).iterator().next().x();
        INDArray mine = tape.infer(Map.of("input", x)).get("logits");
        INDArray again = reloaded.infer(Map.of("input", x)).get("logits");
        assertEquals(mine, again, "re-imported model gives different logits");

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(file.toString(), new OrtSession.SessionOptions());
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.dup().data().asFloat()), x.shape());
             OrtSession.Result r = s.run(Map.of("input", in))) {
            OnnxTensor out = (OnnxTensor) r.get(0);
            assertArrayEquals(mine.shape(), out.getInfo().getShape());
            FloatBuffer fb = out.getFloatBuffer();
            float[] ref = new float[fb.remaining()];
            fb.get(ref);
            float[] got = mine.dup().data().asFloat();
            for (int i = 0; i < ref.length; i++) {
                assertEquals(ref[i], got[i], 1e-4 + 1e-4 * Math.abs(ref[i]), model + " logit " + i + " vs ONNX Runtime");
            }
            assertTrue(Nd4j.createFromArray(ref).reshape(mine.shape()).argMax(1).equals(mine.argMax(1)));
        }
    }
}
