package io.condense.cli;

import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.quant.int4.Int4WeightOnly;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code int4}: weight-only group-wise 4-bit quantization (RTN or GPTQ) of Gemm/MatMul weights. */
@Command(name = "int4", mixinStandardHelpOptions = true,
        description = "Quantize Gemm/MatMul weights to 4 bits per group along K (RTN or GPTQ); exports opset-21 blocked DequantizeLinear.",
        footer = {"", "Examples:", "  condense int4 lenet-300-100.onnx --method rtn --group 32 --out lenet-int4.onnx",
                "  condense int4 lenet-300-100.onnx --method gptq --calib ../shared/data/mnist --out lenet-int4.onnx"})
public final class Int4Command implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "input ONNX model")
    Path model;

    @Option(names = "--out", required = true, description = "output ONNX file (written atomically)")
    Path out;

    @Option(names = "--group", defaultValue = "128", description = "group size along K (default ${DEFAULT-VALUE})")
    int group;

    @Option(names = "--method", defaultValue = "gptq", description = "gptq | awq | rtn (default ${DEFAULT-VALUE})")
    String method;

    @Option(names = "--symmetric", description = "INT4 with zero point 0 (default: UINT4 with a zero point per group, "
            + "which uses all 16 levels for each group's range)")
    boolean symmetric;

    @Option(names = "--asymmetric", hidden = true, description = "the default (kept for scripts that pass it)")
    boolean asymmetric;

    @Option(names = "--calib", description = "calibration data: MNIST-format folder, .pb tensor [samples, ...], or a folder of "
            + "batch sub-folders with one .npy/.pb per input (gptq needs calibration data: this or --text)")
    Path calib;

    @picocli.CommandLine.Mixin
    TextDataOptions textData = new TextDataOptions();

    @Option(names = "--calib-samples", defaultValue = "512", description = "calibration samples read at most (default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--batch-size", defaultValue = "64", description = "calibration batch size (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--damp", defaultValue = "0.01", description = "GPTQ damping, relative to the mean Hessian diagonal (default ${DEFAULT-VALUE})")
    double damp;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "cpu",
            description = "backend that runs the model for the GPTQ calibration: cpu | ort (ONNX Runtime) | cuda (default: ${DEFAULT-VALUE})")
    String backend;

    PrintStream stdout = System.out;

    @Override
    public Integer call() {
        Int4WeightOnly.Method m = switch (method.toLowerCase(Locale.ROOT)) {
            case "gptq" -> Int4WeightOnly.Method.GPTQ;
            case "rtn" -> Int4WeightOnly.Method.RTN;
            case "awq" -> Int4WeightOnly.Method.AWQ;
            default -> throw new ModelException("unknown --method '" + method + "' (gptq, rtn, awq)");
        };
        if (batchSize < 1) throw new ModelException("--batch-size must be positive");
        if (m != Int4WeightOnly.Method.RTN && calib == null && !textData.given()) {
            throw new ModelException("--method " + method.toLowerCase(Locale.ROOT) + " needs calibration data: --calib DATA or --text FILE (or use --method rtn)");
        }
        if (calib != null && textData.given()) throw new ModelException("give --calib or --text, not both");
        if (!Files.isRegularFile(model)) throw new ModelException("model file not found: " + model);
        Graph g = QuantData.upgradeOpset(OnnxImporter.load(model), 21, stdout);
        List<Map<String, Tensor>> data;
        if (textData.given()) {
            List<io.condense.data.text.TextBatch> b = textData.batches(g, model, batchSize, samples);
            stdout.println(textData.describe(b));
            data = io.condense.data.text.TextData.feeds(g, b);
        } else {
            data = calib == null ? null : QuantData.calibration(g, calib, batchSize, samples);
        }
        Int4WeightOnly.Config cfg = Int4WeightOnly.Config.of(group, m).withSymmetric(symmetric && !asymmetric).withCalibrationSamples(samples).withDamp(damp);
        Int4WeightOnly pass = new Int4WeightOnly(cfg, data, stdout, io.condense.backend.Backends.get(backend));
        Graph q = pass.apply(g);
        OnnxExporter.save(q, out);
        long before = 0, after = 0;
        for (Int4WeightOnly.LayerReport r : pass.reports()) {
            before += r.floatBytes();
            after += r.quantBytes();
        }
        stdout.printf(Locale.ROOT, "quantized %d weights: %d -> %d bytes (%.2fx); model %d -> %d bytes%n", pass.reports().size(), before, after,
                (double) before / Math.max(1, after), sizeOf(model), sizeOf(out));
        stdout.println("saved " + out);
        return 0;
    }

    private static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (java.io.IOException e) {
            return -1;
        }
    }
}
