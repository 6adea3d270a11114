package io.condense.quant;

import io.condense.OrtTestSupport;
import io.condense.TensorAssert;
import io.condense.TestData;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.passes.OpsetConversion;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * INT8 modes for transformers on TinyBERT (opset 11, upgraded on the way): the exported models run in ONNX Runtime,
 * condense's CPU executor matches ORT on them, and the quantized outputs stay close to the float model's.
 */
class TransformerQuantTest {
    static Graph tiny;
    static List<Map<String, Tensor>> calib, eval;
    static List<Tensor> floatOut;

    @BeforeAll
    static void load() {
        tiny = OnnxImporter.load(TestData.require("onnx/models/tinybert/tinybert.onnx"));
        calib = TransformerFeeds.random(tiny, 4, 4, 16, 1);
        eval = TransformerFeeds.random(tiny, 2, 4, 16, 2);
        floatOut = ort(tiny, eval);
    }

    static List<Tensor> ort(Graph g, List<Map<String, Tensor>> feeds) {
        byte[] b = OnnxExporter.toBytes(g);
        List<Tensor> out = new ArrayList<>();
        for (Map<String, Tensor> f : feeds) out.add(OrtTestSupport.run(b, f).values().iterator().next());
        return out;
    }

    static List<Tensor> condense(Graph g, List<Map<String, Tensor>> feeds) {
        List<Tensor> out = new ArrayList<>();
        try (Session s = Backends.cpu().open(g)) {
            for (Map<String, Tensor> f : feeds) out.add(s.run(f).get(g.outputs().get(0).name()));
        }
        return out;
    }

    static long count(Graph g, String op) { return g.nodes().stream().filter(n -> n.opType().equals(op)).count(); }

    /** ORT runs {@code q}; condense matches ORT within {@code tol} (relative to the output range); pooled cosine to float >= minCos. */
    static double check(Graph q, double tol, double minCos, String what) {
        List<Tensor> o = ort(q, eval), c = condense(q, eval);
        for (int i = 0; i < o.size(); i++) {
            double range = 0;
            for (int k = 0; k < o.get(i).size(); k++) range = Math.max(range, Math.abs(o.get(i).getDouble(k)));
            TensorAssert.assertClose(o.get(i), c.get(i), 0, tol * range, what + ": condense vs ORT, batch " + i);
        }
        double cos = TransformerFeeds.meanCosine(floatOut, o);
        double num = 0, den = 0;
        for (int i = 0; i < o.size(); i++) {
            for (int k = 0; k < o.get(i).size(); k++) {
                double a = floatOut.get(i).getDouble(k), b = o.get(i).getDouble(k);
                num += (a - b) * (a - b);
                den += a * a;
            }
        }
        System.out.printf("%s: mean pooled cosine to float %.6f, relative L2 error of the output %.5f%n", what, cos, Math.sqrt(num / den));
        assertTrue(cos >= minCos, what + ": cosine " + cos);
        return cos;
    }

    @Test
    void staticInt8MatMulPlacement() {
        QuantConfig cfg = QuantConfig.defaults().withPlacement(QuantConfig.Placement.MATMUL);
        Graph p = PtqPass.prepare(OpsetConversion.upgrade(tiny, 13));
        Graph q = PtqPass.quantize(p, PtqPass.calibrate(p, cfg, calib, null), cfg);
        // every MatMul/Gemm input is quantized; LayerNorm (ReduceMean/Pow/Sqrt/Div), Softmax, Erf, residual Adds are not
        for (Node n : q.nodes()) {
            if (n.opType().equals("MatMul") || n.opType().equals("Gemm")) {
                assertTrue(q.producers().get(n.input(0)).opType().equals("DequantizeLinear"), n.label());
                assertTrue(q.producers().get(n.input(1)).opType().equals("DequantizeLinear"), n.label());
            }
            if (List.of("Add", "Softmax", "ReduceMean", "Erf", "Pow", "Div").contains(n.opType())) {
                for (String i : n.inputs()) {
                    Node prod = q.producers().get(i);
                    assertTrue(prod == null || !prod.opType().equals("DequantizeLinear"), "float op reads a DQ: " + n.label());
                }
            }
        }
        check(q, 0.02, 0.99, "static INT8 (MatMul placement)");
        QuantConfig w = cfg.withPlacement(QuantConfig.Placement.MATMUL_WEIGHTS);
        Graph qw = PtqPass.quantize(p, PtqPass.calibrate(p, w, calib, null), w);
        assertTrue(count(qw, "QuantizeLinear") < count(q, "QuantizeLinear"), "attention MatMuls stay float");
        check(qw, 0.02, 0.99, "static INT8 (weight MatMuls only)");
    }

    @Test
    void dynamicInt8() {
        DynamicQuantization d = new DynamicQuantization(DynamicQuantization.Config.defaults());
        Graph q = d.apply(tiny);
        assertEquals(count(tiny, "MatMul") - 2 + count(tiny, "Gemm"), d.quantizedNodes(), "every weight MatMul/Gemm (the two attention MatMuls read activations)");
        assertEquals(d.quantizedNodes(), count(q, "MatMulInteger"));
        assertTrue(count(q, "DynamicQuantizeLinear") < d.quantizedNodes(), "Q/K/V projections share one DynamicQuantizeLinear");
        check(q, 1e-4, 0.99, "dynamic INT8");
    }

    @Test
    void smoothQuantKeepsTheFloatFunction() {
        Graph p = PtqPass.prepare(OpsetConversion.upgrade(tiny, 13));
        SmoothQuant sq = new SmoothQuant(SmoothQuant.Config.defaults(), calib);
        Graph s = sq.apply(p);
        assertTrue(sq.smoothed() > 0, "groups smoothed");
        List<Tensor> a = ort(p, eval), b = ort(s, eval);
        for (int i = 0; i < a.size(); i++) TensorAssert.assertClose(a.get(i), b.get(i), 1e-5, 1e-5, "smoothed float model, batch " + i);
        // the weights really changed
        boolean changed = false;
        for (var e : s.initializers().entrySet()) {
            Tensor o = p.initializers().get(e.getKey());
            if (o != null && o.size() == e.getValue().size() && TensorAssert.maxAbsDiff(o, e.getValue()) > 1e-4) changed = true;
        }
        assertTrue(changed, "weights were scaled");
        TransformerQuant.Result r = TransformerQuant.quantize(tiny, TransformerQuant.Mode.SMOOTHQUANT, calib, null);
        check(r.graph(), 0.02, 0.99, "SmoothQuant + static INT8");
    }

    @Test
    void weightOnlyWithEmbeddingsQdqAndMatMulNBits() {
        Graph p = PtqPass.prepare(tiny);
        for (int bits : new int[] {4, 8}) {
            var cfg = io.condense.quant.int4.Int4WeightOnly.Config.of(16, io.condense.quant.int4.Int4WeightOnly.Method.RTN).withBits(bits).withEmbeddings(true);
            Graph dq = new io.condense.quant.int4.Int4WeightOnly(cfg, null, null).apply(p);
            long gathersOnDq = dq.nodes().stream().filter(n -> n.opType().equals("Gather") && dq.producers().containsKey(n.input(0))
                    && dq.producers().get(n.input(0)).opType().equals("DequantizeLinear")).count();
            assertTrue(gathersOnDq >= 3, "word/position/type embeddings read through DequantizeLinear: " + gathersOnDq);
            check(dq, 1e-4, bits == 4 ? 0.98 : 0.999, "weight-only INT" + bits + " (DQ)");
            Graph nb = new io.condense.quant.int4.Int4WeightOnly(cfg.withFormat(io.condense.quant.int4.Int4WeightOnly.Format.MATMUL_NBITS), null, null).apply(p);
            assertTrue(count(nb, "MatMulNBits") > 0);
            assertEquals(0, nb.nodes().stream().filter(n -> n.opType().equals("MatMul") && nb.initializers().containsKey(n.input(1))).count());
            List<Tensor> x = ort(dq, eval), y = ort(nb, eval);
            for (int i = 0; i < x.size(); i++) TensorAssert.assertClose(x.get(i), y.get(i), 1e-4, 1e-4, "MatMulNBits vs DQ form (ORT), INT" + bits);
            check(nb, 1e-4, bits == 4 ? 0.98 : 0.999, "weight-only INT" + bits + " (MatMulNBits)");
        }
        var asym = io.condense.quant.int4.Int4WeightOnly.Config.of(16, io.condense.quant.int4.Int4WeightOnly.Method.RTN).withSymmetric(false)
                .withFormat(io.condense.quant.int4.Int4WeightOnly.Format.MATMUL_NBITS);
        Graph a1 = new io.condense.quant.int4.Int4WeightOnly(asym, null, null).apply(p);
        Graph a2 = new io.condense.quant.int4.Int4WeightOnly(asym.withFormat(io.condense.quant.int4.Int4WeightOnly.Format.QDQ), null, null).apply(p);
        List<Tensor> x = ort(a2, eval), y = ort(a1, eval);
        for (int i = 0; i < x.size(); i++) TensorAssert.assertClose(x.get(i), y.get(i), 1e-4, 1e-4, "asymmetric MatMulNBits (packed zero points) vs DQ");
    }

    @Test
    void awqAndGptqNeedDataAndBeatRtn() {
        Graph p = PtqPass.prepare(tiny);
        var e = org.junit.jupiter.api.Assertions.assertThrows(io.condense.ir.ModelException.class, () -> new io.condense.quant.int4.Int4WeightOnly(
                io.condense.quant.int4.Int4WeightOnly.Config.of(16, io.condense.quant.int4.Int4WeightOnly.Method.AWQ), null, null));
        assertTrue(e.getMessage().contains("calibration data") && !e.getMessage().contains("\n"), e.getMessage());
        var awq = new io.condense.quant.int4.Int4WeightOnly(io.condense.quant.int4.Int4WeightOnly.Config.of(16, io.condense.quant.int4.Int4WeightOnly.Method.AWQ), calib, System.out);
        Graph q = awq.apply(p);
        for (var r : awq.reports()) assertTrue(r.gptqError() <= r.rtnError() + 1e-12, r.toString());
        check(q, 1e-4, 0.98, "weight-only INT4 AWQ");
    }
}
