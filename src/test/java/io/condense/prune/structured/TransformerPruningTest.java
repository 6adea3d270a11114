package io.condense.prune.structured;

import io.condense.OrtTestSupport;
import io.condense.TestData;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Head and FFN pruning of TinyBERT: the pruned graph equals the masked graph in ONNX Runtime. */
class TransformerPruningTest {

    static Map<String, Tensor> textFeeds(long seed, int batch, int seq, int vocab) {
        Random r = new Random(seed);
        long[] ids = new long[batch * seq], mask = new long[batch * seq], types = new long[batch * seq];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(vocab);
            mask[i] = (i % seq) < seq - 1 - (i / seq) ? 1 : 0; // padded tails of different lengths
        }
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("input_ids", Tensor.of(ids, batch, seq));
        m.put("attention_mask", Tensor.of(mask, batch, seq));
        m.put("token_type_ids", Tensor.of(types, batch, seq));
        return m;
    }

    static void assertClose(Map<String, Tensor> want, Map<String, Tensor> got, String what) {
        for (String k : want.keySet()) {
            float[] w = want.get(k).toFloatArray(), o = got.get(k).toFloatArray();
            assertEquals(w.length, o.length, what + " " + k);
            double scale = 0, diff = 0;
            for (int i = 0; i < w.length; i++) { scale = Math.max(scale, Math.abs(w[i])); diff = Math.max(diff, Math.abs(w[i] - o[i])); }
            System.out.printf("%s %s: max |masked - pruned| = %.3g (scale %.3g)%n", what, k, diff, scale);
            assertTrue(diff <= 1e-5 * scale, what + " " + k + ": differs by " + diff);
        }
    }

    @Test
    void miniLmHeadsMaskedEqualsPruned() throws Exception {
        java.nio.file.Path p = TestData.miniLm();
        org.junit.jupiter.api.Assumptions.assumeTrue(p != null, "MiniLM jar not on the test class path: skipping");
        Graph g = DependencyGraph.normalize(OnnxImporter.load(p));
        List<TransformerPruning.Attention> blocks = TransformerPruning.attentions(g);
        assertEquals(6, blocks.size(), "MiniLM-L6 attention blocks");
        assertEquals(12, blocks.get(0).heads());
        assertEquals(32, blocks.get(0).headDim());
        Map<Integer, int[]> rm = Map.of(0, new int[] {0, 5, 11}, 3, new int[] {2, 3}, 5, new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
        Graph masked = TransformerPruning.maskHeads(g, blocks, rm);
        Graph pruned = TransformerPruning.pruneHeads(g, blocks, rm);
        assertEquals(g.parameterCount() - 16L * 32 * (4 * 384 + 3), pruned.parameterCount(), "parameters: 16 heads x 32 x (Wq, Wk, Wv, Wo + 3 biases)");
        Map<String, Tensor> feeds = textFeeds(1, 2, 9, 30000);
        Map<String, Tensor> orig = OrtTestSupport.run(OnnxExporter.toBytes(g), feeds);
        Map<String, Tensor> want = OrtTestSupport.run(OnnxExporter.toBytes(masked), feeds);
        assertTrue(OrtTestSupport.maxAbsDiff(orig, want) > 1e-2, "the mask changes the output");
        assertClose(want, OrtTestSupport.run(OnnxExporter.toBytes(pruned), feeds), "MiniLM 16 of 72 heads removed");
    }

    @Test
    void singleHeadCannotBeRemoved() {
        Graph g = DependencyGraph.normalize(OnnxImporter.load(TestData.require("onnx/models/tinybert/tinybert.onnx")));
        List<TransformerPruning.Attention> blocks = TransformerPruning.attentions(g);
        assertEquals(1, blocks.size());
        assertEquals(1, blocks.get(0).heads());
        assertThrows(io.condense.ir.ModelException.class, () -> TransformerPruning.pruneHeads(g, blocks, Map.of(0, new int[] {0})));
    }

    @Test
    void tinyBertFfnMaskedEqualsPruned() {
        Graph g = OnnxImporter.load(TestData.require("onnx/models/tinybert/tinybert.onnx"));
        DependencyGraph dg = DependencyGraph.build(g);
        List<PruningGroup> ffn = TransformerPruning.ffnGroups(dg);
        assertEquals(1, ffn.size(), "one FFN in tinybert: " + dg.groups());
        Map<Integer, int[]> rm = ChannelPruning.plan(dg, MagnitudeGroupImportance.l2(), 0.5);
        rm.keySet().retainAll(List.of(ffn.get(0).id()));
        Graph masked = ChannelPruner.mask(dg, rm);
        ChannelPruner.Result pruned = ChannelPruner.prune(dg, rm);
        assertTrue(pruned.warnings().isEmpty(), pruned.warnings().toString());
        Map<String, Tensor> feeds = textFeeds(2, 2, 7, 100);
        assertTrue(OrtTestSupport.maxAbsDiff(OrtTestSupport.run(OnnxExporter.toBytes(g), feeds), OrtTestSupport.run(OnnxExporter.toBytes(masked), feeds)) > 1e-3,
                "the mask changes the output");
        assertClose(OrtTestSupport.run(OnnxExporter.toBytes(masked), feeds), OrtTestSupport.run(OnnxExporter.toBytes(pruned.graph()), feeds),
                "tinybert ffn " + ffn.get(0).size() + "->" + (ffn.get(0).size() - rm.get(ffn.get(0).id()).length));
    }
}
