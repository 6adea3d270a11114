package io.condense.passes;

import io.condense.OrtTestSupport;
import io.condense.TestData;
import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.eval.Fidelity;
import io.condense.ir.Graph;
import io.condense.onnx.ModelSource;
import io.condense.onnx.OnnxExporter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * FP16/BF16 conversion of all-minilm-l6-v2: fidelity of mean-pooled embeddings to the float32 model on 300 held-out
 * Brown sentences (2001-2300) on ONNX Runtime, and the condense CPU backend against ONNX Runtime. Slow (a 90 MB model
 * converted and run several times).
 */
@Tag("slow")
class FloatConversionMiniLmTest {
    static Graph g;
    static List<TextBatch> eval;
    static float[][] ref;

    @BeforeAll
    static void load() throws Exception {
        Path m = TestData.miniLm();
        assertNotNull(m, "all-minilm-l6-v2.onnx on the test class path");
        Path text = TestData.require("text/brown-nonfiction.txt");
        g = ModelSource.load(m).graph();
        byte[] tokJson = FloatConversionMiniLmTest.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json").readAllBytes();
        List<String> all = TextData.readLines(text);
        try (HfTokenizer tok = HfTokenizer.fromJson(tokJson, "all-minilm-l6-v2-tokenizer.json", 128)) {
            eval = TextData.batches(g, tok, TextData.select(all, 2000, 300), 16);
        }
        ref = embeddings(OnnxExporter.toBytes(g));
    }

    static float[][] embeddings(byte[] model) throws Exception {
        List<float[]> out = new ArrayList<>();
        try (var s = OrtTestSupport.session(model, 2, ai.onnxruntime.OrtSession.SessionOptions.OptLevel.ALL_OPT)) {
            for (TextBatch b : eval) for (float[] e : Fidelity.pool(OrtTestSupport.run(s, b.feeds(g.inputs())).values().iterator().next(), b.mask())) out.add(e);
        }
        return out.toArray(new float[0][]);
    }

    static Fidelity.EmbeddingReport ortFidelity(String what, FloatConversion.Config c, Graph[] keep) throws Exception {
        FloatConversion p = new FloatConversion(c);
        Graph q = p.apply(g);
        if (keep != null) keep[0] = q;
        byte[] b = OnnxExporter.toBytes(q);
        Fidelity.EmbeddingReport r = Fidelity.compareEmbeddings(embeddings(b), ref);
        System.out.printf(java.util.Locale.ROOT, "MiniLM %s on ONNX Runtime: %s; %d bytes (float32 %d, %.3fx); %s%n", what, r.format(), b.length,
                OnnxExporter.toBytes(g).length, (double) OnnxExporter.toBytes(g).length / b.length, p.summary().format());
        return r;
    }

    @Test
    void fp16HalfTheSizeAndCosineAbove09999OnOrt() throws Exception {
        Graph[] q = new Graph[1];
        Fidelity.EmbeddingReport r = ortFidelity("fp16", FloatConversion.Config.of(FloatConversion.Target.FP16), q);
        assertTrue(r.meanCosine() >= 0.9999 && r.spearman() >= 0.9999, r.format());
        double ratio = (double) OnnxExporter.toBytes(q[0]).length / OnnxExporter.toBytes(g).length;
        assertTrue(ratio > 0.49 && ratio < 0.51, "size ratio " + ratio);
        // the evidence for the defaults: a float32 Softmax island, and no LayerNorm island
        ortFidelity("fp16 + float32 Softmax", FloatConversion.Config.of(FloatConversion.Target.FP16).withKeepOps(Set.of("Softmax")), null);
        ortFidelity("fp16 without LayerNorm islands", FloatConversion.Config.of(FloatConversion.Target.FP16).withKeepLayerNorm(false), null);
    }

    /** The condense CPU backend stores every fp16 value in fp16 (it computes each op in float32 and rounds): its output equals ORT's. */
    @Test
    void cpuBackendMatchesOrtOnFp16AndRunsBf16() throws Exception {
        Graph q = new FloatConversion(FloatConversion.Target.FP16).apply(g);
        TextBatch b = eval.get(0);
        io.condense.ir.Tensor want = io.condense.OrtReference.run(OnnxExporter.toBytes(q), b.feeds(q.inputs())).values().iterator().next();
        io.condense.ir.Tensor got;
        try (var s = io.condense.backend.Backends.cpu().open(q)) {
            got = s.run(b.feeds(q.inputs())).get(q.outputs().get(0).name());
        }
        double d = io.condense.TensorAssert.maxAbsDiff(want, got), m = FloatConversionTest.maxAbs(want);
        System.out.printf("MiniLM fp16: condense cpu vs ORT max |diff| %.3g (max |y| %.3g)%n", d, m);
        assertTrue(d <= 1e-2 * m, d + " vs max " + m);
        // BF16: ONNX Runtime's CPU provider has no bfloat16 Add/MatMul kernels, so its fidelity comes from the condense CPU backend
        List<TextBatch> few = eval.subList(0, 4);
        float[][] r32 = Fidelity.embeddings(g, few);
        for (FloatConversion.Target t : FloatConversion.Target.values()) {
            Fidelity.EmbeddingReport rep = Fidelity.compareEmbeddings(Fidelity.embeddings(new FloatConversion(t).apply(g), few), r32);
            System.out.println("MiniLM " + t.cliName() + " on the condense CPU backend: " + rep.format());
            assertTrue(rep.meanCosine() >= (t == FloatConversion.Target.FP16 ? 0.9999 : 0.999), rep.format());
        }
    }

    /**
     * Static INT8 (QDQ) + fp16: on ONNX Runtime's CPU provider the fidelity falls (its float16 QuantizeLinear truncates
     * x / scale instead of rounding it, QuantKernelsTest.float16InputsAndScales); the condense CPU backend, which
     * rounds as ONNX specifies, shows what the model computes.
     */
    @Test
    void staticInt8PlusFp16() throws Exception {
        Path text = TestData.require("text/brown-nonfiction.txt");
        byte[] tokJson = FloatConversionMiniLmTest.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json").readAllBytes();
        List<java.util.Map<String, io.condense.ir.Tensor>> calib;
        try (HfTokenizer tok = HfTokenizer.fromJson(tokJson, "all-minilm-l6-v2-tokenizer.json", 128)) {
            calib = TextData.feeds(g, TextData.batches(g, tok, TextData.select(TextData.readLines(text), 0, 64), 16));
        }
        Graph st = io.condense.quant.TransformerQuant.quantize(g, io.condense.quant.TransformerQuant.Mode.STATIC, calib, null).graph();
        Graph st16 = new FloatConversion(FloatConversion.Target.FP16).apply(st);
        List<TextBatch> few = eval.subList(0, 4);
        float[][] r32 = Fidelity.embeddings(g, few);
        Fidelity.EmbeddingReport cpuStatic = Fidelity.compareEmbeddings(Fidelity.embeddings(st, few), r32);
        Fidelity.EmbeddingReport cpuStatic16 = Fidelity.compareEmbeddings(Fidelity.embeddings(st16, few), r32);
        System.out.println("MiniLM static INT8 on the condense CPU backend: " + cpuStatic.format());
        System.out.println("MiniLM static INT8 + fp16 on the condense CPU backend: " + cpuStatic16.format());
        assertTrue(cpuStatic16.meanCosine() >= cpuStatic.meanCosine() - 0.002, cpuStatic16.format() + " vs " + cpuStatic.format());
        // on ONNX Runtime (300 sentences): as converted, and with QuantizeLinear kept in float32 (keep_ops), which ORT's CPU provider rounds right
        Fidelity.EmbeddingReport ortStatic = Fidelity.compareEmbeddings(embeddings(OnnxExporter.toBytes(st)), ref);
        Fidelity.EmbeddingReport ort16 = Fidelity.compareEmbeddings(embeddings(OnnxExporter.toBytes(st16)), ref);
        java.util.Set<String> keepQ = new java.util.HashSet<>(FloatConversion.DEFAULT_KEEP_OPS);
        keepQ.add("QuantizeLinear");
        Fidelity.EmbeddingReport ort16q = Fidelity.compareEmbeddings(embeddings(OnnxExporter.toBytes(
                new FloatConversion(FloatConversion.Config.of(FloatConversion.Target.FP16).withKeepOps(keepQ)).apply(st))), ref);
        System.out.println("MiniLM static INT8 on ONNX Runtime: " + ortStatic.format());
        System.out.println("MiniLM static INT8 + fp16 on ONNX Runtime: " + ort16.format());
        System.out.println("MiniLM static INT8 + fp16, QuantizeLinear kept float32, on ONNX Runtime: " + ort16q.format());
        assertTrue(ort16q.meanCosine() >= ortStatic.meanCosine() - 0.002, ort16q.format());
    }
}
