package io.condense.train;

import io.condense.TestData;
import io.condense.TensorAssert;
import io.condense.cli.EvalCommand;
import io.condense.cli.TrainCommand;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.TensorCodec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tape on third-party ONNX models: reference outputs, accuracy, and fine-tuning an imported model. */
class ImportedModelTest {
    @TempDir Path dir;

    @BeforeAll static void threads() { Threads.auto(); }

    @Test void mnist8MatchesModelZooOutputs() {
        Path m = TestData.require("onnx/models/mnist-8");
        Graph g = OnnxImporter.load(m.resolve("model.onnx"));
        Tape tape = new Tape(g);
        for (int k = 0; k < 3; k++) {
            Path set = m.resolve("test_data_set_" + k);
            Tensor in = TensorCodec.readPb(set.resolve("input_0.pb"));
            Tensor want = TensorCodec.readPb(set.resolve("output_0.pb"));
            INDArray out = tape.infer(Map.of(g.inputs().get(0).name(), Arrays2.toNd(in, DataType.FLOAT))).get(g.outputs().get(0).name());
            TensorAssert.assertClose(want, Arrays2.toTensor(out, false), 1e-4, 1e-3, "mnist-8 set " + k);
        }
    }

    private static double accuracy(String s) {
        Matcher mt = Pattern.compile("accuracy: (\\d\\.\\d{4})").matcher(s);
        assertTrue(mt.find(), s);
        return Double.parseDouble(mt.group(1));
    }

    private static String eval(Path model, Path mnist) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        EvalCommand e = new EvalCommand().out(new PrintStream(b, true, StandardCharsets.UTF_8));
        assertEquals(0, new CommandLine(e).execute(model.toString(), "--data", mnist.toString(), "--limit", "2000"));
        return b.toString(StandardCharsets.UTF_8);
    }

    @Test void tribuoCnnEvaluatesAndFineTunes() {
        Path model = TestData.require("onnx/models/tribuo-cnn-mnist/cnn_mnist.onnx");
        Path mnist = TestData.require("mnist");
        double before = accuracy(eval(model, mnist));
        assertTrue(before > 0.97, "Tribuo CNN accuracy on the first 2000 test digits: " + before);
        // fine-tune the imported model (LogSoftmax output; cross-entropy on log-probabilities is unchanged)
        Path out = dir.resolve("tuned.onnx");
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        TrainCommand t = new TrainCommand().out(new PrintStream(b, true, StandardCharsets.UTF_8));
        int rc = new CommandLine(t).execute("--model", model.toString(), "--data", mnist.toString(), "--epochs", "1", "--limit", "640", "--test-limit", "500",
                "--optimizer", "adam", "--lr", "1e-4", "--schedule", "constant", "--out", out.toString(), "--quiet");
        assertEquals(0, rc, b.toString(StandardCharsets.UTF_8));
        double after = accuracy(eval(out, mnist));
        assertTrue(after > 0.97, "after fine-tuning: " + after + " (before " + before + ")");
    }
}
