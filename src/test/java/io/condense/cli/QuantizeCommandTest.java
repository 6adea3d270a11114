package io.condense.cli;

import io.condense.OrtTestSupport;
import io.condense.TestData;
import io.condense.io.Npy;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.train.Models;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code condense quantize} through picocli, in-process. */
class QuantizeCommandTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void threads() { io.condense.train.Threads.auto(); }

    record Result(int code, String out, String err) {
        Result failsWith(String part) {
            assertEquals(1, code, () -> "exit code; stdout:\n" + out + "\nstderr:\n" + err);
            List<String> lines = err.lines().toList();
            assertEquals(1, lines.size(), () -> "one line on stderr, got:\n" + err);
            assertTrue(lines.get(0).startsWith("condense: error: "), err);
            assertTrue(err.contains(part), () -> "expected '" + part + "' in: " + err);
            return this;
        }

        Result ok() {
            assertEquals(0, code, () -> "exit code; stdout:\n" + out + "\nstderr:\n" + err);
            return this;
        }
    }

    static Result cli(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    Path lenet() {
        Path m = tmp.resolve("lenet5.onnx");
        OnnxExporter.save(Models.lenet5(1), m);
        return m;
    }

    static long count(Graph g, String op) { return g.nodes().stream().filter(n -> n.opType().equals(op)).count(); }

    @Test
    void randomDataSmokeTestRunsInOrt() throws Exception {
        Path out = tmp.resolve("q.onnx");
        Result r = cli("quantize", lenet().toString(), "--calib", "random", "--batches", "2", "--batch-size", "4", "--out", out.toString()).ok();
        assertTrue(r.out.contains("calibrated") && r.out.contains("smaller"), r.out);
        Graph q = OnnxImporter.load(out);
        assertEquals(6, count(q, "QuantizeLinear"));
        assertEquals(10, count(q, "DequantizeLinear"));
        Map<String, Tensor> y = OrtTestSupport.run(Files.readAllBytes(out), Map.of("input", Tensor.of(new float[2 * 784], 2, 1, 28, 28)));
        assertEquals(20, y.values().iterator().next().size());
        assertFalse(Files.list(tmp).anyMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temp file left");
    }

    @Test
    void mnistIdxWithSensitivityAndKeepFloat() {
        Path mnist = TestData.require("mnist");
        Path out = tmp.resolve("q.onnx");
        Result r = cli("quantize", lenet().toString(), "--calib", mnist.toString(), "--method", "entropy", "--batches", "2",
                "--batch-size", "8", "--sensitivity", "--keep-float", "1", "--out", out.toString()).ok();
        assertTrue(r.out.contains("sensitivity (agreement)") && r.out.contains("keeping in float: "), r.out);
        String kept = r.out.lines().filter(l -> l.startsWith("keeping in float: ")).findFirst().orElseThrow().substring(18).trim();
        Graph q = OnnxImporter.load(out);
        Node n = q.nodes().stream().filter(x -> x.name().equals(kept)).findFirst().orElseThrow();
        for (String i : n.inputs()) {
            Node p = q.producers().get(i);
            assertTrue(p == null || !p.opType().equals("DequantizeLinear"), kept + " stays float");
        }
    }

    @Test
    void yamlConfigAndExclude() throws Exception {
        Path cfg = tmp.resolve("q.yaml");
        Files.writeString(cfg, "method: percentile\npercentile: 99.9\nsymmetric_activations: false\nexclude: [conv_2]\ncalibration_batches: 1\n");
        Path out = tmp.resolve("q.onnx");
        Result r = cli("quantize", lenet().toString(), "--calib", "random", "--config", cfg.toString(), "--out", out.toString()).ok();
        assertTrue(r.out.contains("percentile 99.9") && r.out.contains("UINT8 asymmetric"), r.out);
        Graph q = OnnxImporter.load(out);
        Node conv = q.nodes().stream().filter(x -> x.name().equals("conv_2")).findFirst().orElseThrow();
        assertEquals(io.condense.ir.DType.FLOAT32, q.initializers().get(conv.input(1)).dtype());
        Files.writeString(cfg, "method: percentile\nfoo: 1\n");
        cli("quantize", lenet().toString(), "--calib", "random", "--config", cfg.toString(), "--out", out.toString()).failsWith("unknown key 'foo'");
    }

    @Test
    void badCalibrationData() throws Exception {
        Path m = lenet(), out = tmp.resolve("q.onnx");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        cli("quantize", m.toString(), "--calib", empty.toString(), "--out", out.toString()).failsWith("calibration data is empty");
        Path wrong = Files.createDirectories(tmp.resolve("wrong"));
        Npy.write(Tensor.of(new float[2 * 10], 2, 10), wrong.resolve("a.npy"));
        cli("quantize", m.toString(), "--calib", wrong.toString(), "--out", out.toString()).failsWith("calibration batch 1");
        Path nan = Files.createDirectories(tmp.resolve("nan"));
        float[] x = new float[784];
        x[5] = Float.NaN;
        Npy.write(Tensor.of(x, 1, 28, 28), nan.resolve("a.npy"));
        cli("quantize", m.toString(), "--calib", nan.toString(), "--out", out.toString()).failsWith("NaN");
        cli("quantize", m.toString(), "--calib", tmp.resolve("nope").toString(), "--out", out.toString()).failsWith("not found");
        cli("quantize", m.toString(), "--calib", "random", "--method", "fancy", "--out", out.toString()).failsWith("unknown calibration method");
        cli("quantize", m.toString(), "--calib", "random", "--exclude", "nosuch", "--out", out.toString()).failsWith("no node named 'nosuch'");
        assertFalse(Files.exists(out), "nothing written on failure");
    }
}
