package io.condense.quant;

import ai.onnxruntime.OrtSession;
import io.condense.OrtTestSupport;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.GraphValidator;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.train.Models;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PtqTest {
    @org.junit.jupiter.api.BeforeAll
    static void threads() { io.condense.train.Threads.auto(); }

    static Tensor images(long seed, int n) {
        Random r = new Random(seed);
        float[] d = new float[n * 784];
        for (int i = 0; i < d.length; i++) d[i] = r.nextFloat();
        return Tensor.of(d, n, 1, 28, 28);
    }

    /** {@code total} samples in batches of {@code bs} (the same samples for any bs). */
    static List<Map<String, Tensor>> batches(Tensor all, int bs) {
        List<Map<String, Tensor>> out = new ArrayList<>();
        float[] d = (float[]) all.data();
        int n = (int) all.dim(0);
        for (int i = 0; i < n; i += bs) {
            int m = Math.min(bs, n - i);
            out.add(Map.of("input", Tensor.of(java.util.Arrays.copyOfRange(d, i * 784, (i + m) * 784), m, 1, 28, 28)));
        }
        return out;
    }

    static long count(Graph g, String op) { return g.nodes().stream().filter(n -> n.opType().equals(op)).count(); }

    /** Same 32 samples in batches of 1 and of 32: same scales for every calibrator (tolerance: 1e-6 relative). */
    @Test
    void scalesIndependentOfBatchSize() {
        Graph p = PtqPass.prepare(Models.lenet5(7));
        Tensor x = images(11, 32);
        long t0 = System.nanoTime();
        CalibrationResult a = PtqPass.calibrate(p, QuantConfig.defaults(), batches(x, 1), null);
        long t1 = System.nanoTime();
        CalibrationResult b = PtqPass.calibrate(p, QuantConfig.defaults(), batches(x, 32), null);
        System.out.printf("calibration: batch 1 %.2f s, batch 32 %.2f s%n", (t1 - t0) / 1e9, (System.nanoTime() - t1) / 1e9);
        for (CalibrationMethod m : CalibrationMethod.values()) {
            QuantConfig cfg = QuantConfig.of(m);
            long t2 = System.nanoTime();
            assertEquals(32, a.batches());
            assertEquals(1, b.batches());
            assertEquals(32, a.samples());
            assertTrue(a.stats().size() >= 4, "calibrated " + a.stats().keySet());
            for (String t : a.stats().keySet()) {
                double sa = a.get(t).qparams(cfg).scalarScale(), sb = b.get(t).qparams(cfg).scalarScale();
                assertEquals(sa, sb, 1e-6 * sa, m + " " + t);
            }
            System.out.printf("%s: thresholds of %d tensors in %.2f s%n", m, a.stats().size(), (System.nanoTime() - t2) / 1e9);
        }
    }

    /** The rule table on resnet-small: every Conv/Gemm weight INT8 + DQ, residual Adds and the pool quantized. */
    @Test
    void placementFollowsRules() {
        Graph p = PtqPass.prepare(Models.resnetSmall(1));
        assertEquals(0, count(p, "BatchNormalization"), "BN folded");
        QuantConfig cfg = QuantConfig.defaults();
        Graph q = PtqPass.quantize(p, PtqPass.calibrate(p, cfg, batches(images(2, 4), 4), null), cfg);
        GraphValidator.validate(q);
        assertTrue(q.opset() >= 13);
        Map<String, Node> prod = q.producers();
        int weights = 0;
        for (Node n : q.nodes()) {
            switch (n.opType()) {
                case "Conv", "Gemm" -> {
                    Node w = prod.get(n.input(1)), a = prod.get(n.input(0));
                    assertEquals("DequantizeLinear", w.opType(), n.label());
                    Tensor wq = q.initializers().get(w.input(0));
                    assertEquals(DType.INT8, wq.dtype());
                    assertEquals(n.opType().equals("Conv") ? 0 : 0, w.attrLong("axis", 1), "output-channel axis");
                    assertEquals(wq.dim(0), q.initializers().get(w.input(1)).size(), "one scale per output channel");
                    assertEquals("DequantizeLinear", a.opType(), "activation of " + n.label());
                    assertEquals("QuantizeLinear", prod.get(a.input(0)).opType());
                    weights++;
                }
                case "Add", "GlobalAveragePool" -> {
                    int k = n.opType().equals("Add") ? 2 : 1;
                    for (int i = 0; i < k; i++) assertEquals("DequantizeLinear", prod.get(n.input(i)).opType(), n.label() + " input " + i);
                }
                default -> { }
            }
        }
        assertEquals(count(p, "Conv") + count(p, "Gemm"), weights);
        // per-channel weight statistics: one max |w| per output channel
        Map<String, double[]> ws = Calibration.weightStats(p, cfg);
        assertEquals(weights, ws.size());
        ws.forEach((name, amax) -> assertEquals(p.initializers().get(name).dim(0), amax.length, name));
        // no float weight of a Conv/Gemm survives
        for (Node n : p.nodes()) {
            if (n.opType().equals("Conv") || n.opType().equals("Gemm")) assertTrue(!q.initializers().containsKey(n.input(1)));
        }
        // exclude keeps one conv in float
        String first = p.nodes().stream().filter(n -> n.opType().equals("Conv")).findFirst().orElseThrow().name();
        Graph qe = PtqPass.quantize(p, PtqPass.calibrate(p, cfg, batches(images(2, 4), 4), null), cfg.withExclude(List.of(first)));
        Node conv = qe.nodes().stream().filter(n -> n.name().equals(first)).findFirst().orElseThrow();
        assertEquals(DType.FLOAT32, qe.initializers().get(conv.input(1)).dtype());
        assertTrue(qe.producers().get(conv.input(0)) == null || !qe.producers().get(conv.input(0)).opType().equals("DequantizeLinear"));
    }

    /**
     * The exported QDQ model runs in ONNX Runtime (graph optimizations off, so the Q/DQ graph itself runs) and
     * agrees with condense's CPU executor: every QuantizeLinear output within 1 quantization step (and almost all
     * equal), the float outputs within 1e-4 when all quantized values agree.
     */
    @Test
    void ortAgreesWithCpuExecutor() {
        for (String model : List.of("lenet5", "resnet-small")) {
            for (boolean sym : new boolean[] {true, false}) {
                Graph f = Models.byName(model, 3);
                QuantConfig cfg = QuantConfig.of(CalibrationMethod.PERCENTILE).withSymmetricActivations(sym);
                PtqPass pass = new PtqPass(cfg, batches(images(5, 16), 8), null);
                Graph q = pass.apply(f);
                // expose every QuantizeLinear output so integer values can be compared
                List<ValueInfo> outs = new ArrayList<>(q.outputs());
                for (Node n : q.nodes()) if (n.opType().equals("QuantizeLinear")) outs.add(new ValueInfo(n.output(0), TensorType.unknown()));
                Graph probe = q.toBuilder().outputs(outs).build();
                byte[] bytes = OnnxExporter.toBytes(probe);
                Graph back = OnnxImporter.fromBytes(bytes);
                Map<String, Tensor> in = Map.of("input", images(99, 4));
                Map<String, Tensor> ort = OrtTestSupport.run(bytes, in, OrtSession.SessionOptions.OptLevel.NO_OPT);
                Map<String, Tensor> cpu;
                try (Session s = Backends.cpu().open(back)) {
                    cpu = s.run(in);
                }
                long differ = 0, total = 0, maxStep = 0;
                for (String k : ort.keySet()) {
                    Tensor a = ort.get(k), b = cpu.get(k);
                    if (a.dtype() == DType.FLOAT32) continue;
                    assertEquals(sym ? DType.INT8 : DType.UINT8, a.dtype(), k);
                    for (int i = 0; i < a.size(); i++) {
                        long d = Math.abs(a.getLong(i) - b.getLong(i));
                        maxStep = Math.max(maxStep, d);
                        if (d != 0) differ++;
                        total++;
                    }
                }
                String out = q.outputs().get(0).name();
                double maxDiff = 0, maxAbs = 0;
                Tensor a = ort.get(out), b = cpu.get(out);
                for (int i = 0; i < a.size(); i++) {
                    maxDiff = Math.max(maxDiff, Math.abs(a.getDouble(i) - b.getDouble(i)));
                    maxAbs = Math.max(maxAbs, Math.abs(a.getDouble(i)));
                }
                if (model.equals("lenet5")) {
                    // a 1-step flip needs a value within float rounding of a rounding boundary: rare, never more
                    assertTrue(maxStep <= 1 && differ <= total / 10000, model + ": " + differ + " of " + total + " differ, max " + maxStep + " steps");
                    assertTrue(maxDiff <= 1e-4 * Math.max(1, maxAbs), model + " logits differ by " + maxDiff);
                } else {
                    // 10 quantized layers deep, a rare flip (conv sums in another order) moves later sums by a step and
                    // the flips compound: bounded here by 0.5% of values, 2 steps, and 2% of the largest logit
                    assertTrue(maxStep <= 2 && differ <= total / 200, model + ": " + differ + " of " + total + " differ, max " + maxStep + " steps");
                    assertTrue(maxDiff <= 0.02 * maxAbs, model + " logits differ by " + maxDiff + " (max |logit| " + maxAbs + ")");
                }
                System.out.printf("%s sym=%s: %d/%d quantized values differ (max %d steps), logits max diff %.3g%n", model, sym, differ, total, maxStep, maxDiff);
            }
        }
    }

    /** INT8 weights make the file about 4x smaller than float. */
    @Test
    void modelIsAboutFourTimesSmaller() {
        Graph f = Models.lenet5(1);
        Graph q = new PtqPass(QuantConfig.defaults(), batches(images(1, 4), 4), null).apply(f);
        int fb = OnnxExporter.toBytes(f).length, qb = OnnxExporter.toBytes(q).length;
        System.out.printf("lenet5: float %d bytes, int8 QDQ %d bytes (%.2fx)%n", fb, qb, (double) fb / qb);
        assertTrue(fb > 3.6 * qb && fb < 4.1 * qb, fb + " vs " + qb);
    }
}
