package io.condense.prune;

import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SensitivityNmTest {
    @TempDir Path dir;

    static double frac(Graph g, String w) { return PrunePass.zeros(g.initializers().get(w)) / (double) g.initializers().get(w).size(); }

    /** A synthetic metric with known curves: 1 - s1^2 - 4 s2^2 (s = zero fraction of W1 [48 weights], W2 [24]). */
    static double metric(Graph g) {
        double s1 = frac(g, "W1"), s2 = frac(g, "W2");
        return 1 - s1 * s1 - 4 * s2 * s2;
    }

    @Test void curvesFilesAndAllocation() throws Exception {
        Graph g = PruneCriteriaTest.mlp(8, 6, 4, 1);
        double[] levels = new double[19];
        for (int i = 0; i < levels.length; i++) levels[i] = 0.05 * (i + 1);
        SensitivityAnalysis.Result r = SensitivityAnalysis.run(g, PruneConfig.of("magnitude", Granularity.LAYER, 0.5), levels,
                SensitivityNmTest::metric, PrunePass::new, null);
        assertEquals(1.0, r.baseline(), 0);
        assertEquals(2, r.curves().size());
        SensitivityAnalysis.Curve c1 = r.curves().get(0), c2 = r.curves().get(1);
        for (int i = 0; i < levels.length; i++) {
            // only the analysed layer is pruned
            double s1 = Math.round(levels[i] * 48) / 48.0, s2 = Math.round(levels[i] * 24) / 24.0;
            assertEquals(1 - s1 * s1, c1.accuracy()[i], 1e-12);
            assertEquals(1 - 4 * s2 * s2, c2.accuracy()[i], 1e-12);
        }
        // equal drop t: s1 = sqrt(t), s2 = sqrt(t)/2; 48 s1 + 24 s2 = 0.5 * 72 -> s1 = 0.6, s2 = 0.3
        Map<String, Double> a = SensitivityAnalysis.allocate(r, 0.5, SensitivityAnalysis.Budget.PARAMS);
        assertEquals(0.6, a.get("W1"), 0.02);
        assertEquals(0.3, a.get("W2"), 0.02);
        assertEquals(0.5, (48 * a.get("W1") + 24 * a.get("W2")) / 72, 1e-3);
        List<Path> files = SensitivityAnalysis.write(r, dir);
        String csv = Files.readString(files.get(0));
        assertTrue(csv.startsWith("layer,weight,op,params,macs,sparsity,accuracy\n"), csv);
        assertEquals(1 + 2 * 20, csv.split("\n").length);
        assertTrue(Files.readString(files.get(1)).contains("| fc1 (W1) | 48 |"));
        BufferedImage img = ImageIO.read(files.get(2).toFile());
        assertEquals(800, img.getWidth());
        assertEquals(500, img.getHeight());
        // the allocation applied as per-layer sparsities
        Graph p = new PrunePass(PruneConfig.of("magnitude", Granularity.LAYER, 0).withLayerSparsity(a)).apply(g);
        assertEquals(a.get("W1"), frac(p, "W1"), 1.0 / 48);
    }

    @Test void nmCheckerFindsViolationsAndReportsEligibility() {
        Graph g = PruneCriteriaTest.mlp(256, 512, 16, 3);
        Graph p = new PrunePass(PruneConfig.of("magnitude", Granularity.nm(2, 4), 0)).apply(g);
        List<NmCheck.LayerCheck> ch = NmCheck.check(p, 2, 4);
        assertTrue(ch.get(0).conforms());
        assertEquals(512L * 64, ch.get(0).groups());
        assertTrue(ch.get(0).tensorCoreEligible(), ch.get(0).reason()); // 512 out x 256 in
        assertFalse(ch.get(1).tensorCoreEligible()); // 16 outputs
        assertTrue(ch.get(1).reason().contains("16 output channels < 256"), ch.get(1).reason());
        // un-prune one weight: exactly one group violates
        float[] w = p.initializers().get("W1").toFloatArray().clone();
        int idx = -1;
        for (int i = 0; i < 4; i++) if (w[i] == 0) idx = i;
        w[idx] = 1f;
        Graph bad = p.toBuilder().initializer("W1", Tensor.of(w, 512, 256)).build();
        NmCheck.LayerCheck c = NmCheck.check(bad, 2, 4).get(0);
        assertEquals(1, c.violations());
        assertFalse(c.conforms());
        assertFalse(NmCheck.check(g, 2, 4).get(0).conforms()); // dense weights
        assertTrue(NmCheck.markdown(ch, 2, 4).contains("| ok |"));
        assertEquals("", NmCheck.eligible(256, 1024));
        assertFalse(NmCheck.eligible(264, 256).isEmpty()); // 264 not a multiple of 16
    }

    @Test void convLayersGroupAlongInputChannels() {
        Graph g = PruneCriteriaTest.conv(4);
        Graph p = new PrunePass(PruneConfig.of("magnitude", Granularity.nm(2, 4), 0)).apply(g);
        NmCheck.LayerCheck c = NmCheck.check(p, 2, 4).get(0);
        assertEquals(8L * 9, c.groups()); // 8 outputs x 9 positions x (4 channels / 4)
        assertTrue(c.conforms());
        assertEquals(0.5, c.sparsity(), 1e-12);
        // layers whose input channels are not a multiple of 4 stay dense and are reported
        Graph one = io.condense.train.Models.lenet5(1);
        PrunePass pp = new PrunePass(PruneConfig.of("magnitude", Granularity.nm(2, 4), 0));
        pp.apply(one);
        assertTrue(pp.report().get(0).skipped().contains("1 input channels are not a multiple of 4"), pp.report().toString());
        assertEquals(0.5, pp.report().get(1).sparsity(), 1e-9);
    }

    /** Every method's defaults work on the built-in models the CLI help names (random calibration images). */
    @Test @org.junit.jupiter.api.Tag("slow") void defaultsOnBuiltInModels() {
        for (String name : io.condense.train.Models.NAMES) defaultsOn(name);
    }

    /** The default-run share of {@link #defaultsOnBuiltInModels}: LeNet-300-100 only. */
    @Test void defaultsOnLenet300100() { defaultsOn("lenet-300-100"); }

    private static void defaultsOn(String name) {
        {
            Graph g = io.condense.train.Models.byName(name, 1);
            var calib = io.condense.quant.CalibrationData.random(g.inputs().get(0), 8, 2, 5, 0f, 1f);
            // the CLI methods: magnitude, global, wanda, sparsegpt, 2:4 (with sparsegpt, the costliest criterion)
            List<Object[]> methods = List.of(new Object[] {"magnitude", Granularity.LAYER}, new Object[] {"magnitude", Granularity.GLOBAL},
                    new Object[] {"wanda", Granularity.OUTPUT}, new Object[] {"sparsegpt", Granularity.LAYER}, new Object[] {"sparsegpt", Granularity.nm(2, 4)});
            for (Object[] m : methods) {
                String c = (String) m[0];
                Granularity gr = (Granularity) m[1];
                PrunePass p = new PrunePass(PruneConfig.of(c, gr, 0.5), calib, null, null);
                Graph out = p.apply(g);
                for (PrunePass.LayerResult r : p.report()) {
                    // per-output rounding: resnet-small stem rows have 9 weights (5 of 9 pruned)
                    if (gr.kind() != Granularity.Kind.GLOBAL && r.skipped().isEmpty()) assertEquals(0.5, r.sparsity(), 0.06, name + " " + c + " " + gr + " " + r);
                }
                if (gr.kind() == Granularity.Kind.GLOBAL) assertEquals(0.5, p.overallSparsity(), 1e-4);
                assertEquals(g.initializers().size(), out.initializers().size());
            }
        }
    }

    @Test void convMacs() {
        // MACs per sample: LeNet-5 conv1 [20,1,5,5] on 24x24 outputs
        PrunableLayer conv1 = PrunableLayer.find(io.condense.train.Models.lenet5(1)).get(0);
        assertEquals(500L * 24 * 24, conv1.macs());
    }
}
