package io.condense.cli;

import io.condense.TestData;
import io.condense.data.Preprocessing;
import io.condense.ir.Graph;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The defaults a newcomer gets work on the models the commands name, and preprocessing is recorded in the output. */
class NewcomerDefaultsTest {
    @TempDir
    Path tmp;

    static int train(PrintStream out, String... args) {
        picocli.CommandLine cl = Main.commandLine(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
        TrainCommand t = new TrainCommand().out(out);
        return new picocli.CommandLine(t).execute(args);
    }

    /** {@code condense train --model lenet5 --data mnist} with the default learning rate: the first 25 steps of the full run's schedule stay finite. */
    @Test
    void lenet5DefaultLearningRateDoesNotDiverge() {
        Path mnist = TestData.require("mnist");
        io.condense.train.Threads.auto();
        Path out = tmp.resolve("l5.onnx");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code = train(new PrintStream(buf, true, StandardCharsets.UTF_8), "--model", "lenet5", "--data", mnist.toString(), "--epochs", "1",
                "--max-steps", "25", "--test-limit", "200", "--out", out.toString(), "--quiet");
        String log = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, log);
        assertTrue(log.contains("sgd lr 0.0200"), log);
        double acc = Double.parseDouble(log.lines().filter(l -> l.startsWith("accuracy: ")).findFirst().orElseThrow().substring(10));
        assertTrue(acc > 0.5, "25 steps learn something: " + acc);
        Graph g = OnnxImporter.load(out);
        assertEquals(Preprocessing.UNIT_SCALE, Preprocessing.of(g).orElseThrow().pixelScale(), 1e-12);
        assertEquals("train/supervised", g.metadata().get(Provenance.METHOD));
        // the old default (0.05) diverges at step 17 of the same schedule: the check above is not vacuous
        ByteArrayOutputStream old = new ByteArrayOutputStream();
        PrintStream err = System.err;
        ByteArrayOutputStream errBuf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(errBuf, true, StandardCharsets.UTF_8));
        try {
            assertEquals(1, train(new PrintStream(old, true, StandardCharsets.UTF_8), "--model", "lenet5", "--data", mnist.toString(), "--epochs", "1",
                    "--max-steps", "25", "--test-limit", "200", "--lr", "0.05", "--out", tmp.resolve("old.onnx").toString(), "--quiet"));
        } finally {
            System.setErr(err);
        }
        assertTrue(errBuf.toString(StandardCharsets.UTF_8).contains("training diverged: loss is NaN at epoch 1, step 17"), errBuf.toString(StandardCharsets.UTF_8));
    }

    /** Every command's --help shows an example. */
    @Test
    void everyCommandsHelpHasAnExample() {
        picocli.CommandLine cl = Main.commandLine(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
        for (var e : cl.getSubcommands().entrySet()) {
            if (e.getKey().equals("help")) continue;
            String usage = e.getValue().getUsageMessage();
            assertTrue(usage.contains("Example"), e.getKey() + " --help has no example:\n" + usage);
        }
    }
}
