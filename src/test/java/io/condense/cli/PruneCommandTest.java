package io.condense.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.condense.TestData;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import io.condense.prune.NmCheck;
import io.condense.train.Models;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PruneCommandTest {
    @TempDir Path dir;

    /** Runs the condense command line; returns {exit code, stdout, stderr}. */
    static Object[] run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        PrintStream oldErr = System.err, oldOut = System.out;
        ByteArrayOutputStream eb = new ByteArrayOutputStream(), ob = new ByteArrayOutputStream();
        System.setErr(new PrintStream(eb, true, StandardCharsets.UTF_8));
        System.setOut(new PrintStream(ob, true, StandardCharsets.UTF_8));
        try {
            int rc = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
            return new Object[] {rc, out + ob.toString(StandardCharsets.UTF_8), err + eb.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setErr(oldErr);
            System.setOut(oldOut);
        }
    }

    Path mlp() {
        Path p = dir.resolve("mlp.onnx");
        if (!Files.exists(p)) OnnxExporter.save(Models.lenet300100(1), p);
        return p;
    }

    static double zeroFraction(Graph g, String w) {
        float[] f = g.initializers().get(w).toFloatArray();
        int z = 0;
        for (float v : f) if (v == 0f) z++;
        return z / (double) f.length;
    }

    @Test void magnitudeAndGlobalWithProvenance() throws Exception {
        Path out = dir.resolve("p.onnx");
        Object[] r = run("prune", mlp().toString(), "--method", "magnitude", "--sparsity", "0.7", "--out", out.toString());
        assertEquals(0, r[0], r[2].toString());
        Graph g = OnnxImporter.load(out);
        for (String w : List.of("fc1.weight", "fc2.weight", "fc3.weight")) assertEquals(0.7, zeroFraction(g, w), 1e-3, w);
        assertEquals("prune/magnitude", g.metadata().get(Provenance.METHOD));
        assertEquals(Provenance.sha256(mlp()), g.metadata().get(Provenance.INPUT_SHA256));
        JsonNode h = Provenance.history(g).get(0);
        assertEquals("magnitude", h.get("extra").get("criterion").asText());
        assertEquals(0.7, h.get("extra").get("sparsity_per_layer").get("fc1.weight").asDouble(), 1e-3);
        assertEquals("magnitude", h.get("config").get("prune").get("criterion").asText());

        r = run("prune", mlp().toString(), "--method", "global", "--sparsity", "0.9", "--out", out.toString());
        assertEquals(0, r[0], r[2].toString());
        g = OnnxImporter.load(out);
        double s1 = zeroFraction(g, "fc1.weight"), s3 = zeroFraction(g, "fc3.weight");
        assertTrue(s1 > 0.9 && s3 < 0.9, s1 + " " + s3);
    }

    @Test void twoFourWithSparseGptOnMnist() throws Exception {
        Path mnist = TestData.require("mnist");
        Path out = dir.resolve("p24.onnx");
        Object[] r = run("prune", mlp().toString(), "--method", "2:4", "--criterion", "sparsegpt", "--data", mnist.toString(),
                "--calibration-batches", "2", "--out", out.toString());
        assertEquals(0, r[0], r[2].toString());
        assertTrue(r[1].toString().contains("sparse tensor cores"), r[1].toString());
        Graph g = OnnxImporter.load(out);
        for (NmCheck.LayerCheck c : NmCheck.check(g, 2, 4)) {
            assertTrue(c.conforms(), c.toString());
            assertEquals(0.5, c.sparsity(), 0.01);
        }
        assertTrue(g.metadata().get(Provenance.HISTORY).contains("data_sha256"));
        assertTrue(r[1].toString().contains("test accuracy after"), r[1].toString());
    }

    @Test void sensitivityWritesTablePlotAndAllocation() throws Exception {
        Path mnist = TestData.require("mnist");
        Path out = dir.resolve("sens");
        Object[] r = run("sensitivity", mlp().toString(), "--data", mnist.toString(), "--out", out.toString(), "--levels", "0.5,0.9",
                "--validation", "300", "--target", "0.6");
        assertEquals(0, r[0], r[2].toString());
        for (String f : List.of("sensitivity.csv", "sensitivity.md", "sensitivity.png", "allocation.csv")) assertTrue(Files.exists(out.resolve(f)), f);
        // the CSV drives `prune --sensitivity`
        Path p = dir.resolve("ps.onnx");
        r = run("prune", mlp().toString(), "--method", "magnitude", "--sparsity", "0.6", "--sensitivity", out.resolve("sensitivity.csv").toString(),
                "--out", p.toString());
        assertEquals(0, r[0], r[2].toString());
        Graph g = OnnxImporter.load(p);
        double z = 0, t = 0;
        for (String w : List.of("fc1.weight", "fc2.weight", "fc3.weight")) {
            long n = g.initializers().get(w).size();
            z += zeroFraction(g, w) * n;
            t += n;
        }
        assertEquals(0.6, z / t, 0.01);
    }

    @Test void badInputIsOneLine() {
        String m = mlp().toString(), o = dir.resolve("x.onnx").toString();
        Object[] r = run("prune", m, "--method", "sideways", "--out", o);
        assertEquals(2, r[0]);
        assertTrue(r[2].toString().startsWith("condense: error: unknown method 'sideways'"), r[2].toString());
        r = run("prune", m, "--method", "magnitude", "--sparsity", "1", "--out", o);
        assertEquals(2, r[0]);
        assertTrue(r[2].toString().contains("--sparsity must be in [0, 1)"), r[2].toString());
        r = run("prune", m, "--method", "magnitude", "--sparsity", "-0.5", "--out", o);
        assertEquals(2, r[0]);
        r = run("prune", m, "--method", "wanda", "--out", o);
        assertEquals(1, r[0]);
        assertTrue(r[2].toString().startsWith("condense: error: wanda needs calibration data"), r[2].toString());
        r = run("prune", m, "--method", "sparsegpt", "--data", dir.resolve("nowhere").toString(), "--out", o);
        assertEquals(1, r[0]);
        assertTrue(r[2].toString().contains("data not found"), r[2].toString());
        r = run("prune", m, "--method", "magnitude", "--fine-tune-epochs", "1", "--out", o);
        assertEquals(1, r[0]);
        assertTrue(r[2].toString().contains("fine-tuning needs --data"), r[2].toString());
        // a model with nothing to prune
        Graph relu = Graph.builder().name("relu").opset("", 17)
                .addInput(new ValueInfo("x", new TensorType(DType.FLOAT32, List.of(Dim.of(1), Dim.of(4)))))
                .addNode(new Node("r", "Relu", "", List.of("x"), List.of("y"), Map.<String, Attribute>of()))
                .addOutput(new ValueInfo("y", new TensorType(DType.FLOAT32, List.of(Dim.of(1), Dim.of(4))))).build();
        Path rp = dir.resolve("relu.onnx");
        OnnxExporter.save(relu, rp);
        r = run("prune", rp.toString(), "--method", "magnitude", "--out", o);
        assertEquals(1, r[0]);
        assertTrue(r[2].toString().startsWith("condense: error: nothing to prune"), r[2].toString());
        assertEquals(1, r[2].toString().strip().split("\n").length, r[2].toString());
        assertFalse(Files.exists(dir.resolve("x.onnx")));
        r = run("sensitivity", m, "--data", dir.toString(), "--out", dir.resolve("s").toString(), "--levels", "1.5");
        assertEquals(2, r[0]);
    }
}
