package io.condense.dataset;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.condense.data.Dataset;
import io.condense.onnx.ModelFiles;
import io.condense.onnx.Provenance;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes a condensed data set: the images as the training split of an IDX folder (plus the source's test split),
 * a PNG grid, the selected indices for coresets, and {@code provenance.json} (condense version, method, config,
 * seed, SHA-256 of the source training images). Every file is written atomically.
 */
public final class SmallSet {
    private SmallSet() {}

    public static final String GRID = "grid.png", INDICES = "indices.txt", PROVENANCE = "provenance.json";

    /**
     * @param indices selected training indices (coresets) or null (synthetic)
     */
    public static void write(Path outDir, Dataset small, int[] indices, Path source, String method, Object config, long seed) {
        ImageData.write(outDir, small, indices == null, source);
        ImageData.writeGrid(outDir.resolve(GRID), small, 20);
        if (indices != null) {
            StringBuilder sb = new StringBuilder();
            for (int i : indices) sb.append(i).append('\n');
            byte[] b = sb.toString().getBytes(StandardCharsets.UTF_8);
            ModelFiles.writeAtomically(outDir.resolve(INDICES), out -> out.write(b));
        }
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("condense.version", Provenance.version());
        p.put("method", method);
        p.put("seed", seed);
        p.put("config", config);
        p.put("source", source == null ? "" : source.toAbsolutePath().toString());
        p.put("source_train_images_sha256", source == null ? "" : Provenance.sha256(ImageData.images(source, ImageData.TRAIN)));
        p.put("images", small.size());
        p.put("time", java.time.Instant.now().toString());
        try {
            byte[] json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(p);
            ModelFiles.writeAtomically(outDir.resolve(PROVENANCE), out -> out.write(json));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new io.condense.ir.ModelException("cannot write provenance: " + e.getMessage());
        }
    }
}
