package io.condense.quant;

import io.condense.OrtTestSupport;
import io.condense.TestData;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.passes.OpsetConversion;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gathering quantized embedding rows before dequantizing them computes the same floats as dequantizing the whole
 * table first, bit for bit, in ONNX Runtime and in condense's CPU executor (TinyBERT: word, position and token-type
 * tables, per-row and per-tensor scales).
 */
class GatherDequantizeTest {
    static long count(Graph g, String op) { return g.nodes().stream().filter(n -> n.opType().equals(op)).count(); }

    /** The tables quantized as before this pass existed: DequantizeLinear of the whole table, then Gather. */
    static Graph dqThenGather(Graph g, boolean perRow) {
        Map<String, List<Node>> readers = g.consumers();
        QdqEditor e = new QdqEditor(g);
        for (int i = 0; i < g.nodes().size(); i++) {
            Node n = g.nodes().get(i);
            if (!n.opType().equals("Gather")) continue;
            Tensor t = g.initializers().get(n.input(0));
            if (t == null || t.dtype() != DType.FLOAT32 || t.rank() != 2) continue;
            if (readers.get(n.input(0)).stream().anyMatch(r -> !r.opType().equals("Gather"))) continue;
            QParams p = perRow ? QParams.perChannelSymmetric(QParams.channelAbsMax(t, 0), 0, DType.INT8)
                    : QParams.symmetric(QParams.absMax(t), DType.INT8);
            e.rewire(i, 0, e.weight(n.input(0), p));
        }
        return e.build();
    }

    @Test
    void gatheredRowsDequantizeToTheSameFloats() {
        Graph tiny = OpsetConversion.upgrade(OnnxImporter.load(TestData.require("onnx/models/tinybert/tinybert.onnx")), 13);
        List<Map<String, Tensor>> feeds = TransformerFeeds.random(tiny, 2, 2, 16, 7);
        for (boolean perRow : new boolean[] {true, false}) {
            Graph before = dqThenGather(tiny, perRow);
            Graph after = new GatherDequantize().apply(before);
            long tables = count(before, "DequantizeLinear");
            assertTrue(tables >= 3, "word, position and token-type tables: " + tables);
            for (Node n : after.nodes()) {
                if (n.opType().equals("DequantizeLinear")) {
                    Tensor q = after.initializers().get(n.input(0));
                    assertTrue(q == null, "no DequantizeLinear reads a whole table any more: " + n.label());
                }
            }
            assertEquals(perRow ? tables : 0, count(after, "Cast") - count(before, "Cast"), "per-row: one Cast per table");
            long rows = before.nodes().stream().filter(n -> n.opType().equals("DequantizeLinear"))
                    .mapToLong(n -> before.initializers().get(n.input(0)).dim(0)).sum();
            // same tables and scales; per-row, the all-zero zero points (one per row) are no longer read
            assertEquals(before.parameterCount() - (perRow ? rows : 0), after.parameterCount(), "parameters");
            byte[] b = OnnxExporter.toBytes(before), a = OnnxExporter.toBytes(after);
            try (Session sb = Backends.cpu().open(before); Session sa = Backends.cpu().open(after)) {
                for (Map<String, Tensor> f : feeds) {
                    String out = tiny.outputs().get(0).name();
                    float[] ob = OrtTestSupport.run(b, f).get(out).toFloatArray();
                    float[] oa = OrtTestSupport.run(a, f).get(out).toFloatArray();
                    assertArrayEquals(ob, oa, 0f, "ONNX Runtime, per-row " + perRow);
                    assertArrayEquals(sb.run(f).get(out).toFloatArray(), sa.run(f).get(out).toFloatArray(), 0f,
                            "condense CPU, per-row " + perRow);
                }
            }
        }
    }

    @Test
    void dynamicQuantizationGathersBeforeDequantizing() {
        Graph tiny = OnnxImporter.load(TestData.require("onnx/models/tinybert/tinybert.onnx"));
        Graph q = DynamicQuantization.quantizeEmbeddings(new DynamicQuantization(DynamicQuantization.Config.defaults()).apply(tiny));
        Map<String, Node> prod = q.producers();
        long gathersOnInt8 = q.nodes().stream().filter(n -> n.opType().equals("Gather")
                && q.initializers().containsKey(n.input(0)) && q.initializers().get(n.input(0)).dtype() == DType.INT8).count();
        assertTrue(gathersOnInt8 >= 3, "embedding Gathers read the INT8 tables: " + gathersOnInt8);
        assertTrue(q.nodes().stream().noneMatch(n -> n.opType().equals("DequantizeLinear")
                && q.initializers().containsKey(n.input(0)) && q.initializers().get(n.input(0)).rank() == 2
                && prod.get(n.output(0)) != null && q.consumers().getOrDefault(n.output(0), List.of()).stream().anyMatch(r -> r.opType().equals("Gather"))));
    }
}
