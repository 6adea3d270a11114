package io.condense.cli;

import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.onnx.ModelFiles;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.quant.CalibrationData;
import io.condense.quant.CalibrationMethod;
import io.condense.quant.CalibrationResult;
import io.condense.quant.PtqPass;
import io.condense.quant.QuantConfig;
import io.condense.quant.Sensitivity;
import io.condense.quant.TransformerQuant;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code quantize}: post-training static INT8 quantization to a QDQ ONNX model (see {@link PtqPass}).
 * Calibration data: an MNIST-format IDX image file or a folder with one, a folder of .npy/.pb tensors, or
 * {@code random}.
 */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = {"Post-training INT8 quantization: calibrate activation ranges on sample data and write a QDQ ONNX model "
                + "(INT8 per-channel weights, INT8/UINT8 per-tensor activations) that ONNX Runtime and TensorRT run in INT8."},
        footer = {"", "DATA: an IDX images file (MNIST format, plain or .gz) or a folder holding one (train-* preferred);",
                "      a folder of .npy/.pb tensors (each file one batch for the model's single input);",
                "      a folder of sub-folders, one per batch, each with one .npy/.pb per input (models with several inputs);",
                "      or, for text models, --text FILE (one sentence per line) with --tokenizer (found in the model's jar if omitted);",
                "      or 'random' (seeded uniform [0, 1), for smoke tests).",
                "", "Examples:", "  condense quantize lenet5.onnx --calib data/mnist --method entropy --batches 16 --out lenet5-int8.onnx",
                "  condense quantize minilm.jar --text sentences.txt --samples 256 --max-length 128 --out minilm-int8.onnx"})
public final class QuantizeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "float model (.onnx)")
    Path model;

    @Option(names = "--calib", paramLabel = "DATA", description = "calibration data (see below); or --text")
    String calib;

    @picocli.CommandLine.Mixin
    TextDataOptions textData = new TextDataOptions();

    @Option(names = "--method", paramLabel = "M", description = "minmax | percentile | entropy | mse (default: minmax, or the config's)")
    String method;

    @Option(names = "--percentile", paramLabel = "P", description = "percentile of |x| for --method percentile (default 99.99)")
    Double percentile;

    @Option(names = "--batches", paramLabel = "N", description = "calibration batches to read (default 16; 0 = all)")
    Integer batches;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "32",
            description = "calibration batch size (default ${DEFAULT-VALUE}; a model with a fixed batch dimension uses that)")
    int batchSize;

    @Option(names = "--exclude", split = ",", paramLabel = "NODE", description = "node names to keep in float")
    List<String> exclude = new ArrayList<>();

    @Option(names = "--include", split = ",", paramLabel = "NODE", description = "quantize only these nodes")
    List<String> include = new ArrayList<>();

    @Option(names = "--asymmetric", description = "UINT8 activations with a zero point (default: symmetric INT8)")
    boolean asymmetric;

    @Option(names = "--per-tensor-weights", description = "one scale per weight tensor (default: per output channel)")
    boolean perTensorWeights;

    @Option(names = "--quantize-outputs", description = "also Q/DQ on Conv/Gemm/MatMul outputs (ONNX Runtime then fuses them into its INT8 kernels)")
    boolean quantizeOutputs;

    @Option(names = "--config", paramLabel = "FILE", description = "YAML quantization config; options given here override it")
    Path config;

    @Option(names = "--scale", paramLabel = "S",
            description = "multiplier for IDX pixel values: 1/255 (0..1) or 1 (models taking 0..255); default: the model's recorded one, else 1/255")
    Double scaleOption;

    float scale;

    @Option(names = "--seed", defaultValue = "0", description = "seed for 'random' data (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--sensitivity", description = "quantize one layer at a time and print the top-1 agreement drop per layer")
    boolean sensitivity;

    @Option(names = "--keep-float", paramLabel = "K", defaultValue = "0",
            description = "with --sensitivity: keep the K most sensitive layers in float")
    int keepFloat;

    @Option(names = "--mode", paramLabel = "MODE",
            description = "static | dynamic | smoothquant | weight-only (transformers; default for a detected transformer: dynamic)")
    String mode;

    @Option(names = "--placement", paramLabel = "P", description = "static/smoothquant: matmul-weights (default) | matmul (also attention's activation MatMuls) | rules")
    String placement;

    @Option(names = "--symmetric", description = "static/smoothquant on transformers: symmetric INT8 activations (default there: UINT8 with a zero point)")
    boolean symmetric;

    @Option(names = "--alpha", defaultValue = "0.5", description = "SmoothQuant migration strength (default ${DEFAULT-VALUE})")
    double alpha;

    @Option(names = "--bits", defaultValue = "4", description = "weight-only bits: 4 or 8 (default ${DEFAULT-VALUE})")
    int bits;

    @Option(names = "--group", defaultValue = "32", description = "weight-only group size along K (default ${DEFAULT-VALUE})")
    int group;

    @Option(names = "--format", defaultValue = "qdq", description = "weight-only export: qdq (opset-21 DequantizeLinear) | matmulnbits (com.microsoft; default ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--no-embeddings", description = "dynamic/weight-only: keep the embedding tables in float")
    boolean noEmbeddings;

    @Option(names = "--float", paramLabel = "TYPE",
            description = "fp16 | bf16: also convert the parts left in float32 (TensorRT 11 takes each layer's precision from the ONNX: "
                    + "an INT8 engine needs the other layers in FP16). For ONNX Runtime's CPU provider, whose float16 QuantizeLinear truncates, "
                    + "convert the INT8 model with condense convert --float fp16 --keep-op QuantizeLinear instead")
    String floatTarget;

    @picocli.CommandLine.Mixin
    Options.Threads threads = new Options.Threads();

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "OUT.onnx", description = "output model")
    Path out;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "cpu",
            description = "backend that runs the model for calibration and --sensitivity: cpu | ort (ONNX Runtime) | cuda (default: ${DEFAULT-VALUE})")
    String backend;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    QuantConfig config() {
        QuantConfig c = config != null ? QuantConfig.load(config) : QuantConfig.defaults().withCalibrationBatches(16);
        if (method != null) c = c.withMethod(CalibrationMethod.parse(method));
        if (percentile != null) c = c.withPercentile(percentile);
        if (batches != null) c = c.withCalibrationBatches(batches);
        if (asymmetric) c = c.withSymmetricActivations(false);
        if (perTensorWeights) c = c.withPerChannelWeights(false);
        if (quantizeOutputs) c = c.withQuantizeOutputs(true);
        if (!exclude.isEmpty()) c = c.withExclude(exclude);
        if (!include.isEmpty()) c = c.withInclude(include);
        return c;
    }

    @Override
    public Integer call() {
        PrintWriter o = spec.commandLine().getOut();
        if (batchSize <= 0) throw new ModelException("--batch-size must be positive, got " + batchSize);
        if (keepFloat < 0) throw new ModelException("--keep-float must be >= 0, got " + keepFloat);
        if (scaleOption != null && (!(scaleOption > 0) || !Double.isFinite(scaleOption))) throw new ModelException("--scale must be positive, got " + scaleOption);
        QuantConfig cfg = config();
        if (floatTarget != null) io.condense.passes.FloatConversion.Target.parse(floatTarget); // reject a bad value before any work
        threads.apply();
        long t0 = System.nanoTime();
        Graph g = OnnxImporter.load(model);
        PrintWriter errw = spec.commandLine().getErr();
        scale = (float) io.condense.data.Preprocessing.pixelScale(g, scaleOption, w -> { errw.println(w); errw.flush(); });
        boolean idx = calib != null && !calib.equals("random") && isIdx(Path.of(calib));
        if (idx && io.condense.data.Preprocessing.of(g).isEmpty() && Files.isDirectory(Path.of(calib))) {
            try {
                String w = io.condense.recipe.ImageData.pixelRangeProblem(g, Path.of(calib), scale, scaleOption != null);
                if (w != null) {
                    errw.println("warning: " + w);
                    errw.flush();
                }
            } catch (ModelException ignored) {
                // no labelled test split beside the calibration images: nothing to check against
            }
        }
        java.io.PrintStream progress = new java.io.PrintStream(new WriterStream(o), true);
        TransformerQuant.Mode m = chooseMode(g, o);
        if (m != null) return transformer(g, m, cfg, progress, o, t0);
        Graph prepared = PtqPass.prepare(QuantData.upgradeOpset(g, 13, progress));
        List<Map<String, Tensor>> data = materialize(data(prepared, cfg, o));
        io.condense.backend.Backend be = backend.equals("ort") && threads.threads > 0
                ? io.condense.backend.ort.OrtBackend.withThreads(threads.threads)
                : io.condense.backend.Backends.get(backend);
        CalibrationResult stats = PtqPass.calibrate(be, prepared, cfg, data, progress);
        for (String n : cfg.exclude()) requireNode(prepared, n, "--exclude");
        for (String n : cfg.include()) requireNode(prepared, n, "--include");
        if (sensitivity) {
            Sensitivity.Report r = Sensitivity.analyze(be, prepared, stats, cfg, data, null, null);
            r.print(progress);
            if (keepFloat > 0) {
                List<String> ex = new ArrayList<>(cfg.exclude());
                ex.addAll(r.worst(keepFloat));
                cfg = cfg.withExclude(ex);
                o.println("keeping in float: " + String.join(", ", r.worst(keepFloat)));
            }
        } else if (keepFloat > 0) {
            throw new ModelException("--keep-float needs --sensitivity");
        }
        Graph q = PtqPass.quantize(prepared, stats, cfg);
        if (idx) q = io.condense.data.Preprocessing.image(scale, 0, 1).stamp(q);
        String sha = io.condense.onnx.Provenance.sha256(model);
        q = io.condense.onnx.Provenance.stamp(q, new io.condense.onnx.Provenance.Stage("quantize/int8-static", sha, cfg, null));
        q = lowFloat(q, sha, o);
        byte[] bytes = OnnxExporter.toFileBytes(q);
        ModelFiles.writeAtomically(out, s -> s.write(bytes));
        long floatBytes;
        try {
            floatBytes = Files.size(model);
        } catch (java.io.IOException e) {
            floatBytes = OnnxExporter.toBytes(g).length;
        }
        long nq = q.nodes().stream().filter(n -> n.opType().equals("QuantizeLinear")).count();
        long ndq = q.nodes().stream().filter(n -> n.opType().equals("DequantizeLinear")).count();
        o.printf(Locale.ROOT, "quantized %s (%s, %s activations, %s weights): %d Q and %d DQ nodes, opset %d%n",
                model.getFileName(), cfg.method().cliName() + (cfg.method() == CalibrationMethod.PERCENTILE ? " " + cfg.percentile() : ""),
                cfg.symmetricActivations() ? "INT8 symmetric" : "UINT8 asymmetric", cfg.perChannelWeights() ? "per-channel INT8" : "per-tensor INT8",
                nq, ndq, q.opset());
        o.printf(Locale.ROOT, "wrote %s: %d bytes (float model %d bytes, %.2fx smaller) in %.1f s%n", out, bytes.length, floatBytes,
                (double) floatBytes / bytes.length, (System.nanoTime() - t0) / 1e9);
        o.flush();
        return 0;
    }

    /**
     * The transformer mode to use: --mode when given; for a model {@link TransformerQuant#isTransformer detected}
     * as a transformer, dynamic INT8 (the most faithful INT8 mode measured on MiniLM, needs no data) unless
     * calibration data is given, then static; null for the CNN path (the PtqPass rule table).
     */
    private TransformerQuant.Mode chooseMode(Graph g, PrintWriter o) {
        if (mode != null) {
            TransformerQuant.Mode m = TransformerQuant.Mode.parse(mode);
            o.println("mode: " + m.cliName() + " (--mode)");
            return m;
        }
        if (!TransformerQuant.isTransformer(g)) return null;
        boolean hasData = textData.given() || calib != null;
        TransformerQuant.Mode m = TransformerQuant.Mode.DYNAMIC;
        o.println("transformer detected (MatMul-heavy graph with " + (g.inputs().stream().anyMatch(v -> v.type().dtype() != null
                && !v.type().dtype().isFloating()) ? "integer token inputs" : "a LayerNorm pattern") + "): --mode " + m.cliName()
                + " (INT8 weights per channel, activations quantized at run time" + (hasData ? "; the calibration data is not needed" : ", no calibration data needed")
                + "); other modes: --mode static|smoothquant|weight-only");
        return m;
    }

    private Integer transformer(Graph g, TransformerQuant.Mode m, QuantConfig cfg, java.io.PrintStream progress, PrintWriter o, long t0) {
        List<Map<String, Tensor>> data = null;
        Graph original = g;
        g = QuantData.upgradeOpset(g, m == TransformerQuant.Mode.WEIGHT_ONLY ? 21 : 13, progress);
        if (m.needsCalibration() || (m == TransformerQuant.Mode.WEIGHT_ONLY && (textData.given() || calib != null))) {
            if (!textData.given() && calib == null) {
                throw new ModelException("--mode " + m.cliName() + " needs calibration data: --text FILE (sentences) or --calib DIR (batch folders)");
            }
            data = materialize(data(g, cfg, o));
        }
        QuantConfig qc = TransformerQuant.staticConfig();
        if (method != null) qc = qc.withMethod(CalibrationMethod.parse(method));
        if (percentile != null) qc = qc.withPercentile(percentile);
        if (placement != null) qc = qc.withPlacement(QuantConfig.Placement.parse(placement));
        if (symmetric) qc = qc.withSymmetricActivations(true);
        if (!exclude.isEmpty()) qc = qc.withExclude(exclude);
        TransformerQuant.Options opt = TransformerQuant.Options.defaults().withQuant(qc).withAlpha(alpha).withBits(bits).withGroup(group)
                .withEmbeddings(!noEmbeddings).withNbits(format.equalsIgnoreCase("matmulnbits"));
        if (!format.equalsIgnoreCase("matmulnbits") && !format.equalsIgnoreCase("qdq")) throw new ModelException("--format must be qdq or matmulnbits, got " + format);
        TransformerQuant.Result r = TransformerQuant.quantize(g, m, opt, data, progress);
        String sha = io.condense.onnx.Provenance.sha256(model);
        Graph q = io.condense.onnx.Provenance.stamp(r.graph(), new io.condense.onnx.Provenance.Stage("quantize/" + m.cliName(), sha,
                java.util.Map.of("mode", m.cliName(), "description", r.description()), null));
        q = lowFloat(q, sha, o);
        byte[] bytes = OnnxExporter.toFileBytes(q);
        ModelFiles.writeAtomically(out, st -> st.write(bytes));
        long floatBytes = OnnxExporter.toBytes(original).length;
        o.printf(Locale.ROOT, "quantized %s: %s%n", model.getFileName(), r.description());
        o.printf(Locale.ROOT, "wrote %s: %d bytes (float model %d bytes, %.2fx smaller) in %.1f s%n", out, bytes.length, floatBytes,
                (double) floatBytes / bytes.length, (System.nanoTime() - t0) / 1e9);
        o.flush();
        return 0;
    }

    /** With --float: the float32 parts of the quantized model converted to float16/bfloat16 (INT8 parts unchanged). */
    private Graph lowFloat(Graph q, String inputSha, PrintWriter o) {
        if (floatTarget == null) return q;
        return ConvertCommand.convert(q, ConvertCommand.config(floatTarget, null, List.of(), false, false), inputSha, o);
    }

    private static void requireNode(Graph g, String name, String opt) {
        for (Node n : g.nodes()) if (n.name().equals(name)) return;
        throw new ModelException(opt + ": no node named '" + name + "' in the model");
    }

    private Iterable<Map<String, Tensor>> data(Graph g, QuantConfig cfg, PrintWriter o) {
        int nb = cfg.calibrationBatches();
        if (textData.given()) {
            if (calib != null) throw new picocli.CommandLine.ParameterException(spec.commandLine(), "give --calib or --text, not both");
            List<io.condense.data.text.TextBatch> b = textData.batches(g, model, batchSize, nb > 0 ? nb * batchSize : 0);
            o.println(textData.describe(b));
            return io.condense.data.text.TextData.feeds(g, b);
        }
        if (calib == null) throw new picocli.CommandLine.ParameterException(spec.commandLine(), "calibration data needed: --calib DATA or --text FILE");
        if (g.inputs().size() > 1) return QuantData.multiInput(g, calib, nb);
        ValueInfo in = CalibrationData.singleInput(g);
        int bs = CalibrationData.batchSize(in, batchSize);
        if (calib.equals("random")) return CalibrationData.random(in, bs, nb > 0 ? nb : 16, seed, 0f, 1f);
        Path p = Path.of(calib);
        if (!Files.exists(p)) throw new ModelException("calibration data not found: " + calib);
        if (Files.isDirectory(p)) {
            boolean hasIdx;
            try (var s = Files.list(p)) {
                hasIdx = s.anyMatch(f -> f.getFileName().toString().contains("idx3"));
            } catch (java.io.IOException e) {
                throw new ModelException("cannot list " + p + ": " + e.getMessage());
            }
            if (!hasIdx) return CalibrationData.fromTensorFiles(in, p, nb);
        }
        String name = p.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        if (name.endsWith(".pb") || name.endsWith(".npy")) return CalibrationData.fromTensorFiles(in, p, nb); // one batch
        return CalibrationData.fromIdx(in, p, scale, bs, nb);
    }

    private static boolean isIdx(Path p) {
        if (!Files.isDirectory(p)) return p.getFileName().toString().contains("idx");
        try (var s = Files.list(p)) {
            return s.anyMatch(f -> f.getFileName().toString().contains("idx3"));
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** Loads all calibration batches (they are reused by the sensitivity analysis). */
    private static List<Map<String, Tensor>> materialize(Iterable<Map<String, Tensor>> it) {
        List<Map<String, Tensor>> l = new ArrayList<>();
        for (Map<String, Tensor> m : it) l.add(m);
        if (l.isEmpty()) throw new ModelException("calibration data is empty");
        return l;
    }

    /** PrintStream adapter onto the command's writer. */
    private static final class WriterStream extends java.io.OutputStream {
        private final PrintWriter w;

        WriterStream(PrintWriter w) { this.w = w; }

        @Override public void write(int b) { w.write(b); }

        @Override public void write(byte[] b, int off, int len) { w.write(new String(b, off, len, java.nio.charset.StandardCharsets.UTF_8)); }

        @Override public void flush() { w.flush(); }
    }
}
