package io.condense.train;

import io.condense.data.Dataset;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainerTest {
    @org.junit.jupiter.api.BeforeAll
    static void threads() { Threads.auto(); }

    /** Three Gaussian blobs in 8 dimensions, centres 4 apart. */
    static Dataset blobs(int n, long seed) {
        Random centres = new Random(99), r = new Random(seed);
        double[][] mu = new double[3][8];
        for (double[] m : mu) for (int k = 0; k < 8; k++) m[k] = centres.nextGaussian() * 2.5;
        float[] x = new float[n * 8];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(3);
            for (int k = 0; k < 8; k++) x[i * 8 + k] = (float) (mu[y[i]][k] + r.nextGaussian());
        }
        return new Dataset(x, y, new long[] {1, 2, 4});
    }

    static Graph mlp(long seed) {
        Random r = new Random(seed);
        Graph.Builder b = Graph.builder().opset("", 17);
        b.addInput(new ValueInfo("x", new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(1), Dim.of(2), Dim.of(4)))));
        b.initializer("w1", rand(r, 0.5, 16, 8)).initializer("b1", Tensor.of(new float[16], 16));
        b.initializer("w2", rand(r, 0.3, 3, 16)).initializer("b2", Tensor.of(new float[3], 3));
        b.addNode(new Node("", "Flatten", "", List.of("x"), List.of("f"), Map.of()));
        b.addNode(new Node("", "Gemm", "", List.of("f", "w1", "b1"), List.of("h"), Map.of("transB", Attribute.of(1L))));
        b.addNode(new Node("", "Relu", "", List.of("h"), List.of("a"), Map.of()));
        b.addNode(new Node("", "Dropout", "", List.of("a"), List.of("d"), Map.of("ratio", Attribute.of(0.1f))));
        b.addNode(new Node("", "Gemm", "", List.of("d", "w2", "b2"), List.of("logits"), Map.of("transB", Attribute.of(1L))));
        b.addOutput(new ValueInfo("logits", new TensorType(DType.FLOAT32, null)));
        return b.build();
    }

    static Tensor rand(Random r, double std, long... shape) {
        float[] d = new float[(int) Tensor.checkedSize(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (float) (r.nextGaussian() * std);
        return Tensor.of(d, shape);
    }

    @Test void tinyMlpLearnsSeparableProblem() {
        Dataset train = blobs(2000, 1), test = blobs(500, 2);
        Tape tape = new Tape(mlp(3));
        double before = Trainer.evaluate(tape, test, 100);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer t = new Trainer(tape, Optimizer.sgd(0.05).momentum(0.9), new Trainer.Config().epochs(3).batchSize(32).seed(5)
                .out(new PrintStream(log, true)));
        List<Trainer.EpochStats> stats = t.fit(train, test);
        double acc = stats.get(stats.size() - 1).testAccuracy();
        assertTrue(acc > 0.95, "test accuracy " + acc + " (before training " + before + ")");
        assertTrue(stats.get(2).loss() < stats.get(0).loss());
        assertTrue(log.toString().contains("test acc"), log.toString());
    }

    @Test void deterministicUnderFixedSeed() {
        Dataset train = blobs(600, 1);
        float[][] runs = new float[2][];
        for (int k = 0; k < 2; k++) {
            Tape tape = new Tape(mlp(3));
            new Trainer(tape, Optimizer.adam(0.01), new Trainer.Config().epochs(2).batchSize(50).seed(11).progressSeconds(-1)).fit(train, null);
            runs[k] = Arrays2.toTensor(tape.parameters().get("w1"), false).toFloatArray();
        }
        assertArrayEquals(runs[0], runs[1]);
        Tape other = new Tape(mlp(3));
        new Trainer(other, Optimizer.adam(0.01), new Trainer.Config().epochs(2).batchSize(50).seed(12).progressSeconds(-1)).fit(train, null);
        assertTrue(!java.util.Arrays.equals(runs[0], Arrays2.toTensor(other.parameters().get("w1"), false).toFloatArray()));
    }

    @Test void distillationWithKlLoss() {
        Dataset train = blobs(1000, 1), test = blobs(300, 2);
        Tape teacher = new Tape(mlp(3));
        new Trainer(teacher, Optimizer.adam(0.01), new Trainer.Config().epochs(2).batchSize(32).progressSeconds(-1)).fit(train, null);
        Tape student = new Tape(mlp(4));
        Trainer.Config cfg = new Trainer.Config().epochs(2).batchSize(32).progressSeconds(-1).loss((logits, b) ->
                Losses.klDivergence(logits, teacher.infer(Map.of("x", b.x())).get("logits"), 4.0));
        List<Trainer.EpochStats> s = new Trainer(student, Optimizer.adam(0.01), cfg).fit(train, test);
        assertTrue(s.get(1).loss() < s.get(0).loss(), "KL should fall: " + s);
        assertTrue(s.get(1).testAccuracy() > 0.95, "student accuracy " + s.get(1).testAccuracy());
    }

    @Test void nanLossStopsWithClearMessage() {
        Dataset train = blobs(400, 1);
        Tape tape = new Tape(mlp(3));
        Trainer t = new Trainer(tape, Optimizer.sgd(1e6), new Trainer.Config().epochs(3).batchSize(20).progressSeconds(-1));
        ModelException e = assertThrows(ModelException.class, () -> t.fit(train, null));
        assertTrue(e.getMessage().contains("diverged") && e.getMessage().contains("learning rate"), e.getMessage());
    }

    @Test void frozenParametersAndGroupsThroughTrainer() {
        Dataset train = blobs(200, 1);
        Tape tape = new Tape(mlp(3), n -> !n.equals("b2"), org.nd4j.linalg.api.buffer.DataType.FLOAT, 0);
        assertTrue(!tape.parameters().containsKey("b2"));
        INDArray w1 = tape.parameters().get("w1").dup();
        new Trainer(tape, Optimizer.sgd(0.1).group(ParamGroup.named("w1").freeze()), new Trainer.Config().progressSeconds(-1)).fit(train, null);
        assertEquals(w1, tape.parameters().get("w1"));
        assertEquals(0.0, tape.constants().get("b2").sumNumber().doubleValue());
    }
}
