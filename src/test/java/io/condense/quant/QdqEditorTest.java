package io.condense.quant;

import io.condense.OrtTestSupport;
import io.condense.TensorAssert;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Q/DQ insertion API on its own (what INT4/QAT code builds on). */
class QdqEditorTest {
    static Graph matmul(long k, long n, long seed) {
        Random r = new Random(seed);
        float[] w = new float[(int) (k * n)];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        return Graph.builder().name("mm").opset("", 17)
                .addInput(new ValueInfo("x", new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(k)))))
                .initializer("w", Tensor.of(w, k, n))
                .addNode(new Node("mm", "MatMul", "", List.of("x", "w"), List.of("y"), Map.of()))
                .addOutput(new ValueInfo("y", TensorType.unknown())).build();
    }

    /** Blocked INT4 weight (block 4 along K) and an INT8 activation pair: ORT and condense agree; opset raised to 21. */
    @Test
    void blockedInt4WeightRunsInOrtAndCpu() {
        Graph g = matmul(8, 3, 1);
        Tensor w = g.initializers().get("w");
        // scale per (block of 4 rows, column): shape [2, 3]
        float[] s = new float[6];
        for (int b = 0; b < 2; b++) {
            for (int c = 0; c < 3; c++) {
                double m = 0;
                for (int r = b * 4; r < b * 4 + 4; r++) m = Math.max(m, Math.abs(w.getDouble(r * 3 + c)));
                s[b * 3 + c] = (float) (m / 7);
            }
        }
        QParams p = new QParams(DType.INT4, Tensor.of(s, 2, 3), Tensor.zeros(DType.INT4, 2, 3), 0, 4);
        QdqEditor e = new QdqEditor(g);
        e.rewire(0, 1, e.weight("w", p));
        e.rewire(0, 0, e.activation("x", QParams.symmetric(2.0, DType.INT8)));
        Graph q = e.build();
        assertEquals(21, q.opset());
        assertTrue(!q.initializers().containsKey("w"), "float weight dropped");
        Tensor wq = q.initializers().get("w_quantized");
        assertEquals(DType.INT4, wq.dtype());
        for (int i = 0; i < wq.size(); i++) assertTrue(Math.abs(wq.getLong(i)) <= 7);
        Tensor x = Tensor.of(new float[] {0.1f, -0.5f, 1.9f, 0.3f, -1.2f, 0.7f, 0.05f, -2.5f, 1, 1, 1, 1, 0, 0, 0, 0}, 2, 8);
        Map<String, Tensor> in = Map.of("x", x);
        Tensor ort = OrtTestSupport.run(OnnxExporter.toBytes(q), in).get("y");
        Tensor cpu;
        try (Session ss = Backends.cpu().open(q)) {
            cpu = ss.run(in).get("y");
        }
        TensorAssert.assertClose(ort, cpu, 1e-5, 1e-5, "int4 qdq matmul");
        // and the fake-quantized reference computed with QParams alone
        Tensor wd = p.fakeQuantize(w), xd = QParams.symmetric(2.0, DType.INT8).fakeQuantize(x);
        float[] ref = new float[6];
        for (int r = 0; r < 2; r++) for (int c = 0; c < 3; c++) for (int k = 0; k < 8; k++) ref[r * 3 + c] += (float) (xd.getDouble(r * 8 + k) * wd.getDouble(k * 3 + c));
        TensorAssert.assertClose(Tensor.of(ref, 2, 3), cpu, 1e-5, 1e-5, "QParams reference");
    }

    @Test
    void opsetRaiseConvertsChangedOps() {
        Graph g = Graph.builder().name("sq").opset("", 11)
                .addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, 1, 4)))
                .addNode(new Node("sq", "Squeeze", "", List.of("x"), List.of("y"), Map.of("axes", io.condense.ir.Attribute.of(0L))))
                .addOutput(new ValueInfo("y", TensorType.unknown())).build();
        Graph r = QdqEditor.raiseOpset(g, 13);
        assertEquals(13, r.opset());
        Node sq = r.nodes().get(0);
        assertEquals(2, sq.inputs().size(), "axes moved to an input");
        assertArrayEquals(new long[] {0}, (long[]) r.initializers().get(sq.input(1)).data());
        // below 13 only renumbering is possible: refused
        var ex = assertThrows(io.condense.ir.ModelException.class, () -> QdqEditor.raiseOpset(g.toBuilder().opset("", 9)
                .nodes(List.of(new Node("sl", "Slice", "", List.of("x"), List.of("y"), Map.of("starts", io.condense.ir.Attribute.of(0L), "ends", io.condense.ir.Attribute.of(1L))))).build(), 10));
        assertTrue(ex.getMessage().contains("Slice"), ex.getMessage());
    }
}
