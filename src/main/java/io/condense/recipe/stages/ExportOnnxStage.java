package io.condense.recipe.stages;

import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.recipe.Stage;
import io.condense.recipe.StageContext;

/** {@code export-onnx}: the file name the final model is written to in the output folder (default model.onnx). */
public final class ExportOnnxStage implements Stage<ExportOnnxStage.Config> {
    /** @param file file name inside the output folder */
    public record Config(String file) {
        public Config {
            file = file == null ? "model.onnx" : file;
            if (file.isBlank() || file.contains("/") || file.contains("\\") || !file.endsWith(".onnx")) {
                throw new IllegalArgumentException("file must be a plain file name ending in .onnx, got '" + file + "'");
            }
        }
    }

    @Override public String name() { return "export-onnx"; }

    @Override public Class<Config> configType() { return Config.class; }

    @Override public Config defaults() { return new Config(null); }

    @Override public boolean transforms() { return false; }

    @Override
    public Graph apply(StageContext ctx, Graph input, Config c) {
        if (input.nodes().isEmpty()) throw new ModelException("nothing to export: the model has no nodes");
        ctx.fact("export", c.file());
        return input;
    }
}
