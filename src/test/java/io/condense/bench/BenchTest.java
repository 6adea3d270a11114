package io.condense.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A short {@link Bench} run on a tiny token model (embedding Gather with a 50-row table, a mask input) on cpu and ort. */
class BenchTest {
    static TensorType ids() { return new TensorType(DType.INT64, List.of(Dim.symbol("batch"), Dim.symbol("seq"))); }

    static Graph tiny(int vocab) {
        float[] table = new float[vocab * 8];
        for (int i = 0; i < table.length; i++) table[i] = (i % 13) * 0.1f;
        return Graph.builder().opset("", 17)
                .addInput(new ValueInfo("input_ids", ids()))
                .addInput(new ValueInfo("attention_mask", ids()))
                .initializer("emb", Tensor.of(table, vocab, 8))
                .addNode(new Node("gather", "Gather", "", List.of("emb", "input_ids"), List.of("h"), Map.of()))
                .addNode(new Node("cast", "Cast", "", List.of("attention_mask"), List.of("m"),
                        Map.of("to", io.condense.ir.Attribute.of(1L))))
                .addNode(new Node("relu", "Relu", "", List.of("h"), List.of("y"), Map.of()))
                .addOutput(new ValueInfo("y", TensorType.unknown()))
                .addOutput(new ValueInfo("m", TensorType.unknown()))
                .build();
    }

    @Test
    void inputsAreValidTokenIdsAndOnesForTheMask() {
        Graph g = tiny(50);
        assertEquals(50, BenchInputs.vocab(g, "input_ids"));
        Map<String, Tensor> f = BenchInputs.feeds(g, 4, 16, 1);
        Tensor ids = f.get("input_ids"), mask = f.get("attention_mask");
        assertEquals(List.of(4L, 16L), java.util.Arrays.stream(ids.shape()).boxed().toList());
        long distinct = java.util.Arrays.stream((long[]) ids.data()).distinct().count();
        for (long v : (long[]) ids.data()) assertTrue(v >= 0 && v < 50, "id " + v);
        assertTrue(distinct > 10, "ids should vary: " + distinct);
        for (long v : (long[]) mask.data()) assertEquals(1, v);
    }

    @Test
    void shortRunOnBothBackends(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a.onnx"), b = dir.resolve("b.onnx");
        OnnxExporter.save(tiny(50), a);
        OnnxExporter.save(tiny(30), b);
        for (String backend : List.of("cpu", "ort")) {
            BenchConfig cfg = BenchConfig.of(backend, List.of(a, b)).withBatches(List.of(1, 4)).withSeq(8)
                    .withDuration(0.15).withWarmupMs(20).withMinIterations(10);
            BenchResult r = Bench.run(cfg, null);
            assertEquals(backend, r.backend());
            assertEquals(4, r.rows().size());
            for (BenchResult.Row row : r.rows()) {
                assertTrue(row.latency().n() >= 10, row.toString());
                assertTrue(row.wallSeconds() >= 0.15, row.toString());
                assertTrue(row.warmupQueries() >= 1);
                assertEquals(row.latency().n() / row.wallSeconds(), row.queriesPerSecond(), 1e-9 * row.queriesPerSecond());
                assertEquals(row.batch() * row.queriesPerSecond(), row.itemsPerSecond(), 1e-9 * row.itemsPerSecond());
                assertTrue(row.latency().medianMs() > 0 && row.latency().p99Ms() >= row.latency().medianMs());
            }
            assertEquals(1.0, r.row("a.onnx", 4).speedup());
            BenchResult.Row rb = r.row("b.onnx", 4);
            assertEquals(r.row("a.onnx", 4).latency().medianMs() / rb.latency().medianMs(), rb.speedup(), 1e-12);
            Path json = dir.resolve(backend + ".json");
            r.writeJson(json);
            JsonNode n = new ObjectMapper().readTree(Files.readString(json));
            assertEquals(backend, n.get("backend").asText());
            assertEquals(4, n.get("rows").size());
            assertTrue(n.get("rows").get(0).get("latency").has("p99Ms"));
            assertTrue(n.get("loadBefore").asText().length() > 0);
            java.io.ByteArrayOutputStream bo = new java.io.ByteArrayOutputStream();
            r.print(new java.io.PrintStream(bo, true));
            String table = bo.toString();
            assertTrue(table.contains("load average") && table.contains("median ms") && table.contains("b.onnx"), table);
        }
    }

    @Test
    void backendListRunsEveryModelOnEachAgainstTheFirst(@TempDir Path dir) {
        Path a = dir.resolve("a.onnx");
        OnnxExporter.save(tiny(50), a);
        BenchResult r = Bench.run(BenchConfig.of("cpu,ort", List.of(a)).withBatches(List.of(2)).withSeq(4)
                .withDuration(0.1).withWarmupMs(10), null);
        assertEquals(2, r.rows().size());
        BenchResult.Row cpu = r.row("a.onnx", "cpu", 2), ort = r.row("a.onnx", "ort", 2);
        assertEquals(1.0, cpu.speedup());
        assertEquals(cpu.latency().medianMs() / ort.latency().medianMs(), ort.speedup(), 1e-12);
        assertEquals(ort.itemsPerSecond() / cpu.itemsPerSecond(), ort.throughputRatio(), 1e-12);
        org.junit.jupiter.api.Assertions.assertThrows(io.condense.ir.ModelException.class, () -> BenchConfig.of("cpu,tpu", List.of(a)));
    }

    @Test
    void trtWithoutTensorRtIsOneLineModelException(@TempDir Path dir) {
        org.junit.jupiter.api.Assumptions.assumeFalse(io.condense.export.trt.TrtLibraries.available(), "TensorRT is installed here");
        io.condense.ir.ModelException e = org.junit.jupiter.api.Assertions.assertThrows(io.condense.ir.ModelException.class,
                () -> Bench.run(BenchConfig.of("trt", List.of(dir.resolve("m.plan"))), null));
        assertTrue(e.getMessage().startsWith("bench --backend trt: TensorRT's libraries are not available here"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }

    @Test
    void fixedBatchModelsSkipOtherBatchSizes(@TempDir Path dir) {
        Graph g = Graph.builder().opset("", 17)
                .addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, 1, 4)))
                .addNode(new Node("relu", "Relu", "", List.of("x"), List.of("y"), Map.of()))
                .addOutput(new ValueInfo("y", TensorType.of(DType.FLOAT32, 1, 4))).build();
        Path p = dir.resolve("fixed.onnx");
        OnnxExporter.save(g, p);
        BenchResult r = Bench.run(BenchConfig.of("cpu", List.of(p)).withBatches(List.of(1, 8)).withDuration(0.05).withWarmupMs(5), null);
        assertEquals(1, r.rows().size());
        assertTrue(r.warnings().stream().anyMatch(w -> w.contains("fixed batch of 1")), r.warnings().toString());
    }
}
