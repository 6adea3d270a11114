package io.condense.bench;

import ai.onnxruntime.OrtSession;
import io.condense.OrtTestSupport;
import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.eval.Fidelity;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.onnx.ModelSource;
import io.condense.onnx.OnnxExporter;
import io.condense.passes.FloatConversion;
import io.condense.quant.TransformerQuant;
import io.condense.tools.TransformerQuantEval;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Transformer quantization modes on ONNX Runtime: file size, latency at 1 and 2 intra-op threads (batch 1, sequence
 * --seq, every model of a run alternated in each repetition after a warm-up) and fidelity of mean-pooled embeddings to
 * the float model (mean / p1 / min cosine and Spearman of pairwise similarities, {@link Fidelity}) on --eval sentences
 * of the text file not used for calibration (models whose vocabulary the tokenizer does not fit, e.g. TinyBERT, get
 * seeded random token ids instead, which the output says). {@code --reference FILE} adds a model quantized elsewhere
 * (ONNX Runtime's own INT8 MiniLM) to the same table.
 *
 * Modes: the TransformerQuant modes, {@code fp16} (FloatConversion alone) and {@code MODE+fp16} (a quantized model
 * whose float parts are converted after; ONNX Runtime's CPU provider runs float16 ops it lacks kernels for in float32
 * behind Casts, so fp16 latency here is not a GPU's). {@code bf16} does not run on ONNX Runtime's CPU provider.
 *
 * <pre>TransformerQuantBench MODEL TEXT [--modes dynamic,static,...] [--calib 128] [--eval 300] [--eval-offset 2000]
 *       [--seq 128] [--reps 50] [--warmup 10] [--threads 1,2] [--reference FILE] [--out DIR]</pre>
 */
public final class TransformerQuantBench {
    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]), text = Path.of(args[1]);
        String modes = "dynamic,static,smoothquant,weight-only:4:qdq,weight-only:4:nbits,weight-only:8:qdq,fp16";
        int calibN = 128, evalN = 300, evalOffset = 2000, seq = 128, reps = 50, warmup = 10;
        int[] threads = {1, 2};
        Path outDir = Path.of("target", "quant-bench-transformers");
        List<Path> refs = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            switch (args[i]) {
                case "--modes" -> modes = args[++i];
                case "--calib" -> calibN = Integer.parseInt(args[++i]);
                case "--eval" -> evalN = Integer.parseInt(args[++i]);
                case "--eval-offset" -> evalOffset = Integer.parseInt(args[++i]);
                case "--seq" -> seq = Integer.parseInt(args[++i]);
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--reference" -> refs.add(Path.of(args[++i]));
                case "--out" -> outDir = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Files.createDirectories(outDir);
        System.out.println("load average at start: " + TransformerQuantEval.loadavg());
        ModelSource.Loaded loaded = ModelSource.load(model);
        Graph g = loaded.graph();
        long vocab = vocab(g);
        HfTokenizer tok = loaded.tokenizerJson() == null ? null : HfTokenizer.fromJson(loaded.tokenizerJson(), loaded.tokenizerOrigin(), seq);
        boolean useText = tok != null && tokenizerFits(tok, vocab);
        List<Map<String, Tensor>> calib;
        List<TextBatch> evalB;
        List<String> all = TextData.readLines(text);
        if (useText) {
            calib = TextData.feeds(g, TextData.batches(g, tok, TextData.select(all, 0, calibN), 16));
            evalB = TextData.batches(g, tok, TextData.select(all, evalOffset, evalN), 16);
            System.out.printf(Locale.ROOT, "%s: calibration sentences 1-%d, evaluation sentences %d-%d of %s%n", model.getFileName(), calibN,
                    evalOffset + 1, evalOffset + evalN, text.getFileName());
        } else {
            calib = randomFeeds(g, vocab, calibN / 16 + 1, 16, Math.min(seq, 32), 1);
            evalB = randomBatches(vocab, evalN / 16 + 1, 16, Math.min(seq, 32), 2);
            System.out.printf(Locale.ROOT, "%s: the model's vocabulary (%d) does not fit a tokenizer it carries: seeded random token ids%n",
                    model.getFileName(), vocab);
        }
        Map<String, byte[]> models = new LinkedHashMap<>();
        Map<String, String> what = new LinkedHashMap<>();
        byte[] floatBytes = OnnxExporter.toBytes(g);
        models.put("float32", floatBytes);
        what.put("float32", "float32");
        for (String m : modes.split(",")) {
            // "fp16" / "bf16": FloatConversion alone; "MODE+fp16": the quantized model's float parts converted after
            String spec = m.trim(), lowFloat = null;
            if (spec.contains("+")) {
                lowFloat = spec.substring(spec.indexOf('+') + 1);
                spec = spec.substring(0, spec.indexOf('+'));
            }
            Graph mg;
            String desc;
            if (spec.equals("fp16") || spec.equals("bf16")) {
                lowFloat = spec;
                mg = g;
                desc = "";
            } else {
                TransformerQuant.Mode mode = TransformerQuant.Mode.parse(spec.split(":")[0]);
                TransformerQuant.Result r = TransformerQuant.quantize(g, mode, TransformerQuantEval.options(spec),
                        mode == TransformerQuant.Mode.DYNAMIC ? null : calib, null);
                mg = r.graph();
                desc = r.description();
            }
            if (lowFloat != null) {
                FloatConversion fc = new FloatConversion(FloatConversion.Target.parse(lowFloat));
                mg = fc.apply(mg);
                desc = (desc.isEmpty() ? "" : desc + "; ") + fc.summary().format();
            }
            byte[] b = OnnxExporter.toFileBytes(mg); // as condense writes it
            Files.write(outDir.resolve(model.getFileName().toString().replaceAll("\\.(onnx|jar)$", "") + "-" + m.trim().replace(':', '_') + ".onnx"), b);
            models.put(m.trim(), b);
            what.put(m.trim(), desc);
        }
        for (Path rp : refs) {
            models.put(rp.getFileName().toString(), OnnxExporter.toBytes(ModelSource.load(rp).graph()));
            what.put(rp.getFileName().toString(), "reference");
        }
        // fidelity
        float[][] ref = embeddings(floatBytes, g, evalB);
        Map<String, Fidelity.EmbeddingReport> fid = new LinkedHashMap<>();
        for (var e : models.entrySet()) fid.put(e.getKey(), Fidelity.compareEmbeddings(embeddings(e.getValue(), g, evalB), ref));
        // latency: batch 1, fixed sequence, models alternated within each repetition
        Map<String, Tensor> feed = fixedFeed(g, vocab, Math.min(seq, maxPositions(g)));
        Map<String, double[]> lat = new LinkedHashMap<>();
        for (int t : threads) {
            List<OrtSession> sessions = new ArrayList<>();
            for (byte[] b : models.values()) sessions.add(OrtTestSupport.session(b, t, OrtSession.SessionOptions.OptLevel.ALL_OPT));
            long[][] ns = new long[sessions.size()][reps];
            for (int r = -warmup; r < reps; r++) {
                for (int k = 0; k < sessions.size(); k++) {
                    long t0 = System.nanoTime();
                    OrtTestSupport.run(sessions.get(k), feed);
                    if (r >= 0) ns[k][r] = System.nanoTime() - t0;
                }
            }
            int k = 0;
            for (String name : models.keySet()) {
                long[] v = ns[k++].clone();
                Arrays.sort(v);
                int nt = threads.length;
                lat.computeIfAbsent(name, x -> new double[nt])[indexOf(threads, t)] = v[v.length / 2] / 1e6;
            }
            for (OrtSession s : sessions) s.close();
        }
        System.out.printf(Locale.ROOT, "%nONNX Runtime 1.29, batch 1, sequence %d, median of %d alternated repetitions after %d warm-up; load average at end: %s%n",
                feed.values().iterator().next().dim(1), reps, warmup, TransformerQuantEval.loadavg());
        StringBuilder h = new StringBuilder("| mode | what | size (bytes) | smaller |");
        for (int t : threads) h.append(" p50 ").append(t).append("T (ms) | speedup ").append(t).append("T |");
        h.append(" cos mean | cos p1 | cos min | Spearman |");
        System.out.println(h);
        System.out.println("|---".repeat(4 + 2 * threads.length + 4) + "|");
        double[] f = lat.get("float32");
        for (String name : models.keySet()) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %s | %s | %d | %.2fx |", name, what.get(name), models.get(name).length,
                    (double) floatBytes.length / models.get(name).length));
            for (int i = 0; i < threads.length; i++) row.append(String.format(Locale.ROOT, " %.2f | %.2fx |", lat.get(name)[i], f[i] / lat.get(name)[i]));
            Fidelity.EmbeddingReport r = fid.get(name);
            row.append(String.format(Locale.ROOT, " %.6f | %.6f | %.6f | %.6f |", r.meanCosine(), r.p1Cosine(), r.minCosine(), r.spearman()));
            System.out.println(row);
        }
        if (tok != null) tok.close();
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) if (a[i] == v) return i;
        return -1;
    }

    static long vocab(Graph g) {
        for (Node n : g.nodes()) {
            if (n.opType().equals("Gather") && n.input(1).equals("input_ids") && g.initializers().containsKey(n.input(0))) return g.initializers().get(n.input(0)).dim(0);
        }
        return Long.MAX_VALUE;
    }

    /** Rows of the largest other embedding table read by a Gather (the position embeddings), else a large number. */
    static int maxPositions(Graph g) {
        long best = Integer.MAX_VALUE;
        for (Node n : g.nodes()) {
            if (n.opType().equals("Gather") && !n.input(1).equals("input_ids") && g.initializers().containsKey(n.input(0))) {
                long r = g.initializers().get(n.input(0)).dim(0);
                if (r > 2) best = Math.min(best, r);
            }
        }
        return (int) best;
    }

    static boolean tokenizerFits(HfTokenizer tok, long vocab) {
        for (long id : tok.encode("The quick brown fox jumps over the lazy dog; antidisestablishmentarianism.").ids()) if (id >= vocab) return false;
        return true;
    }

    static Map<String, Tensor> fixedFeed(Graph g, long vocab, int seq) {
        Random r = new Random(42);
        long[] ids = new long[seq], mask = new long[seq], types = new long[seq];
        Arrays.fill(mask, 1);
        for (int i = 0; i < seq; i++) ids[i] = 1 + r.nextInt((int) Math.min(vocab - 1, 30000));
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (var in : g.inputs()) {
            switch (TextBatch.role(in)) {
                case INPUT_IDS -> m.put(in.name(), Tensor.of(ids, 1, seq));
                case ATTENTION_MASK -> m.put(in.name(), Tensor.of(mask, 1, seq));
                case TOKEN_TYPE_IDS -> m.put(in.name(), Tensor.of(types, 1, seq));
            }
        }
        return m;
    }

    static List<TextBatch> randomBatches(long vocab, int batches, int batch, int seq, long seed) {
        Random r = new Random(seed);
        List<TextBatch> out = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            long[][] ids = new long[batch][seq], mask = new long[batch][seq], types = new long[batch][seq];
            List<String> s = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                Arrays.fill(mask[i], 1);
                for (int j = 0; j < seq; j++) ids[i][j] = 1 + r.nextInt((int) vocab - 1);
                s.add("random " + b + "/" + i);
            }
            out.add(new TextBatch(s, ids, mask, types));
        }
        return out;
    }

    static List<Map<String, Tensor>> randomFeeds(Graph g, long vocab, int batches, int batch, int seq, long seed) {
        List<Map<String, Tensor>> f = new ArrayList<>();
        for (TextBatch b : randomBatches(vocab, batches, batch, seq, seed)) f.add(b.feeds(g.inputs()));
        return f;
    }

    static float[][] embeddings(byte[] model, Graph g, List<TextBatch> batches) throws Exception {
        List<float[]> out = new ArrayList<>();
        try (OrtSession s = OrtTestSupport.session(model, 1, OrtSession.SessionOptions.OptLevel.ALL_OPT)) {
            for (TextBatch b : batches) {
                Tensor h = OrtTestSupport.run(s, b.feeds(g.inputs())).values().iterator().next();
                for (float[] e : Fidelity.pool(h, b.mask())) out.add(e);
            }
        }
        return out.toArray(new float[0][]);
    }
}
