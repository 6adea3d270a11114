package io.condense.prune.structured;

import io.condense.OrtTestSupport;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.train.Models;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The physically pruned model computes what the masked model (removed channels' weights zeroed) computes, in ONNX Runtime. */
class ChannelPrunerTest {

    /** Prunes half of every prunable group; returns {prunable groups, total groups}. */
    static int[] check(Graph g, Map<String, Tensor> feeds, String what) {
        DependencyGraph dg = DependencyGraph.build(g);
        Map<Integer, int[]> plan = ChannelPruning.plan(dg, MagnitudeGroupImportance.l1(), 0.5);
        Graph masked = ChannelPruner.mask(dg, plan);
        ChannelPruner.Result pruned = ChannelPruner.prune(dg, plan);
        assertTrue(pruned.warnings().isEmpty(), what + ": " + pruned.warnings());
        Map<String, Tensor> want = OrtTestSupport.run(OnnxExporter.toBytes(masked), feeds);
        Map<String, Tensor> got = OrtTestSupport.run(OnnxExporter.toBytes(pruned.graph()), feeds);
        for (String k : want.keySet()) {
            float[] w = want.get(k).toFloatArray(), o = got.get(k).toFloatArray();
            assertEquals(w.length, o.length, what + " output size");
            double scale = 0, diff = 0;
            for (int i = 0; i < w.length; i++) { scale = Math.max(scale, Math.abs(w[i])); diff = Math.max(diff, Math.abs(w[i] - o[i])); }
            System.out.printf("%s: %d/%d groups prunable, params %d -> %d, max |masked - pruned| = %.3g (output scale %.3g)%n",
                    what, dg.prunableCount(), dg.groups().size(), g.parameterCount(), pruned.graph().parameterCount(), diff, scale);
            assertTrue(diff <= 1e-5 * scale, what + ": masked and pruned differ by " + diff + " (scale " + scale + ")");
        }
        assertTrue(pruned.graph().parameterCount() < g.parameterCount() * 0.75, what + " should lose parameters");
        return new int[] {(int) dg.prunableCount(), dg.groups().size()};
    }

    static Map<String, Tensor> mnistBatch(long seed) {
        Random r = new Random(seed);
        float[] d = new float[4 * 28 * 28];
        for (int i = 0; i < d.length; i++) d[i] = r.nextFloat();
        return Map.of("input", Tensor.of(d, 4, 1, 28, 28));
    }

    @Test
    void lenet5MaskedEqualsPruned() {
        Graph g = PruneTestGraphs.randomizeVectors(Models.lenet5(1), 2);
        int[] c = check(g, mnistBatch(3), "lenet5");
        assertEquals(3, c[0]); // conv1, conv2, ip1 (ip2 reaches the output)
    }

    @Test
    void resnetSmallMaskedEqualsPruned() {
        Graph g = PruneTestGraphs.randomizeVectors(Models.resnetSmall(1), 5);
        int[] c = check(g, mnistBatch(6), "resnet-small");
        // stem + layer1.conv2 (residual chain), layer1.conv1, layer2.conv1, layer2.conv2 + down, layer3.conv1, layer3.conv2 + down
        assertEquals(6, c[0]);
    }

    @Test
    void residualConcatDepthwiseMaskedEqualsPruned() {
        Graph g = PruneTestGraphs.residualConcatDepthwise(7);
        Map<String, Tensor> feeds = Map.of("x", PruneTestGraphs.random(new Random(8), 2, 3, 12, 12));
        int[] c = check(g, feeds, "residual+concat+depthwise");
        assertTrue(c[0] >= 4, "groups " + c[0]);
    }

    @Test
    void unknownOpMakesGroupUnprunable() {
        PruneTestGraphs.G g = new PruneTestGraphs.G(1);
        String x = g.input("x", 1, 3, 8, 8);
        String a = g.conv(x, 3, 4, 3, 1, 1);
        String lrn = g.node("LRN", List.of(a), Map.of("size", io.condense.ir.Attribute.of(3L)));
        g.conv(lrn, 4, 2, 1, 0, 1);
        Graph graph = g.output("out", 1, 2, 8, 8);
        DependencyGraph dg = DependencyGraph.build(graph);
        PruningGroup first = dg.groups().get(0);
        assertTrue(!first.prunable() && first.reasons().toString().contains("LRN"), first.toString());
    }
}
