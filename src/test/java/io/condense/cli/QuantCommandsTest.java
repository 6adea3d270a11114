package io.condense.cli;

import io.condense.TestData;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.TensorCodec;
import io.condense.train.Models;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantCommandsTest {
    @TempDir Path dir;

    static CliRun main(String... args) { return CliRun.of(args); }

    @Test
    void int4GptqOnLenet() throws Exception {
        Path model = dir.resolve("lenet.onnx"), out = dir.resolve("lenet-int4.onnx"), calib = dir.resolve("calib.pb");
        OnnxExporter.save(Models.lenet300100(1), model);
        Random r = new Random(2);
        float[] x = new float[64 * 784];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        TensorCodec.writePb(Tensor.of(x, 64, 1, 28, 28), "input", calib);
        CliRun run = main("int4", model.toString(), "--group", "64", "--method", "gptq", "--calib", calib.toString(), "--out", out.toString());
        assertEquals(0, run.rc(), run.err());
        Graph q = OnnxImporter.load(out);
        assertEquals(21, q.opset());
        int dq = 0;
        for (Node n : q.nodes()) if (n.opType().equals("DequantizeLinear")) {
            dq++;
            assertEquals(64, n.attrLong("block_size", 0));
            assertEquals(DType.UINT4, q.initializers().get(n.input(0)).dtype(), "default: asymmetric");
            assertEquals(DType.UINT4, q.initializers().get(n.input(2)).dtype(), "a zero point per group");
        }
        assertEquals(3, dq);
        assertTrue(Files.size(out) * 6 < Files.size(model), Files.size(out) + " vs " + Files.size(model));
        Path sym = dir.resolve("lenet-int4-sym.onnx");
        CliRun rs = main("int4", model.toString(), "--group", "64", "--method", "rtn", "--symmetric", "--out", sym.toString());
        assertEquals(0, rs.rc(), rs.err());
        Graph qs = OnnxImporter.load(sym);
        for (Node n : qs.nodes()) if (n.opType().equals("DequantizeLinear")) assertEquals(DType.INT4, qs.initializers().get(n.input(0)).dtype());

        // bad data: one line on stderr, exit 1, no output written
        Path bad = dir.resolve("bad.pb"), out2 = dir.resolve("never.onnx");
        TensorCodec.writePb(Tensor.of(new float[10 * 5], 10, 5), "x", bad);
        CliRun b = main("int4", model.toString(), "--calib", bad.toString(), "--out", out2.toString());
        assertEquals(1, b.rc());
        assertEquals(1, b.err().strip().lines().count(), b.err());
        assertTrue(b.err().contains("do not fit the model input"), b.err());
        assertFalse(Files.exists(out2));
        CliRun m = main("int4", model.toString(), "--method", "gptq", "--out", out2.toString());
        assertEquals(1, m.rc());
        assertTrue(m.err().contains("--calib"), m.err());
    }

    @Test
    void qatOnMnist() {
        Path mnist = TestData.require("mnist");
        Path model = dir.resolve("mlp.onnx"), out = dir.resolve("mlp-qat.onnx");
        OnnxExporter.save(Models.lenet300100(1), model);
        CliRun run = main("qat", model.toString(), "--data", mnist.toString(), "--epochs", "1", "--limit", "512", "--test-limit", "256",
                "--calib-batches", "2", "--out", out.toString());
        assertEquals(0, run.rc(), run.err());
        Graph q = OnnxImporter.load(out);
        assertTrue(q.nodes().stream().anyMatch(n -> n.opType().equals("QuantizeLinear")));
        CliRun bad = main("qat", model.toString(), "--data", dir.resolve("nope").toString(), "--out", out.toString());
        assertEquals(1, bad.rc());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
    }
}
