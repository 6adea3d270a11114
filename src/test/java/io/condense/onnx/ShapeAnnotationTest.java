package io.condense.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.condense.TestData;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.ShapeInference;
import io.condense.quant.TransformerQuant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The value_info condense writes (its symbolic shape inference) is what ONNX Runtime needs to fuse BERT's
 * residual Add + LayerNormalization into SkipLayerNormalization: on MiniLM-L6 (dynamic batch and sequence) ORT
 * fuses none of the 12 without it and all 12 with it. ORT's own optimized model, written by ORT, is the reference.
 */
class ShapeAnnotationTest {
    static long ortFused(byte[] model, Path dir, String name) throws Exception {
        Path opt = dir.resolve(name);
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            o.setIntraOpNumThreads(1);
            o.setOptimizedModelFilePath(opt.toString());
            OrtEnvironment.getEnvironment().createSession(model, o).close();
        }
        Graph g = OnnxImporter.load(opt);
        return g.nodes().stream().filter(n -> n.opType().equals("SkipLayerNormalization")).count();
    }

    @Test
    void ortFusesSkipLayerNormOnlyWithCondensesShapes(@TempDir Path dir) throws Exception {
        Graph g = OnnxImporter.load(TestData.miniLm());
        Graph q = TransformerQuant.quantize(g, TransformerQuant.Mode.DYNAMIC, null, null).graph();
        Graph a = ShapeInference.annotate(q);
        long symbolic = a.valueInfo().values().stream().filter(v -> v.type().hasRank()
                && v.type().dims().stream().anyMatch(d -> "sequence_length".equals(d.symbol()))).count();
        assertTrue(symbolic > 300, "intermediates with the symbolic sequence dimension: " + symbolic);
        long ln = q.nodes().stream().filter(n -> n.opType().equals("Pow")).count() - 1; // one per LayerNorm but the embeddings'
        assertEquals(12, ln);
        assertEquals(0, ortFused(OnnxExporter.toBytes(q), dir, "plain.onnx"), "without value_info");
        assertEquals(12, ortFused(OnnxExporter.toFileBytes(q), dir, "annotated.onnx"), "with condense's value_info");
        for (Node n : a.nodes()) for (String o : n.outputs()) assertTrue(o.isEmpty() || a.valueInfo().containsKey(o) || a.outputs().stream().anyMatch(v -> v.name().equals(o)), o);
    }
}
