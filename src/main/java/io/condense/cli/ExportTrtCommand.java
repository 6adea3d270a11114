package io.condense.cli;

import io.condense.export.trt.ShapeProfile;
import io.condense.export.trt.TrtExport;
import io.condense.export.trt.TrtExportConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code export-trt}: build a TensorRT 11 engine from an ONNX model and report each layer's precision (see {@link TrtExport}). */
@Command(name = "export-trt", mixinStandardHelpOptions = true,
        description = {"Build a TensorRT engine (.plan) from an ONNX model and print the engine inspector's per-layer precisions, "
                + "reformat layers and sparse tactics, with a warning naming the layers that defeat INT8 or 2:4 sparsity. "
                + "TensorRT 11 takes each layer's precision from the ONNX: give an FP16 ONNX for an FP16 engine, an FP16+QDQ ONNX for INT8. "
                + "Needs a GPU machine with TensorRT 11; elsewhere it checks the model and the profiles, then says so and exits 1."},
        footer = {"", "Example:", "  condense export-trt minilm-fp16-qdq.onnx --out minilm.plan --shapes input_ids:1x128/8x128/64x128 "
                + "--shapes attention_mask:1x128/8x128/64x128 --timing-cache trt.cache"})
public final class ExportTrtCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL.onnx", description = "the model")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "MODEL.plan", description = "serialized engine (written atomically)")
    Path out;

    @Option(names = "--sparsity", description = "allow 2:4 structured-sparse tactics (the sparse-weights builder flag)")
    boolean sparsity;

    @Option(names = "--workspace", paramLabel = "MB", defaultValue = "0", description = "workspace memory limit in MiB (default: TensorRT's)")
    long workspaceMb;

    @Option(names = "--shapes", paramLabel = "NAME:MIN/OPT/MAX", description = "optimization profile of a dynamic input, shapes as 1x128 (repeatable)")
    List<String> shapes = new ArrayList<>();

    @Option(names = "--timing-cache", paramLabel = "FILE", description = "timing cache, read when present and written back")
    Path timingCache;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        List<ShapeProfile> profiles = new ArrayList<>();
        for (String s : shapes) profiles.add(ShapeProfile.parse(s));
        TrtExportConfig cfg = new TrtExportConfig(model, out, sparsity, workspaceMb, profiles, timingCache);
        PrintWriter w = spec.commandLine().getOut();
        PrintStream ps = new PrintStream(new java.io.OutputStream() {
            @Override public void write(int b) { w.write(b); }
            @Override public void write(byte[] b, int off, int len) { w.write(new String(b, off, len, java.nio.charset.StandardCharsets.UTF_8)); }
            @Override public void flush() { w.flush(); }
        }, true, java.nio.charset.StandardCharsets.UTF_8);
        TrtExport.Result r = TrtExport.export(cfg, ps);
        ps.printf("wrote %s: %d bytes%n", out, r.engineBytes());
        ps.flush();
        return 0;
    }
}
