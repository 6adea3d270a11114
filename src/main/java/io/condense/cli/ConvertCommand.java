package io.condense.cli;

import io.condense.ir.Graph;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import io.condense.passes.FloatConversion;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code convert}: float32 -> float16 / bfloat16 ({@link FloatConversion}), for ONNX Runtime, TensorRT and the CPU backend. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Convert a model's float32 weights and computation to float16 or bfloat16 (half the file size). "
                + "Decomposed LayerNorm chains stay in float32, float32 inputs and outputs keep their type (Casts at the borders); "
                + "a QDQ INT8 model keeps its INT8 parts and gets float16 scales (opset raised to 21 when below 19). "
                + "TensorRT 11 takes each layer's precision from the ONNX file: this is how to get an FP16 engine."},
        footer = {"", "Examples:", "  condense convert minilm.jar --float fp16 -o minilm-fp16.onnx",
                "  condense convert model-int8.onnx --float fp16 -o model-int8-fp16.onnx   # the float parts of a QDQ model",
                "  condense convert model.onnx --float bf16 --keep-op Softmax -o model-bf16.onnx"})
public final class ConvertCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "input ONNX model (.onnx, or a jar/zip holding one)")
    Path model;

    @Option(names = "--float", required = true, paramLabel = "TYPE", description = "fp16 | bf16")
    String target;

    @Option(names = "--keep-op", split = ",", paramLabel = "OP", description = "op types to keep in float32, besides the random generators "
            + "(e.g. QuantizeLinear for ONNX Runtime's CPU provider, whose float16 QuantizeLinear truncates instead of rounding)")
    List<String> keepOps;

    @Option(names = "--keep-node", split = ",", paramLabel = "NODE", description = "node names to keep in float32")
    List<String> keepNodes = List.of();

    @Option(names = "--low-precision-io", description = "also convert float32 graph inputs and outputs (default: they stay float32)")
    boolean lowIo;

    @Option(names = "--no-layernorm-islands", description = "convert decomposed LayerNorm chains too (default: float32)")
    boolean noLayerNorm;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "OUT.onnx", description = "output model (written atomically)")
    Path out;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** The pass config these options describe. */
    static FloatConversion.Config config(String target, List<String> keepOps, List<String> keepNodes, boolean lowIo, boolean noLayerNorm) {
        FloatConversion.Config c = FloatConversion.Config.of(FloatConversion.Target.parse(target));
        if (keepOps != null) {
            Set<String> ops = new LinkedHashSet<>(FloatConversion.DEFAULT_KEEP_OPS);
            ops.addAll(keepOps);
            c = c.withKeepOps(ops);
        }
        return c.withKeepNodes(Set.copyOf(keepNodes)).withKeepIo(!lowIo).withKeepLayerNorm(!noLayerNorm);
    }

    @Override
    public Integer call() {
        PrintWriter o = spec.commandLine().getOut();
        FloatConversion.Config cfg = config(target, keepOps, keepNodes, lowIo, noLayerNorm);
        long t0 = System.nanoTime();
        Graph g = OnnxImporter.load(model);
        Graph q = convert(g, cfg, Provenance.sha256(model), o);
        OnnxExporter.save(q, out);
        // a model inside a jar/zip: compare with the model itself, not the compressed archive
        long before = io.condense.onnx.ModelSource.isArchive(model) ? OnnxExporter.toBytes(g).length : size(model), after = size(out);
        o.printf(Locale.ROOT, "wrote %s: %d bytes (input model %d bytes, %.2fx smaller) in %.1f s%n", out, after, before, (double) before / after,
                (System.nanoTime() - t0) / 1e9);
        o.flush();
        return 0;
    }

    /** Runs the pass, prints its summary and stamps provenance (shared with {@code quantize --float}). */
    static Graph convert(Graph g, FloatConversion.Config cfg, String inputSha, PrintWriter o) {
        for (String n : cfg.keepNodes()) {
            if (g.nodes().stream().noneMatch(x -> x.name().equals(n))) throw new io.condense.ir.ModelException("--keep-node: no node named '" + n + "' in the model");
        }
        FloatConversion p = new FloatConversion(cfg);
        Graph q = p.apply(g);
        o.println("converted to " + p.summary().format());
        return Provenance.stamp(q, new Provenance.Stage("convert/" + cfg.target().cliName(), inputSha, cfg, null));
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (java.io.IOException e) {
            return -1;
        }
    }
}
