package io.condense.export.trt;

import io.condense.ir.ModelException;

import java.nio.file.Path;
import java.util.List;

/**
 * Settings of one engine build.
 *
 * @param model        the ONNX model (FP16 ONNX for an FP16 engine, FP16+QDQ for INT8: TensorRT 11 takes each
 *                     layer's precision from the file, there are no FP16/INT8 builder switches)
 * @param out          the serialized engine (.plan), written atomically
 * @param sparsity     set the sparse-weights builder flag (2:4 structured sparse tactics where weights allow)
 * @param workspaceMb  workspace memory-pool limit, MiB (0: TensorRT's default, the device memory)
 * @param shapes       optimization profile (one range per dynamic input)
 * @param timingCache  timing cache file, read when present and written back after the build; null for none
 */
public record TrtExportConfig(Path model, Path out, boolean sparsity, long workspaceMb, List<ShapeProfile> shapes, Path timingCache) {
    public TrtExportConfig {
        if (model == null) throw new ModelException("export-trt: no model given");
        if (out == null) throw new ModelException("export-trt: --out is required");
        if (workspaceMb < 0) throw new ModelException("--workspace must be >= 0 MiB, got " + workspaceMb);
        shapes = shapes == null ? List.of() : List.copyOf(shapes);
    }
}
