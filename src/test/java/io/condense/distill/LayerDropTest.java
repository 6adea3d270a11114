package io.condense.distill;

import io.condense.OrtReference;
import io.condense.TestData;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.GraphValidator;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LayerDropTest {
    private static Graph tinyBert() { return OnnxImporter.load(TestData.require("onnx/models/tinybert/tinybert.onnx")); }

    private static Map<String, Tensor> feeds(Graph g, int batch, int seq, int vocab) {
        Random r = new Random(5);
        long[] ids = new long[batch * seq], mask = new long[batch * seq], types = new long[batch * seq];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 1 + r.nextInt(vocab - 1);
            mask[i] = i % seq < seq - 2 || i < seq ? 1 : 0;
        }
        return Map.of(g.inputs().get(0).name(), Tensor.of(ids, batch, seq), g.inputs().get(1).name(), Tensor.of(mask, batch, seq),
                g.inputs().get(2).name(), Tensor.of(types, batch, seq));
    }

    private static void assertClose(Tensor want, Tensor got, double tol, String what) {
        assertEquals(java.util.Arrays.toString(want.shape()), java.util.Arrays.toString(got.shape()), what + " shape");
        float[] a = want.toFloatArray(), b = got.toFloatArray();
        double worst = 0;
        for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(a[i])));
        assertTrue(worst < tol, what + ": worst difference " + worst);
    }

    @Test void findsTinyBertsLayer() {
        List<LayerDrop.Layer> layers = LayerDrop.layers(tinyBert(), null);
        assertEquals(1, layers.size());
        // input: the embeddings' LayerNorm output; output: the layer's final LayerNorm (the graph's output_0)
        assertEquals("61", layers.get(0).input());
        assertEquals("output_0", layers.get(0).output());
        assertTrue(layers.get(0).nodes().stream().anyMatch(n -> n.inputs().contains("182")), "query MatMul (anonymous weight) belongs to the layer");
    }

    /** Dropping TinyBERT's only layer leaves the embeddings: output_0 equals the original's embedding output under ONNX Runtime. */
    @Test void droppingEveryLayerLeavesTheEmbeddings() throws Exception {
        Graph g = tinyBert();
        Graph s = new LayerDrop(new LayerDrop.Config(List.of())).apply(g);
        GraphValidator.validate(s);
        assertTrue(s.parameterCount() < g.parameterCount());
        assertTrue(s.initializers().keySet().stream().noneMatch(k -> k.startsWith("encoder.layer.")), "layer weights remain");
        Map<String, Tensor> f = feeds(g, 2, 7, 1656);
        Graph probe = g.toBuilder().addOutput(new ValueInfo("61", new TensorType(DType.FLOAT32, null))).build();
        Map<String, Tensor> ref = OrtReference.run(OnnxExporter.toBytes(probe), f);
        Map<String, Tensor> got = OrtReference.run(OnnxExporter.toBytes(s), f);
        assertClose(ref.get("61"), got.get("output_0"), 1e-6, "output_0 of the student vs embeddings of the teacher");
        try (Session cpu = Backends.cpu().open(s)) {
            assertClose(got.get("output_1"), cpu.run(f).get("output_1"), 1e-4, "CPU backend vs ONNX Runtime on the student");
        }
    }

    @Test void keepingEveryLayerChangesNothing() {
        Graph g = tinyBert();
        Graph s = new LayerDrop(new LayerDrop.Config(List.of(0))).apply(g);
        assertEquals(g.nodes().size(), s.nodes().size());
        assertEquals(g.parameterCount(), s.parameterCount());
    }

    @Test void badRequestsAreModelErrors() {
        Graph g = tinyBert();
        ModelException e = assertThrows(ModelException.class, () -> new LayerDrop(new LayerDrop.Config(List.of(0, 3))).apply(g));
        assertTrue(e.getMessage().contains("layer 3 does not exist"), e.getMessage());
        assertThrows(ModelException.class, () -> new LayerDrop.Config(List.of(-1)));
        Graph noLayers = new LayerDrop(new LayerDrop.Config(List.of())).apply(g);
        assertThrows(ModelException.class, () -> LayerDrop.layers(noLayers, null));
        assertEquals(List.of(1, 3, 5), LayerDrop.Config.everyNth(6, 2).keep());
    }

    /** MiniLM-L6 to 3 layers (1, 3, 5): valid, 3 x 1.77M fewer parameters, ONNX Runtime and the CPU backend agree. */
    @Tag("slow")
    @Test void miniLmToThreeLayers() throws Exception {
        java.nio.file.Path p = TestData.miniLm();
        Assumptions.assumeTrue(p != null, "MiniLM jar not on the test class path: skipping");
        Graph g = OnnxImporter.load(p);
        List<LayerDrop.Layer> layers = LayerDrop.layers(g, null);
        assertEquals(6, layers.size());
        Graph s = new LayerDrop(LayerDrop.Config.everyNth(6, 2)).apply(g);
        GraphValidator.validate(s);
        assertEquals(3, LayerDrop.layers(s, null).size());
        // one BERT layer of width 384, FFN 1536: 4 * 384^2 + 2 * 384 * 1536 weights, 9 * 384 + 1536 biases/norms
        long perLayer = 4L * 384 * 384 + 2L * 384 * 1536 + 9L * 384 + 1536;
        assertEquals(g.parameterCount() - 3 * perLayer, s.parameterCount());
        Map<String, Tensor> f = feeds(g, 2, 9, 30522);
        Map<String, Tensor> ref = OrtReference.run(OnnxExporter.toBytes(s), f);
        try (Session cpu = Backends.cpu().open(s)) {
            assertClose(ref.get("last_hidden_state"), cpu.run(f).get("last_hidden_state"), 1e-4, "CPU backend vs ONNX Runtime");
        }
    }
}
