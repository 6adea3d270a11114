package io.condense.cli;

import io.condense.TestData;
import io.condense.ir.Graph;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DistillCommandsTest {
    @TempDir Path dir;

    static CliRun run(String... args) { return CliRun.of(args); }

    @Test void distillTrainsAStudentFromAnOnnxTeacherWithProvenance() throws Exception {
        Path mnist = TestData.require("mnist");
        Path teacher = dir.resolve("teacher.onnx"), student = dir.resolve("student.onnx");
        CliRun t = run("distill", "--student", "mlp-128", "--alpha", "0", "--data", mnist.toString(), "--epochs", "2", "--limit", "2000",
                "--test-limit", "1000", "--out", teacher.toString(), "--threads", "1");
        assertEquals(0, t.rc(), t.err());
        CliRun s = run("distill", "--teacher", teacher.toString(), "--student", "mlp-32", "--data", mnist.toString(), "--temperature", "4",
                "--alpha", "0.9", "--epochs", "2", "--limit", "2000", "--test-limit", "1000", "--out", student.toString(), "--threads", "1");
        assertEquals(0, s.rc(), s.err());
        assertTrue(s.out().matches("(?s).*accuracy: 0\\.[5-9]\\d+ \\(\\d+ test errors of 1000\\).*"), s.out());
        Graph g = OnnxImporter.load(student);
        assertEquals("distill/kd", g.metadata().get(Provenance.METHOD));
        assertEquals(Provenance.sha256(teacher), g.metadata().get(Provenance.INPUT_SHA256));
        assertEquals("1", g.metadata().get(Provenance.SEED));
        assertTrue(g.metadata().get(Provenance.CONFIG).contains("\"temperature\":4.0"), g.metadata().get(Provenance.CONFIG));
        // the student can itself be an ONNX model (e.g. a pruned one)
        CliRun again = run("distill", "--teacher", teacher.toString(), "--student", student.toString(), "--data", mnist.toString(), "--epochs", "1",
                "--limit", "500", "--test-limit", "200", "--keep-zeros", "--out", dir.resolve("s2.onnx").toString(), "--threads", "1");
        assertEquals(0, again.rc(), again.err());
    }

    @Test void distillErrorsAreOneLine() throws Exception {
        Path mnist = TestData.require("mnist");
        Path teacher = dir.resolve("t.onnx");
        assertEquals(0, run("distill", "--student", "mlp-8", "--alpha", "0", "--data", mnist.toString(), "--epochs", "1", "--limit", "100",
                "--test-limit", "100", "--out", teacher.toString()).rc());
        CliRun bad = run("distill", "--teacher", teacher.toString(), "--student", "convnet-1-w2", "--data", mnist.toString(), "--epochs", "1",
                "--limit", "100", "--out", dir.resolve("x.onnx").toString(), "--hint", "features.0.pool=fc1.relu");
        assertEquals(1, bad.rc());
        assertEquals("condense: error: hint: student 'features.0.pool' [2, 2, 14, 14] and teacher 'fc1.relu' [2, 8] are incompatible", bad.err().strip());
        assertFalse(Files.exists(dir.resolve("x.onnx")));
        CliRun missing = run("distill", "--teacher", teacher.toString(), "--student", "mlp-8", "--data", dir.resolve("none").toString(), "--out", dir.resolve("y.onnx").toString());
        assertEquals(1, missing.rc());
        assertEquals("condense: error: data folder not found: " + dir.resolve("none"), missing.err().strip());
        CliRun noTeacher = run("distill", "--student", "mlp-8", "--data", mnist.toString(), "--out", dir.resolve("z.onnx").toString());
        assertEquals(2, noTeacher.rc());
        assertTrue(noTeacher.err().startsWith("condense: error: --teacher is required unless --alpha 0"), noTeacher.err());
        assertEquals(1, noTeacher.err().strip().lines().count());
    }

    /** A tiny IDX folder: the first 30 images per class are plenty for the error paths and a quick coreset. */
    private Path tinyData(Path mnist) {
        var train = io.condense.dataset.ImageData.load(mnist, "train").head(300);
        Path d = dir.resolve("tiny");
        io.condense.dataset.SmallSet.write(d, train, null, mnist, "test", java.util.Map.of(), 0);
        return d;
    }

    @Test void distillDataWritesACoresetTheOtherCommandsRead() throws Exception {
        Path mnist = TestData.require("mnist");
        Path data = tinyData(mnist);
        Path out = dir.resolve("kc");
        CliRun r = run("distill-data", "--method", "kcenter", "--ipc", "2", "--data", data.toString(), "--out", out.toString(),
                "--feature-width", "4", "--depth", "2", "--width", "8", "--eval-runs", "2", "--eval-epochs", "3", "--threads", "1");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().matches("(?s).*\\naccuracy: \\d+\\.\\d\\d \\+- \\d+\\.\\d\\d\\s*"), r.out());
        for (String f : new String[] {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "grid.png", "indices.txt", "provenance.json"}) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        assertEquals(20, Files.readAllLines(out.resolve("indices.txt")).size());
        // condense train and condense quantize --calib read the folder
        Path m = dir.resolve("m.onnx");
        CliRun tr = run("train", "--model", "lenet-300-100", "--data", out.toString(), "--epochs", "1", "--test-limit", "200", "--out", m.toString(), "--quiet");
        assertEquals(0, tr.rc(), tr.err());
        CliRun q = run("quantize", m.toString(), "--calib", out.toString(), "--out", dir.resolve("q.onnx").toString());
        assertEquals(0, q.rc(), q.err());
        // synthetic: dm writes float IDX
        CliRun dm = run("distill-data", "--method", "dm", "--ipc", "1", "--data", data.toString(), "--out", dir.resolve("dm").toString(),
                "--iterations", "2", "--real-batch", "4", "--width", "8", "--depth", "2", "--threads", "1");
        assertEquals(0, dm.rc(), dm.err());
        assertTrue(Files.readString(dir.resolve("dm").resolve("provenance.json")).contains("\"method\" : \"dm\""));
    }

    @Test void distillDataErrorsAreOneLine() throws Exception {
        Path mnist = TestData.require("mnist");
        Path data = tinyData(mnist);
        CliRun big = run("distill-data", "--method", "random", "--ipc", "1000", "--data", data.toString(), "--out", dir.resolve("o").toString());
        assertEquals(1, big.rc());
        assertTrue(big.err().strip().matches("condense: error: --ipc 1000 is larger than class \\d, which has \\d+ images"), big.err());
        assertFalse(Files.exists(dir.resolve("o")));
        CliRun missing = run("distill-data", "--method", "dm", "--ipc", "1", "--data", dir.resolve("nope").toString(), "--out", dir.resolve("o").toString());
        assertEquals("condense: error: data folder not found: " + dir.resolve("nope"), missing.err().strip());
        CliRun method = run("distill-data", "--method", "magic", "--ipc", "1", "--data", data.toString(), "--out", dir.resolve("o").toString());
        assertEquals(2, method.rc());
        assertTrue(method.err().startsWith("condense: error: unknown --method 'magic'"), method.err());
    }
}
