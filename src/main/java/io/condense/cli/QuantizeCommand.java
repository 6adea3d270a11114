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

    @Option(names = "--scale", paramLabel = "S", defaultValue = "0.00392156862745098",
            description = "multiplier for IDX pixel values (default 1/255; use 1 for models taking 0..255)")
    float scale;

    @Option(names = "--seed", defaultValue = "0", description = "seed for 'random' data (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--sensitivity", description = "quantize one layer at a time and print the top-1 agreement drop per layer")
    boolean sensitivity;

    @Option(names = "--keep-float", paramLabel = "K", defaultValue = "0",
            description = "with --sensitivity: keep the K most sensitive layers in float")
    int keepFloat;

    @Option(names = "--threads", defaultValue = "0", description = "CPU threads (default: all cores, 1 on a busy machine)")
    int threads;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "OUT.onnx", description = "output model")
    Path out;

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
        if (!(scale > 0) || !Float.isFinite(scale)) throw new ModelException("--scale must be positive, got " + scale);
        QuantConfig cfg = config();
        io.condense.train.Threads.configure(threads);
        long t0 = System.nanoTime();
        Graph g = OnnxImporter.load(model);
        Graph prepared = PtqPass.prepare(g);
        List<Map<String, Tensor>> data = materialize(data(prepared, cfg, o));
        java.io.PrintStream progress = new java.io.PrintStream(new WriterStream(o), true);
        CalibrationResult stats = PtqPass.calibrate(prepared, cfg, data, progress);
        for (String n : cfg.exclude()) requireNode(prepared, n, "--exclude");
        for (String n : cfg.include()) requireNode(prepared, n, "--include");
        if (sensitivity) {
            Sensitivity.Report r = Sensitivity.analyze(prepared, stats, cfg, data, null, null);
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
        byte[] bytes = OnnxExporter.toBytes(q);
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
        return CalibrationData.fromIdx(in, p, scale, bs, nb);
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
