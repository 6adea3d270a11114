package io.condense.distill;

import io.condense.TestData;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.data.Dataset;
import io.condense.dataset.ImageData;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.quant.qat.Qat;
import io.condense.train.Arrays2;
import io.condense.train.Tape;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Distillation on MNIST at small settings (3000 training images, seconds). */
public class DistillerTest {
    static Dataset train, test;
    static Graph teacher;

    static Distiller.Config cfg(int epochs) { return new Distiller.Config(epochs, 50, 0.05, "sgd", 0, 0, false, 3, -1); }

    @BeforeAll static void setup() {
        Path mnist = TestData.require("mnist");
        train = ImageData.load(mnist, ImageData.TRAIN).head(3000);
        test = ImageData.load(mnist, ImageData.TEST).head(1000);
        Graph g = Students.byName("mlp-256", train.sampleShape(), 10, 0, 0, 1);
        Graph trained = new Distiller(cfg(3), null).distill(g, null, List.of(new HardLabelTerm("logits", 1)), train, test);
        teacher = OnnxImporter.fromBytes(OnnxExporter.toBytes(trained)); // through ONNX, as the CLI does
    }

    /** Top-1 accuracy of a graph on the CPU inference backend. */
    public static double accuracy(Graph g, Dataset d) {
        try (Session s = Backends.cpu().open(g)) {
            long ok = 0;
            String in = g.inputs().get(0).name(), out = g.outputs().get(0).name();
            for (Dataset.Batch b : d.batches(500)) {
                INDArray z = Arrays2.toNd(s.run(Map.of(in, Arrays2.toTensor(b.x(), false))).get(out), DataType.FLOAT);
                for (int i = 0; i < b.size(); i++) if (z.getRow(i).argMax().getInt(0) == b.labels()[i]) ok++;
            }
            return (double) ok / d.size();
        }
    }

    @Test void teacherRunsOnTheInferenceBackendAndCaches() {
        try (Teacher t = new Teacher(teacher, List.of("logits", "fc1.relu"), "cpu", true)) {
            Dataset.Batch b = test.batches(8).iterator().next();
            int[] ids = {0, 1, 2, 3, 4, 5, 6, 7};
            Map<String, INDArray> first = t.run(b.x(), ids, DataType.FLOAT);
            Map<String, INDArray> cached = t.run(b.x().mul(0), ids, DataType.FLOAT); // cache hit: input ignored
            assertEquals(0, first.get("logits").sub(cached.get("logits")).amaxNumber().doubleValue(), 0);
            assertArrayEquals2(new long[] {8, 256}, first.get("fc1.relu").shape());
            // the same values the training tape computes for the teacher graph
            INDArray ref = new Tape(teacher).infer(Map.of("input", b.x())).get("logits");
            assertTrue(first.get("logits").sub(ref).amaxNumber().doubleValue() < 1e-4);
        }
    }

    private static void assertArrayEquals2(long[] a, long[] b) { org.junit.jupiter.api.Assertions.assertArrayEquals(a, b); }

    @Test void distilledStudentFollowsTheTeacher() {
        double tAcc = accuracy(teacher, test);
        assertTrue(tAcc > 0.88, "teacher accuracy " + tAcc);
        Graph s = Students.byName("mlp-32", train.sampleShape(), 10, 0, 0, 5);
        Graph out;
        Distiller d = new Distiller(cfg(3), null);
        try (Teacher t = new Teacher(teacher, List.of("logits"), "cpu", true)) {
            out = d.distill(s, t, Distiller.hinton(s, teacher, 4, 0.9), train, test);
        }
        double sAcc = accuracy(out, test);
        assertEquals(d.history().get(2).testAccuracy(), sAcc, 1e-9, "tape and inference backend agree");
        assertTrue(sAcc > tAcc - 0.05, "student " + sAcc + " vs teacher " + tAcc);
    }

    @Test void incompatibleOutputsFailWithOneLine() {
        Graph s = Students.byName("mlp-16", train.sampleShape(), 5, 0, 0, 1);
        try (Teacher t = new Teacher(teacher, List.of("logits"), "cpu", false)) {
            ModelException e = assertThrows(ModelException.class, () -> new Distiller(cfg(1), null).distill(s, t, Distiller.hinton(s, teacher, 2, 0.5), train, null));
            assertEquals("teacher output 'logits' [2, 10] and student output 'logits' [2, 5] are incompatible", e.getMessage());
        }
        try (Teacher t = new Teacher(teacher, List.of("nope"), "cpu", false)) {
            throw new AssertionError("unknown teacher tensor accepted");
        } catch (ModelException e) {
            assertEquals("the teacher has no tensor 'nope'", e.getMessage());
        }
    }

    @Test void prunedStudentKeepsItsZerosAndHintsTrainTheProjection() {
        Graph s = Students.byName("mlp-64", train.sampleShape(), 10, 0, 0, 2);
        Tensor w = s.initializers().get("fc1.weight");
        float[] v = w.toFloatArray();
        for (int i = 0; i < v.length; i += 2) v[i] = 0; // half the weights pruned
        Graph pruned = s.toBuilder().initializer("fc1.weight", Tensor.of(v, w.shape())).build();
        Distiller.Config c = new Distiller.Config(1, 50, 0.05, "sgd", 0, 0, true, 3, -1);
        List<LossTerm> terms = new java.util.ArrayList<>(Distiller.hinton(pruned, teacher, 4, 0.9));
        HintTerm hint = new HintTerm("fc1.relu", "fc1.relu", 0.1, 1); // 64 -> 256 wide: learned projection
        terms.add(hint);
        Graph out;
        try (Teacher t = new Teacher(teacher, List.of("logits", "fc1.relu"), "cpu", true)) {
            out = new Distiller(c, null).distill(pruned, t, terms, train, null);
        }
        float[] after = out.initializers().get("fc1.weight").toFloatArray();
        int moved = 0;
        for (int i = 0; i < after.length; i++) {
            if (i % 2 == 0) assertEquals(0f, after[i], "pruned weight " + i);
            else if (after[i] != v[i]) moved++;
        }
        assertTrue(moved > after.length / 4, "unpruned weights train");
        INDArray proj = hint.parameters().values().iterator().next();
        org.junit.jupiter.api.Assertions.assertArrayEquals(new long[] {64, 256}, proj.shape());
        assertTrue(accuracy(out, test) > 0.8);
    }

    @Test void distillationTogetherWithQat() {
        Graph s = Students.byName("mlp-64", train.sampleShape(), 10, 0, 0, 4);
        Graph f = new Distiller(cfg(2), null).distill(s, null, List.of(new HardLabelTerm("logits", 1)), train, null);
        Qat qat = new Qat(Qat.Config.defaults(), null);
        Graph training = qat.trainingGraph(f, Qat.feeds(f, train, 64, 4));
        Tape tape = qat.tape(training);
        Distiller.Config c = new Distiller.Config(1, 50, 1e-3, "adam", 0, 0, false, 3, -1);
        try (Teacher t = new Teacher(teacher, List.of("logits"), "cpu", true)) {
            new Distiller(c, null).distill(tape, t, Distiller.hinton(training, teacher, 4, 0.9), train, null);
        }
        Graph qdq = qat.export(tape.toGraph());
        assertTrue(qdq.nodes().stream().anyMatch(n -> n.opType().equals("QuantizeLinear")), "QDQ model");
        double fAcc = accuracy(f, test), qAcc = accuracy(qdq, test);
        assertTrue(qAcc > fAcc - 0.02, "QAT+KD int8 " + qAcc + " vs float " + fAcc);
    }
}
