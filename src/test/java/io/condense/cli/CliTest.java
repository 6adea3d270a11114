package io.condense.cli;

import io.condense.TensorAssert;
import io.condense.TestData;
import io.condense.io.Npy;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.Half;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.TensorCodec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line, run in-process with captured streams. */
class CliTest {
    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {
        /** Asserts a failure reported as exactly one "condense: error:" line and nothing else on stderr. */
        Result failsWith(int expectedCode, String part) {
            assertEquals(expectedCode, code, () -> "exit code; stdout:\n" + out + "\nstderr:\n" + err);
            List<String> lines = err.lines().toList();
            assertEquals(1, lines.size(), () -> "one line on stderr, got:\n" + err);
            assertTrue(lines.get(0).startsWith("condense: error: "), err);
            assertTrue(err.contains(part), () -> "expected '" + part + "' in: " + err);
            assertFalse(err.contains("\tat "), "no stack trace");
            return this;
        }

        Result ok() {
            assertEquals(0, code, () -> "exit code; stdout:\n" + out + "\nstderr:\n" + err);
            assertEquals("", err);
            return this;
        }
    }

    static Result cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    /** A model with a symbolic batch dimension, two inputs, mixed-type initializers and an op no backend knows. */
    static Graph customModel(boolean withUnknownOp) {
        TensorType in = new TensorType(DType.FLOAT32, List.of(Dim.symbol("batch"), Dim.of(4)));
        Graph.Builder b = Graph.builder().name("custom")
                .addInput(new ValueInfo("features", in))
                .addInput(new ValueInfo("ids", new TensorType(DType.INT64, List.of(Dim.symbol("batch"), Dim.symbol("seq")))))
                .addOutput(new ValueInfo("activated", in))
                .initializer("w", Tensor.of(new float[12], 3, 4))
                .initializer("shape", Tensor.of(new long[] {1, 12}, 2))
                .initializer("half", Tensor.of(DType.FLOAT16, new long[] {5}, new short[5]))
                .addNode(new Node("first", "Relu", "", List.of("features"), List.of("r1"), Map.of()))
                .addNode(new Node("second", "Relu", "", List.of("r1"), List.of("activated"), Map.of()))
                .opset("", 17)
                .irVersion(8)
                .producer("condense-test", "1.2")
                .metadata("purpose", "cli test");
        if (withUnknownOp) {
            b.addOutput(new ValueInfo("odd", TensorType.unknown()))
                    .addNode(new Node("strange", "Frobnicate", "com.example", List.of("ids"), List.of("odd"),
                            Map.of("level", Attribute.of(3L))))
                    .opset("com.example", 1);
        }
        return b.build();
    }

    private Path save(Graph g, String name) {
        Path f = tmp.resolve(name);
        OnnxExporter.save(g, f);
        return f;
    }

    private static Path relu() { return TestData.require("onnx/node/test_relu"); }

    // ---- help, version, usage ------------------------------------------------------------------------------

    @Test
    void helpAndVersionEverywhere() {
        for (String[] args : List.of(new String[] {"--help"}, new String[] {"info", "--help"},
                new String[] {"run", "--help"}, new String[] {"demo", "--help"}, new String[] {"help", "run"})) {
            Result r = cli(args).ok();
            assertTrue(r.out.contains("Usage: condense"), r.out);
        }
        assertTrue(cli("run", "--help").out.contains("--input"));
        for (String[] args : List.of(new String[] {"--version"}, new String[] {"info", "--version"},
                new String[] {"run", "--version"}, new String[] {"demo", "--version"})) {
            Result r = cli(args).ok();
            assertTrue(r.out.matches("(?s)condense \\d+\\.\\d+\\.\\d+.*"), r.out);
        }
    }

    @Test
    void usageErrorsExitWithTwo() {
        cli().failsWith(2, "missing command");
        cli("frobnicate").failsWith(2, "frobnicate");
        cli("info").failsWith(2, "MODEL");
        cli("info", "a.onnx", "--bogus").failsWith(2, "--bogus");
        cli("run", "x.onnx", "--repeat", "many").failsWith(2, "many");
        cli("run", "x.onnx", "--backend", "quantum").failsWith(2, "unknown backend 'quantum'");
    }

    // ---- info -------------------------------------------------------------------------------------------

    @Test
    void infoOnNodeTestModel() {
        Result r = cli("info", relu().resolve("model.onnx").toString()).ok();
        assertTrue(r.out.contains("x     float32[3,4,5]"), r.out);
        assertTrue(r.out.contains("y     float32[3,4,5]"), r.out);
        assertTrue(r.out.contains("opsets:     ai.onnx 14"), r.out);
        assertTrue(r.out.contains("producer:   backend-test"), r.out);
        assertTrue(r.out.contains("parameters: 0 in 0 initializers"), r.out);
        assertTrue(r.out.matches("(?s).*\\n  Relu +1\\n.*"), r.out);
        assertTrue(r.out.contains("size:       99 B on disk") || r.out.contains(" B on disk"), r.out);
    }

    @Test
    void infoOnBuiltModel() throws IOException {
        Path f = save(customModel(true), "custom.onnx");
        Result r = cli("info", f.toString()).ok();
        assertTrue(r.out.contains("features  float32[batch,4]"), r.out);
        assertTrue(r.out.contains("ids       int64[batch,seq]"), r.out);
        assertTrue(r.out.contains("odd        ?[*]"), r.out);
        assertTrue(r.out.contains("opsets:     ai.onnx 17, com.example 1"), r.out);
        assertTrue(r.out.contains("producer:   condense-test 1.2"), r.out);
        assertTrue(r.out.contains("purpose = cli test"), r.out);
        assertTrue(r.out.contains("parameters: 19 in 3 initializers, 74 B"), r.out);
        assertTrue(r.out.matches("(?s).*float32 +12 +48 B +\\(1 tensor\\).*"), r.out);
        assertTrue(r.out.matches("(?s).*int64 +2 +16 B +\\(1 tensor\\).*"), r.out);
        assertTrue(r.out.matches("(?s).*float16 +5 +10 B +\\(1 tensor\\).*"), r.out);
        assertTrue(r.out.contains("ops: 3 nodes, 2 op types"), r.out);
        assertTrue(r.out.matches("(?s).*\\n  Relu +2\\n  com\\.example\\.Frobnicate +1\\n.*"), r.out);
        assertTrue(r.out.contains("no kernel yet for com.example.Frobnicate"), r.out);
        assertTrue(r.out.contains(Fmt.bytes(Files.size(f)) + " on disk"), r.out);
    }

    // ---- run --------------------------------------------------------------------------------------------

    @Test
    void runWithPbInputMatchesNodeTest() {
        Path c = relu();
        Path outDir = tmp.resolve("out");
        Result r = cli("run", c.resolve("model.onnx").toString(), "--input",
                "x=" + c.resolve("test_data_set_0/input_0.pb"), "--output-dir", outDir.toString(), "--repeat", "3").ok();
        Tensor expected = TensorCodec.readPb(c.resolve("test_data_set_0/output_0.pb"));
        Tensor actual = TensorCodec.readPb(outDir.resolve("y.pb"));
        TensorAssert.assertClose(expected, actual, 0, 0, "relu output");
        assertEquals("y", TensorCodec.readPbName(outDir.resolve("y.pb")));
        assertTrue(r.out.contains("output y: float32[3,4,5]  [" + Fmt.value(expected, 0)), r.out);
        assertTrue(r.out.contains("over 2 runs"), r.out);
    }

    @Test
    void runWithNpyInputWithoutName() {
        Path c = relu();
        Tensor in = TensorCodec.readPb(c.resolve("test_data_set_0/input_0.pb"));
        Path npy = tmp.resolve("x.npy");
        Npy.write(in, npy);
        Path outDir = tmp.resolve("out");
        cli("run", c.resolve("model.onnx").toString(), "-i", npy.toString(), "-o", outDir.toString(),
                "--output-format", "npy").ok();
        Tensor expected = TensorCodec.readPb(c.resolve("test_data_set_0/output_0.pb"));
        TensorAssert.assertClose(expected, Npy.read(outDir.resolve("y.npy")), 0, 0, "relu output via npy");
    }

    @Test
    void runPretrainedMnistMatchesPublishedOutput() {
        Path m = TestData.require("onnx/models/mnist-8");
        Path outDir = tmp.resolve("mnist");
        for (int k = 0; k < 3; k++) {
            Path set = m.resolve("test_data_set_" + k);
            Result r = cli("run", m.resolve("model.onnx").toString(), "-i", set.resolve("input_0.pb").toString(),
                    "-o", outDir.toString()).ok();
            assertTrue(r.out.contains("output Plus214_Output_0: float32[1,10]"), r.out);
            Tensor expected = TensorCodec.readPb(set.resolve("output_0.pb"));
            // published by the ONNX model zoo (CNTK); logits are in the thousands
            TensorAssert.assertClose(expected, TensorCodec.readPb(outDir.resolve("Plus214_Output_0.pb")), 1e-5, 1e-3,
                    "mnist-8 test_data_set_" + k);
        }
    }

    @Test
    void runBuiltModelWithSymbolicBatch() {
        Path f = save(customModel(false), "custom.onnx");
        Tensor feats = Tensor.of(new float[] {-1, 2, -3, 4, 5, -6, 7, -8}, 2, 4);
        Path fx = tmp.resolve("features.npy");
        Npy.write(feats, fx);
        Path fi = tmp.resolve("ids.pb");
        TensorCodec.writePb(Tensor.of(new long[] {1, 2, 3}, 1, 3), "ids", fi);
        Path outDir = tmp.resolve("o");
        cli("run", f.toString(), "--input", "features=" + fx, "--input", "ids=" + fi, "-o", outDir.toString()).ok();
        Tensor y = TensorCodec.readPb(outDir.resolve("activated.pb"));
        TensorAssert.assertClose(Tensor.of(new float[] {0, 2, 0, 4, 5, 0, 7, 0}, 2, 4), y, 0, 0, "relu(relu(x))");
    }

    // ---- errors: one line, non-zero exit, no output written -------------------------------------------------

    private Result runFails(int code, String part, String... args) {
        Path outDir = tmp.resolve("err-out");
        String[] full = Stream.concat(Arrays.stream(args), Stream.of("--output-dir", outDir.toString())).toArray(String[]::new);
        Result r = cli(full).failsWith(code, part);
        assertFalse(Files.exists(outDir) && outDir.toFile().list().length > 0, "no partial output in " + outDir);
        return r;
    }

    @Test
    void missingFiles() {
        Path c = relu();
        runFails(1, "not found", "run", tmp.resolve("nope.onnx").toString(), "-i", "x=a.pb");
        runFails(1, "not found", "run", c.resolve("model.onnx").toString(), "-i", "x=" + tmp.resolve("nope.pb"));
        runFails(1, "not found", "run", c.resolve("model.onnx").toString(), "-i", "x=" + tmp.resolve("nope.npy"));
        cli("info", tmp.resolve("nope.onnx").toString()).failsWith(1, "not found");
    }

    @Test
    void corruptModels() throws IOException {
        Path c = relu();
        byte[] model = Files.readAllBytes(c.resolve("model.onnx"));
        Path truncated = Files.write(tmp.resolve("truncated.onnx"), Arrays.copyOf(model, model.length / 2));
        Path empty = Files.write(tmp.resolve("empty.onnx"), new byte[0]);
        Path input = c.resolve("test_data_set_0/input_0.pb");
        runFails(1, "not a valid ONNX model", "run", truncated.toString(), "-i", "x=" + input);
        runFails(1, "empty", "run", empty.toString(), "-i", "x=" + input);
        cli("info", truncated.toString()).failsWith(1, "not a valid ONNX model");
        cli("info", empty.toString()).failsWith(1, "empty");
        cli("info", tmp.toString()).failsWith(1, "directory");
        // a corrupt or empty tensor file
        byte[] pb = Files.readAllBytes(input);
        Path badPb = Files.write(tmp.resolve("bad.pb"), Arrays.copyOf(pb, pb.length - 7));
        runFails(1, "bad.pb", "run", c.resolve("model.onnx").toString(), "-i", "x=" + badPb);
        Path emptyNpy = Files.write(tmp.resolve("empty.npy"), new byte[0]);
        runFails(1, "not a .npy file", "run", c.resolve("model.onnx").toString(), "-i", "x=" + emptyNpy);
    }

    @Test
    void unknownOp() {
        Path f = save(customModel(true), "custom.onnx");
        Path fx = tmp.resolve("features.npy");
        Npy.write(Tensor.of(new float[4], 1, 4), fx);
        Path fi = tmp.resolve("ids.npy");
        Npy.write(Tensor.of(new long[] {1}, 1, 1), fi);
        runFails(1, "unsupported op com.example.Frobnicate", "run", f.toString(), "-i", "features=" + fx, "-i", "ids=" + fi);
    }

    @Test
    void wrongShapeAndDtype() {
        Path c = relu();
        Path m = c.resolve("model.onnx");
        Path shape = tmp.resolve("shape.npy");
        Npy.write(Tensor.of(new float[6], 2, 3), shape);
        runFails(1, "input 'x' must have shape [3, 4, 5], got [2, 3]", "run", m.toString(), "-i", "x=" + shape);
        Path dtype = tmp.resolve("dtype.npy");
        Npy.write(Tensor.of(new double[60], 3, 4, 5), dtype);
        runFails(1, "input 'x' must be FLOAT32, got FLOAT64", "run", m.toString(), "-i", "x=" + dtype);
        Path half = tmp.resolve("half.npy");
        Npy.write(Tensor.of(DType.FLOAT16, new long[] {3, 4, 5}, new short[60]), half);
        runFails(1, "must be FLOAT32, got FLOAT16", "run", m.toString(), "-i", half.toString());
    }

    @Test
    void badInputSyntax() {
        Path m = save(customModel(false), "custom.onnx");
        Path fx = tmp.resolve("features.npy");
        Npy.write(Tensor.of(new float[4], 1, 4), fx);
        runFails(2, "needs the form NAME=FILE", "run", m.toString(), "-i", fx.toString());
        runFails(2, "has no input 'feature'", "run", m.toString(), "-i", "feature=" + fx);
        runFails(2, "empty NAME", "run", m.toString(), "-i", "=" + fx);
        runFails(2, "empty FILE", "run", m.toString(), "-i", "features=", "-i", "ids=" + fx);
        runFails(2, "given twice", "run", m.toString(), "-i", "features=" + fx, "-i", "features=" + fx);
        runFails(2, "missing --input for model input 'ids' (int64[batch,seq])", "run", m.toString(), "-i", "features=" + fx);
        runFails(2, "--repeat must be at least 1", "run", m.toString(), "-i", "features=" + fx, "--repeat", "0");
        runFails(2, "--output-format must be pb or npy", "run", m.toString(), "--output-format", "csv");
    }

    /** A backend that is available but refuses every graph, as a GPU backend does for ops it lacks. */
    record RefusingBackend(String name, int rank, boolean isAvailable) implements io.condense.backend.Backend {
        @Override
        public String unavailableReason() { return isAvailable ? "" : "no device"; }

        @Override
        public io.condense.backend.Session open(Graph graph) {
            throw new io.condense.ir.ModelException("unsupported op Relu at node 'first'");
        }
    }

    @Test
    void autoFallsBackToTheNextBackend() {
        Graph g = customModel(false);
        StringWriter notes = new StringWriter();
        io.condense.backend.Session[] s = new io.condense.backend.Session[1];
        String used = RunCommand.openFirst(List.of(new RefusingBackend("gpu", 10, true), new RefusingBackend("tpu", 5, false),
                io.condense.backend.Backends.cpu()), g, new PrintWriter(notes, true), s);
        s[0].close();
        assertEquals("cpu", used);
        assertEquals("note: the gpu backend cannot run this model (unsupported op Relu at node 'first'); trying cpu",
                notes.toString().strip());
        io.condense.ir.ModelException e = org.junit.jupiter.api.Assertions.assertThrows(io.condense.ir.ModelException.class,
                () -> RunCommand.openFirst(List.of(new RefusingBackend("gpu", 10, true)), g, new PrintWriter(notes), s));
        assertTrue(e.getMessage().startsWith("unsupported op Relu"), e.getMessage());
    }

    @Test
    void verbosePrintsTheStackTrace() throws IOException {
        Path empty = Files.write(tmp.resolve("empty.onnx"), new byte[0]);
        Result r = cli("--verbose", "info", empty.toString());
        assertNotEquals(0, r.code);
        assertTrue(r.err.startsWith("condense: error: "), r.err);
        assertTrue(r.err.contains("\tat "), r.err);
        Result sub = cli("info", "--verbose", empty.toString());
        assertTrue(sub.err.contains("\tat "), sub.err);
    }
}
