package io.condense.onnx;

import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.TensorType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ProvenanceTest {
    record Cfg(String calib, int bits) {}

    @Test
    void stagesAccumulateAndSurviveExportImport() {
        Graph g = tiny();
        g = Provenance.stamp(g, new Provenance.Stage("prune/magnitude", "abc", Map.of("sparsity", 0.5), 7L));
        g = Provenance.stamp(g, new Provenance.Stage("quantize/int8-static", "def", new Cfg("entropy", 8), null,
                Map.of("data_sha256", "123")));
        Graph back = OnnxImporter.fromBytes(OnnxExporter.toBytes(g));
        var h = Provenance.history(back);
        assertEquals(2, h.size());
        assertEquals("prune/magnitude", h.get(0).get("method").asText());
        assertEquals(0.5, h.get(0).get("config").get("sparsity").asDouble());
        assertEquals(7, h.get(0).get("seed").asLong());
        assertEquals("entropy", h.get(1).get("config").get("calib").asText());
        assertEquals("123", h.get(1).get("extra").get("data_sha256").asText());
        assertTrue(h.get(1).get("seed").isNull());
        assertEquals("quantize/int8-static", back.metadata().get(Provenance.METHOD));
        assertEquals("def", back.metadata().get(Provenance.INPUT_SHA256));
        assertEquals("{\"calib\":\"entropy\",\"bits\":8}", back.metadata().get(Provenance.CONFIG));
    }

    @Test
    void sha256MatchesKnownVector() {
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                Provenance.sha256("abc".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    }

    private static Graph tiny() {
        var t = TensorType.of(DType.FLOAT32, 1, 4);
        return Graph.builder().opset("", 17)
                .addInput(new io.condense.ir.ValueInfo("x", t))
                .addNode(Node.of("Relu", List.of("x"), List.of("y"), Map.of()))
                .addOutput(new io.condense.ir.ValueInfo("y", t))
                .build();
    }
}
