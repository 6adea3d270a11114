package io.condense.export.trt;

import io.condense.cli.Main;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import org.junit.jupiter.api.Assumptions;
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

/** The part of an engine build that runs without TensorRT, and the command's one-line exit where TensorRT is absent. */
class OnnxPreparationTest {
    /** x[1,8] -> MatMul(W1 [8,4], 2:4 along K) -> MatMul(W2 [4,4], dense) -> y */
    static Graph twoMatMuls(DType weights) {
        float[] w1 = new float[32];
        for (int k = 0; k < 8; k++) for (int n = 0; n < 4; n++) w1[k * 4 + n] = k % 4 < 2 ? 0 : 1 + k + n;
        float[] w2 = new float[16];
        for (int i = 0; i < 16; i++) w2[i] = i + 1;
        Tensor t1 = Tensor.of(w1, 8, 4), t2 = Tensor.of(w2, 4, 4);
        if (weights == DType.FLOAT16) {
            t1 = Tensor.fromDoubles(DType.FLOAT16, t1.shape(), t1.toDoubleArray());
            t2 = Tensor.fromDoubles(DType.FLOAT16, t2.shape(), t2.toDoubleArray());
        }
        return Graph.builder().opset("", 17)
                .addInput(new ValueInfo("x", TensorType.of(weights, 1, 8)))
                .initializer("W1", t1).initializer("W2", t2)
                .addNode(new Node("mm1", "MatMul", "", List.of("x", "W1"), List.of("h"), Map.of()))
                .addNode(new Node("mm2", "MatMul", "", List.of("h", "W2"), List.of("y"), Map.of()))
                .addOutput(new ValueInfo("y", TensorType.of(weights, 1, 4))).build();
    }

    @Test
    void sparsityCheckerFollowsTheReductionAxis() {
        Graph g = twoMatMuls(DType.FLOAT32);
        assertTrue(io.condense.prune.NmCheck.conforms(g.initializers().get("W1"), 0, 2, 4));
        assertFalse(io.condense.prune.NmCheck.conforms(g.initializers().get("W1"), 1, 2, 4), "rows along N are not 2:4");
        assertFalse(io.condense.prune.NmCheck.conforms(g.initializers().get("W2"), 0, 2, 4));
        assertFalse(io.condense.prune.NmCheck.conforms(Tensor.of(new float[] {0, 0, 1}, 3, 1), 0, 2, 4), "K not a multiple of 4");
    }

    @Test
    void preparationReportsPrecisionAndSparsity(@TempDir Path dir) {
        Path m = dir.resolve("m.onnx");
        OnnxExporter.save(twoMatMuls(DType.FLOAT32), m);
        OnnxPreparation p = OnnxPreparation.of(new TrtExportConfig(m, dir.resolve("m.plan"), false, 0, List.of(), null));
        assertEquals(Map.of("mm1", "W1"), p.sparseWeights());
        assertEquals(List.of("mm2"), p.denseWeights());
        assertEquals(0, p.qdqNodes());
        assertEquals(48L, p.floatWeights().get(DType.FLOAT32));
        assertEquals(2, p.warnings().size(), p.warnings().toString());
        assertTrue(p.warnings().get(0).contains("FP32/TF32 engine"));
        assertTrue(p.warnings().get(1).contains("1 weight(s) are 2:4 sparse but --sparsity is off"));
        Path h = dir.resolve("h.onnx");
        OnnxExporter.save(twoMatMuls(DType.FLOAT16), h);
        OnnxPreparation q = OnnxPreparation.of(new TrtExportConfig(h, dir.resolve("h.plan"), true, 0, List.of(), null));
        assertEquals(List.of(), q.warnings(), "FP16 weights with 2:4 and --sparsity: nothing to warn about");
    }

    @Test
    void commandSaysTensorRtIsAbsentInOneLineAndExits1(@TempDir Path dir) {
        Assumptions.assumeFalse(TrtLibraries.available(), "TensorRT is installed here: the absent-library path cannot be tested");
        Path m = dir.resolve("m.onnx");
        OnnxExporter.save(twoMatMuls(DType.FLOAT16), m);
        StringWriter out = new StringWriter(), err = new StringWriter();
        int rc = Main.execute(new String[] {"export-trt", m.toString(), "--out", dir.resolve("m.plan").toString(), "--sparsity"},
                new PrintWriter(out), new PrintWriter(err));
        assertEquals(1, rc);
        String e = err.toString().strip();
        assertEquals(1, e.lines().count(), e);
        assertTrue(e.startsWith("condense: error: TensorRT's libraries are not available here"), e);
        assertFalse(Files.exists(dir.resolve("m.plan")));
        assertTrue(out.toString().contains("2:4-sparse weights 1 of 2"), out.toString());
        // a bad profile is found before TensorRT is needed
        StringWriter err2 = new StringWriter();
        int rc2 = Main.execute(new String[] {"export-trt", m.toString(), "--out", dir.resolve("m.plan").toString(), "--shapes", "x:2x8"},
                new PrintWriter(new StringWriter()), new PrintWriter(err2));
        assertEquals(1, rc2);
        assertTrue(err2.toString().contains("dimension 0 is fixed at 1"), err2.toString());
    }
}
