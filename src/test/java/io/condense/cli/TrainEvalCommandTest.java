package io.condense.cli;

import io.condense.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainEvalCommandTest {
    @TempDir Path dir;

    @Test void trainThenEvalOnMnist() {
        Path mnist = TestData.require("mnist");
        Path out = dir.resolve("mlp.onnx");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        TrainCommand train = new TrainCommand();
        train.stdout = new PrintStream(buf, true, StandardCharsets.UTF_8);
        int rc = new CommandLine(train).execute("--model", "lenet-300-100", "--data", mnist.toString(), "--epochs", "1",
                "--limit", "3000", "--test-limit", "2000", "--batch-size", "50", "--lr", "0.05", "--seed", "3", "--optimizer", "sgd", "--out", out.toString(), "--quiet");
        String log = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, rc, log);
        assertTrue(Files.exists(out));
        double trainAcc = accuracy(log);
        assertTrue(trainAcc > 0.85, log);

        ByteArrayOutputStream ebuf = new ByteArrayOutputStream();
        EvalCommand eval = new EvalCommand();
        eval.stdout = new PrintStream(ebuf, true, StandardCharsets.UTF_8);
        assertEquals(0, new CommandLine(eval).execute(out.toString(), "--data", mnist.toString(), "--limit", "2000"));
        String e = ebuf.toString(StandardCharsets.UTF_8);
        assertTrue(e.matches("accuracy: 0\\.\\d{4}\\s*"), e);
        // the saved model evaluates to the accuracy the trainer reported for the test split
        assertEquals(trainAcc, accuracy(e), 1e-4);

        // an INT8 QDQ model (DequantizeLinear on weights) evaluates through the same command, close to float
        Path q = dir.resolve("mlp-int8.onnx");
        assertEquals(0, new CommandLine(new QuantizeCommand()).execute(out.toString(), "--calib", mnist.toString(),
                "--method", "minmax", "--batches", "4", "--out", q.toString()));
        ebuf.reset();
        assertEquals(0, new CommandLine(eval).execute(q.toString(), "--data", mnist.toString(), "--limit", "2000"));
        assertEquals(trainAcc, accuracy(ebuf.toString(StandardCharsets.UTF_8)), 0.01);
    }

    private static double accuracy(String s) {
        Matcher m = Pattern.compile("accuracy: (\\d\\.\\d{4})").matcher(s);
        assertTrue(m.find(), s);
        return Double.parseDouble(m.group(1));
    }

    @Test void errorsAreOneLine() {
        StringWriter err = new StringWriter();
        PrintStream old = System.err;
        ByteArrayOutputStream eb = new ByteArrayOutputStream();
        System.setErr(new PrintStream(eb, true, StandardCharsets.UTF_8));
        try {
            CommandLine cl = new CommandLine(new TrainCommand());
            cl.setErr(new PrintWriter(err));
            int rc = cl.execute("--model", "vgg99", "--data", dir.toString(), "--out", dir.resolve("x.onnx").toString());
            assertEquals(1, rc);
            assertTrue(eb.toString(StandardCharsets.UTF_8).contains("unknown model 'vgg99'"), eb.toString(StandardCharsets.UTF_8));
            eb.reset();
            rc = new CommandLine(new EvalCommand()).execute(dir.resolve("missing.onnx").toString(), "--data", dir.toString());
            assertEquals(1, rc);
            assertTrue(eb.toString(StandardCharsets.UTF_8).startsWith("condense: error: "), eb.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(old);
        }
    }
}
