package io.condense.cli;

import io.condense.TestData;
import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.eval.Fidelity;
import io.condense.io.Npy;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.quant.TextCalibrationTestAccess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Text data options on quantize / int4 / qat / eval with TinyBERT (3 inputs), and models given as jars. */
class TextCommandsTest {
    @TempDir
    static Path dir;
    static Path tinyBert, noisy, tokenizer;

    @BeforeAll
    static void setUp() throws Exception {
        Path src = TestData.require("onnx/models/tinybert/tinybert.onnx");
        tinyBert = dir.resolve("tinybert.onnx");
        Files.copy(src, tinyBert);
        tokenizer = dir.resolve("tb-tokenizer.json");
        Files.write(tokenizer, TextCalibrationTestAccess.tinyBertTokenizer());
        // a perturbed copy: every float weight + 10% noise
        Graph g = OnnxImporter.load(tinyBert);
        Graph.Builder b = g.toBuilder();
        SplittableRandom r = new SplittableRandom(3);
        for (Map.Entry<String, Tensor> e : g.initializers().entrySet()) {
            if (e.getValue().dtype() != io.condense.ir.DType.FLOAT32 || e.getValue().size() < 50) continue;
            float[] v = e.getValue().toFloatArray();
            for (int i = 0; i < v.length; i++) v[i] *= (float) (1 + 0.1 * (r.nextDouble() - 0.5));
            b.initializer(e.getKey(), Tensor.of(v, e.getValue().shape()));
        }
        noisy = dir.resolve("noisy.onnx");
        OnnxExporter.save(b.build(), noisy);
    }

    private static String eval(int expectRc, String... args) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        EvalCommand e = new EvalCommand();
        e.stdout = new PrintStream(buf, true, StandardCharsets.UTF_8);
        assertEquals(expectRc, new CommandLine(e).execute(args), () -> buf.toString(StandardCharsets.UTF_8));
        return buf.toString(StandardCharsets.UTF_8);
    }

    private static double num(String out, String regex) {
        Matcher m = Pattern.compile(regex).matcher(out);
        assertTrue(m.find(), regex + " in " + out);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void quantizeCalibratesThreeInputModelOnText() {
        CliTest.Result r = CliTest.cli("quantize", tinyBert.toString(), "--mode", "static", "--text", "builtin", "--tokenizer", tokenizer.toString(),
                "--samples", "24", "--batch-size", "8", "--out", dir.resolve("tb-int8.onnx").toString());
        assertTrue(r.out().contains("text: 24 sentences (from #0 of builtin) in 3 batches"), r.out());
        assertTrue(r.out().matches("(?s).*calibrated \\d+ tensors on 3 batches \\(24 samples\\).*"), r.out() + r.err());
        r.ok();
        assertTrue(r.out().contains("upgraded the model's opset 11 -> 13"), r.out());
        // a multi-input model still gets a clear message for single-tensor data
        CliTest.cli("quantize", tinyBert.toString(), "--mode", "static", "--calib", "random", "--out", dir.resolve("x.onnx").toString())
                .failsWith(1, "this model has 3 inputs (input_ids, attention_mask, token_type_ids): give --text FILE");
        CliTest.cli("quantize", tinyBert.toString(), "--mode", "static", "--out", dir.resolve("x.onnx").toString()).failsWith(1, "needs calibration data");
        CliTest.cli("quantize", tinyBert.toString(), "--mode", "static", "--text", "builtin", "--out", dir.resolve("x.onnx").toString())
                .failsWith(1, "no tokenizer found with");
        CliTest.cli("quantize", tinyBert.toString(), "--mode", "static", "--text", "builtin", "--tokenizer", tokenizer.toString(), "--samples", "0",
                "--out", dir.resolve("x.onnx").toString()).failsWith(2, "--samples must be positive");
        CliTest.cli("quantize", tinyBert.toString(), "--mode", "static", "--text", "builtin", "--tokenizer", tokenizer.toString(), "--offset", "200",
                "--out", dir.resolve("x.onnx").toString()).failsWith(1, "offset 200 is beyond the 200 sentences");
    }

    @Test
    void evalFidelityOnTextMatchesTheApi() throws Exception {
        String out = eval(0, noisy.toString(), "--reference", tinyBert.toString(), "--text", "builtin", "--tokenizer", tokenizer.toString(),
                "--offset", "100", "--n", "40");
        assertTrue(out.contains("text: 40 sentences (from #100 of builtin)"), out);
        List<TextBatch> b;
        try (HfTokenizer tok = HfTokenizer.load(tokenizer, 0)) {
            b = TextData.batches(OnnxImporter.load(tinyBert), tok, TextData.builtinCalibrationText().subList(100, 140), 32);
        }
        Fidelity.Report r = Fidelity.compareText(OnnxImporter.load(noisy), OnnxImporter.load(tinyBert), b);
        assertEquals(r.embeddings().meanCosine(), num(out, "cosine mean ([0-9.]+)"), 1e-6);
        assertEquals(r.embeddings().spearman(), num(out, "pairwise similarities ([-0-9.]+)"), 1e-6);
        assertTrue(r.embeddings().meanCosine() < 0.99999, out);
        assertTrue(out.contains("output output_0 ("), out);
        assertTrue(out.contains("output output_1 ("), out);
        // identical models: exact agreement
        String same = eval(0, tinyBert.toString(), "--reference", tinyBert.toString(), "--text", "builtin", "--tokenizer", tokenizer.toString(), "--n", "10");
        assertEquals(1.0, num(same, "cosine mean ([0-9.]+)"), 1e-6);
        assertEquals(1.0, num(same, "top-1 agreement ([0-9.]+)"), 0);
        // the tokenizer beside the model is found without --tokenizer
        Files.copy(tokenizer, dir.resolve("tokenizer.json"));
        try {
            String auto = eval(0, noisy.toString(), "--reference", tinyBert.toString(), "--text", "builtin", "--offset", "100", "--n", "40");
            assertEquals(r.embeddings().meanCosine(), num(auto, "cosine mean ([0-9.]+)"), 1e-6);
        } finally {
            Files.delete(dir.resolve("tokenizer.json"));
        }
    }

    @Test
    void evalOnTensorBatchFolders() throws Exception {
        Graph g = OnnxImporter.load(tinyBert);
        List<Map<String, Tensor>> feeds;
        try (HfTokenizer tok = HfTokenizer.load(tokenizer, 0)) {
            feeds = TextData.feeds(g, TextData.batches(g, tok, TextData.builtinCalibrationText().subList(0, 6), 3));
        }
        Path data = dir.resolve("batches");
        for (int i = 0; i < feeds.size(); i++) {
            for (Map.Entry<String, Tensor> e : feeds.get(i).entrySet()) Npy.write(e.getValue(), data.resolve("b" + i).resolve(e.getKey() + ".npy"));
        }
        String out = eval(0, noisy.toString(), "--reference", tinyBert.toString(), "--data", data.toString());
        assertTrue(out.contains("inputs: 2 batches"), out);
        List<Fidelity.OutputReport> r = Fidelity.compareOutputs(OnnxImporter.load(noisy), g, feeds);
        assertEquals(r.get(1).maxAbsDiff(), num(out, "output output_1 \\(\\d+ values\\): max abs diff ([0-9.e-]+)"), 1e-6 * (1 + r.get(1).maxAbsDiff()));
        assertTrue(r.get(1).maxAbsDiff() > 0);
        eval(1, noisy.toString(), "--reference", tinyBert.toString());
        eval(1, noisy.toString(), "--text", "builtin");
    }

    @Test
    void int4AndQatTakeText() {
        Path out = dir.resolve("tb-int4.onnx");
        CliRun r = QuantCommandsTest.main("int4", tinyBert.toString(), "--method", "gptq", "--text", "builtin", "--tokenizer",
                tokenizer.toString(), "--samples", "16", "--group", "32", "--out", out.toString());
        // GPTQ ran on the text batches and the opset-11 model was upgraded to 21 for the blocked DequantizeLinear
        assertEquals(0, r.rc(), r.err());
        CliRun q = QuantCommandsTest.main("qat", tinyBert.toString(), "--text", "builtin", "--tokenizer", tokenizer.toString(),
                "--steps", "2", "--out", dir.resolve("tb-qat.onnx").toString());
        // text QAT trains now (training runs through every TinyBERT op): the QDQ model is written with its history
        assertEquals(0, q.rc(), q.err());
        io.condense.ir.Graph qg = OnnxImporter.load(dir.resolve("tb-qat.onnx"));
        assertEquals("qat-text", qg.metadata().get(io.condense.onnx.Provenance.METHOD));
        assertTrue(qg.nodes().stream().anyMatch(n -> n.opType().equals("DequantizeLinear")));
    }

    @Test
    void infoAndRunOnAJar() throws Exception {
        Path jar = dir.resolve("model.jar");
        try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(Files.newOutputStream(jar))) {
            z.putNextEntry(new java.util.zip.ZipEntry("inside/tinybert.onnx"));
            z.write(Files.readAllBytes(tinyBert));
            z.closeEntry();
            z.putNextEntry(new java.util.zip.ZipEntry("inside/tinybert-tokenizer.json"));
            z.write(Files.readAllBytes(tokenizer));
            z.closeEntry();
        }
        CliTest.Result r = CliTest.cli("info", jar.toString()).ok();
        assertTrue(r.out().contains("input_ids       int64[batch,sequence]"), r.out());
        // eval finds the tokenizer inside the jar
        String out = eval(0, jar.toString(), "--reference", tinyBert.toString(), "--text", "builtin", "--n", "8");
        assertEquals(1.0, num(out, "cosine mean ([0-9.]+)"), 1e-6);
    }

    @Test
    void evalOnOnnxTestDataSetsMatchesOnnxRuntime() throws Exception {
        // mnist-8's test_data_set_N folders (input_0.pb) are batches for its single input
        Path m8 = TestData.require("onnx/models/mnist-8");
        Path q = TestData.require("onnx/models/mnist-8-quantized-integer/model_quantized.onnx");
        String same = eval(0, m8.resolve("model.onnx").toString(), "--reference", m8.resolve("model.onnx").toString(), "--data", m8.toString());
        assertTrue(same.contains("inputs: 3 batches"), same);
        assertEquals(0.0, num(same, "max abs diff ([0-9.e-]+)"), 0);
        String out = eval(0, q.toString(), "--reference", m8.resolve("model.onnx").toString(), "--data", m8.toString());
        // the same statistics from ONNX Runtime's outputs of both models
        double max = 0, sum = 0;
        int n = 0, agree = 0;
        byte[] a = Files.readAllBytes(q), b = Files.readAllBytes(m8.resolve("model.onnx"));
        for (int i = 0; i < 3; i++) {
            Tensor x = io.condense.onnx.TensorCodec.readPb(m8.resolve("test_data_set_" + i).resolve("input_0.pb"));
            float[] ya = io.condense.OrtReference.run(a, Map.of("Input3", x)).values().iterator().next().toFloatArray();
            float[] yb = io.condense.OrtReference.run(b, Map.of("Input3", x)).values().iterator().next().toFloatArray();
            int am = 0, bm = 0;
            for (int k = 0; k < ya.length; k++) {
                max = Math.max(max, Math.abs(ya[k] - yb[k]));
                sum += Math.abs(ya[k] - yb[k]);
                n++;
                if (ya[k] > ya[am]) am = k;
                if (yb[k] > yb[bm]) bm = k;
            }
            agree += am == bm ? 1 : 0;
        }
        assertEquals(max, num(out, "max abs diff ([0-9.e-]+)"), 1e-3 * max);
        assertEquals(sum / n, num(out, "mean abs diff ([0-9.e-]+)"), 1e-3 * sum / n);
        assertEquals(agree / 3.0, num(out, "top-1 agreement ([0-9.]+)"), 1e-4);
    }
}
