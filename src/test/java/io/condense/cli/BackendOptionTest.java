package io.condense.cli;

import io.condense.TestData;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxImporter;
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

/** {@code --backend ort} on eval and quantize gives what the cpu backend gives (mnist-8, 300 test images / 8 calibration batches). */
class BackendOptionTest {
    static String eval(Path model, Path mnist, String backend) {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        EvalCommand e = new EvalCommand().out(new PrintStream(bo, true, StandardCharsets.UTF_8));
        assertEquals(0, new picocli.CommandLine(e).execute(model.toString(), "--data", mnist.toString(), "--limit", "300", "--backend", backend));
        return bo.toString(StandardCharsets.UTF_8).strip();
    }

    @Test
    void evalAndQuantizeAgreeAcrossBackends(@TempDir Path dir) {
        Path model = TestData.require("onnx/models/mnist-8/model.onnx");
        Path mnist = TestData.require("mnist");
        String a = eval(model, mnist, "cpu"), b = eval(model, mnist, "ort");
        assertTrue(a.startsWith("accuracy: "), a);
        assertEquals(a, b);
        Path qc = dir.resolve("cpu.onnx"), qo = dir.resolve("ort.onnx");
        for (String[] r : new String[][] {{"cpu", qc.toString()}, {"ort", qo.toString()}}) {
            StringWriter out = new StringWriter(), err = new StringWriter();
            int rc = Main.execute(new String[] {"quantize", model.toString(), "--calib", mnist.toString(), "--scale", "1", "--batches", "8",
                    "--backend", r[0], "--out", r[1]}, new PrintWriter(out), new PrintWriter(err));
            assertEquals(0, rc, err.toString());
        }
        Graph gc = OnnxImporter.load(qc), go = OnnxImporter.load(qo);
        int scales = 0;
        for (var e : gc.initializers().entrySet()) {
            if (!e.getKey().contains("scale")) continue;
            Tensor x = e.getValue(), y = go.initializers().get(e.getKey());
            for (int i = 0; i < x.size(); i++) assertEquals(x.getDouble(i), y.getDouble(i), 1e-6 * Math.abs(x.getDouble(i)) + 1e-12, e.getKey());
            scales++;
        }
        assertTrue(scales >= 4, "scales compared: " + scales);
        StringWriter err = new StringWriter();
        assertEquals(1, Main.execute(new String[] {"eval", model.toString(), "--data", mnist.toString(), "--backend", "nope"},
                new PrintWriter(new StringWriter()), new PrintWriter(err)));
    }
}
