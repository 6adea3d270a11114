package io.condense.tools;

import io.condense.OrtTestSupport;
import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.eval.Fidelity;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.ModelSource;
import io.condense.onnx.OnnxExporter;
import io.condense.quant.TransformerQuant;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Fidelity and size of condense's transformer quantization modes: quantizes MODEL (an .onnx or the MiniLM jar) in each
 * mode with calibration sentences from TEXT (the first --calib), and compares mean-pooled embeddings (ONNX Runtime, one
 * thread) with the float model's on --eval other sentences (from --eval-offset): mean / p1 / min cosine and the
 * Spearman correlation of pairwise similarities ({@link Fidelity}). Optional --reference FILE.onnx [NAME] rows compare
 * a model quantized elsewhere (ONNX Runtime's own INT8 MiniLM).
 *
 * <pre>java ... io.condense.tools.TransformerQuantEval MODEL TEXT [--modes a,b] [--calib 128] [--eval 300] [--out DIR] [--reference F]</pre>
 */
public final class TransformerQuantEval {
    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]), text = Path.of(args[1]);
        String modes = "static,dynamic,smoothquant,weight-only";
        int calibN = 128, evalN = 300, evalOffset = 2000, maxLen = 128;
        Path outDir = Path.of("target", "quant-eval");
        List<Path> refs = new ArrayList<>();
        Path tokenizer = null;
        for (int i = 2; i < args.length; i++) {
            switch (args[i]) {
                case "--modes" -> modes = args[++i];
                case "--calib" -> calibN = Integer.parseInt(args[++i]);
                case "--eval" -> evalN = Integer.parseInt(args[++i]);
                case "--eval-offset" -> evalOffset = Integer.parseInt(args[++i]);
                case "--out" -> outDir = Path.of(args[++i]);
                case "--reference" -> refs.add(Path.of(args[++i]));
                case "--tokenizer" -> tokenizer = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Files.createDirectories(outDir);
        ModelSource.Loaded loaded = ModelSource.load(model);
        Graph g = loaded.graph();
        byte[] floatBytes = OnnxExporter.toBytes(g);
        List<String> all = TextData.readLines(text);
        List<String> calibS = TextData.select(all, 0, calibN), evalS = TextData.select(all, evalOffset, evalN);
        HfTokenizer tok = tokenizer != null ? HfTokenizer.load(tokenizer, maxLen)
                : HfTokenizer.fromJson(loaded.tokenizerJson(), loaded.tokenizerOrigin(), maxLen);
        List<Map<String, Tensor>> calib = TextData.feeds(g, TextData.batches(g, tok, calibS, 16));
        List<TextBatch> evalB = TextData.batches(g, tok, evalS, 16);
        float[][] ref = embeddings(floatBytes, g, evalB);
        System.out.printf(Locale.ROOT, "%s: %d float bytes; calibration %d sentences (lines 1-%d), evaluation %d sentences (lines %d-%d); load %s%n",
                model.getFileName(), floatBytes.length, calibS.size(), calibN, evalS.size(), evalOffset + 1, evalOffset + evalN, loadavg());
        System.out.printf(Locale.ROOT, "%-44s %12s %7s %9s %9s %9s %9s%n", "mode", "bytes", "ratio", "cos mean", "cos p1", "cos min", "Spearman");
        row("float32", floatBytes.length, floatBytes.length, Fidelity.compareEmbeddings(ref, ref));
        for (String m : modes.split(",")) {
            long t0 = System.nanoTime();
            TransformerQuant.Mode mode = TransformerQuant.Mode.parse(m.trim().split(":")[0]);
            TransformerQuant.Options opt = options(m.trim());
            TransformerQuant.Result r = TransformerQuant.quantize(g, mode, opt, mode == TransformerQuant.Mode.DYNAMIC ? null : calib, null);
            byte[] q = OnnxExporter.toFileBytes(r.graph());
            Files.write(outDir.resolve(model.getFileName().toString().replaceAll("\\.(onnx|jar)$", "") + "-" + m.trim().replace(':', '_') + ".onnx"), q);
            float[][] e = embeddings(q, r.graph(), evalB);
            row(m.trim() + " (" + r.description() + ")", q.length, floatBytes.length, Fidelity.compareEmbeddings(e, ref));
            System.out.printf(Locale.ROOT, "    quantized in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        }
        for (Path rp : refs) {
            Graph rg = ModelSource.load(rp).graph();
            byte[] b = OnnxExporter.toBytes(rg);
            row(rp.getFileName().toString(), Files.size(rp), floatBytes.length, Fidelity.compareEmbeddings(embeddings(b, rg, evalB), ref));
        }
        tok.close();
    }

    /**
     * "mode[:a[:b[:c[:d]]]]": static/smoothquant placement:calibrator[:alpha][:asym]; weight-only bits:qdq|nbits:emb|noemb:rtn|gptq|awq;
     * dynamic emb|noemb.
     */
    public static TransformerQuant.Options options(String spec) {
        String[] parts = spec.split(":");
        TransformerQuant.Options opt = TransformerQuant.Options.defaults();
        TransformerQuant.Mode mode = TransformerQuant.Mode.parse(parts[0]);
        if (mode.needsCalibration()) {
            io.condense.quant.QuantConfig qc = opt.quant();
            if (parts.length > 1) qc = qc.withPlacement(io.condense.quant.QuantConfig.Placement.parse(parts[1]));
            if (parts.length > 2) qc = qc.withMethod(io.condense.quant.CalibrationMethod.parse(parts[2]));
            if (parts.length > 3 && !parts[3].equals("asym")) opt = opt.withAlpha(Double.parseDouble(parts[3]));
            if (java.util.Arrays.asList(parts).contains("asym")) qc = qc.withSymmetricActivations(false);
            opt = opt.withQuant(qc);
        } else if (mode == TransformerQuant.Mode.WEIGHT_ONLY) {
            if (parts.length > 1) opt = opt.withBits(Integer.parseInt(parts[1]));
            if (parts.length > 2) opt = opt.withNbits(parts[2].equals("nbits"));
            if (parts.length > 3) opt = opt.withEmbeddings(!parts[3].equals("noemb"));
            if (parts.length > 4) opt = opt.withWeightMethod(io.condense.quant.int4.Int4WeightOnly.Method.valueOf(parts[4].toUpperCase(Locale.ROOT)));
        } else if (parts.length > 1) {
            opt = opt.withEmbeddings(!parts[1].equals("noemb"));
        }
        return opt;
    }

    static void row(String name, long bytes, long floatBytes, Fidelity.EmbeddingReport r) {
        System.out.printf(Locale.ROOT, "%-44s %12d %6.2fx %9.6f %9.6f %9.6f %9.6f%n", name.length() > 44 ? name.substring(0, 44) : name, bytes,
                (double) floatBytes / bytes, r.meanCosine(), r.p1Cosine(), r.minCosine(), r.spearman());
    }

    static float[][] embeddings(byte[] model, Graph g, List<TextBatch> batches) throws Exception {
        List<float[]> out = new ArrayList<>();
        try (var s = OrtTestSupport.session(model, 1, ai.onnxruntime.OrtSession.SessionOptions.OptLevel.ALL_OPT)) {
            for (TextBatch b : batches) {
                Tensor h = OrtTestSupport.run(s, b.feeds(g.inputs())).values().iterator().next();
                for (float[] e : Fidelity.pool(h, b.mask())) out.add(e);
            }
        }
        return out.toArray(new float[0][]);
    }

    public static String loadavg() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (Exception e) {
            return "?";
        }
    }
}
