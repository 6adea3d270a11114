package io.condense.export.trt;

import io.condense.ir.ModelException;
import io.condense.onnx.ModelFiles;

import java.io.PrintStream;
import java.nio.file.Files;
import java.util.List;

/**
 * Builds a TensorRT 11 engine from an ONNX file: {@link OnnxPreparation} (model, shape profiles, precision and 2:4
 * checks: runs everywhere), then the native build ({@link TrtLibraries} must load), the engine written atomically, the
 * timing cache persisted, and the engine inspector's per-layer {@link EngineReport}.
 */
public final class TrtExport {
    private TrtExport() {}

    /** The build's outcome. */
    public record Result(OnnxPreparation preparation, EngineReport report, long engineBytes, String inspectorJson, boolean sparsity) {
        /** Warnings of the preparation and of the engine report. */
        public List<String> warnings() {
            List<String> w = new java.util.ArrayList<>(preparation.warnings());
            w.addAll(report.warnings(preparation.qdqNodes() > 0, preparation.sparseWeights().keySet(), sparsity));
            return w;
        }
    }

    /**
     * @param progress the preparation summary and the report go here; null for none
     * @throws ModelException for a bad model or profile, missing TensorRT libraries (one line) or a failed build
     */
    public static Result export(TrtExportConfig cfg, PrintStream progress) {
        OnnxPreparation prep = OnnxPreparation.of(cfg);
        if (progress != null) {
            progress.println(prep.summary());
            for (String w : prep.warnings()) progress.println("warning: " + w);
        }
        String why = TrtLibraries.reason();
        if (!why.isEmpty()) throw new ModelException(why);
        byte[] cache = null;
        if (cfg.timingCache() != null && Files.isRegularFile(cfg.timingCache())) cache = ModelFiles.readAll(cfg.timingCache(), "timing cache");
        TrtEngineBuilder.Built b = TrtEngineBuilder.build(cfg, prep, cache);
        ModelFiles.writeAtomically(cfg.out(), os -> os.write(b.engine()));
        if (cfg.timingCache() != null && b.timingCache() != null) ModelFiles.writeAtomically(cfg.timingCache(), os -> os.write(b.timingCache()));
        EngineReport r = EngineReport.parse(b.inspectorJson());
        if (progress != null) r.print(progress, prep.qdqNodes() > 0, prep.sparseWeights().keySet(), cfg.sparsity());
        return new Result(prep, r, b.engine().length, b.inspectorJson(), cfg.sparsity());
    }
}
