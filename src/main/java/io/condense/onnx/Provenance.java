package io.condense.onnx;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.Properties;

/**
 * The provenance every model condense writes carries in its ONNX {@code metadata_props}: which condense version made
 * it, from which input (SHA-256), by which method, with which config and seed. Each stage appends one entry to the
 * JSON array under {@link #HISTORY}, so a model that was pruned, then quantized, shows both steps in order; the
 * last stage's fields are also written as flat keys ({@code condense.method}, ...) for tools that read one value.
 */
public final class Provenance {
    public static final String HISTORY = "condense.history";
    public static final String VERSION = "condense.version";
    public static final String METHOD = "condense.method";
    public static final String CONFIG = "condense.config";
    public static final String SEED = "condense.seed";
    public static final String INPUT_SHA256 = "condense.input_sha256";

    private static final ObjectMapper JSON = new ObjectMapper();

    private Provenance() {}

    /**
     * One stage of a model's history.
     *
     * @param method  what was done, e.g. "quantize/int8-static", "prune/magnitude"
     * @param inputSha256 SHA-256 (hex) of the input model file, or of its serialized bytes; empty if unknown
     * @param config  the stage's settings (a record, a map or any Jackson-serializable value)
     * @param seed    the random seed used, or {@code null} when the stage is deterministic
     * @param extra   further facts worth keeping (data hash, per-layer sparsity, ...); may be empty
     */
    public record Stage(String method, String inputSha256, Object config, Long seed, Map<String, ?> extra) {
        public Stage {
            if (method == null || method.isBlank()) throw new IllegalArgumentException("provenance needs a method");
            inputSha256 = inputSha256 == null ? "" : inputSha256;
            extra = extra == null ? Map.of() : extra;
        }

        public Stage(String method, String inputSha256, Object config, Long seed) {
            this(method, inputSha256, config, seed, Map.of());
        }
    }

    /** Returns {@code g} with {@code stage} appended to its history and the flat keys set to this stage. */
    public static Graph stamp(Graph g, Stage stage) {
        ArrayNode history = history(g);
        ObjectNode e = JSON.createObjectNode();
        e.put("method", stage.method());
        e.put("version", version());
        e.put("input_sha256", stage.inputSha256());
        e.set("config", JSON.valueToTree(stage.config()));
        if (stage.seed() != null) e.put("seed", stage.seed());
        else e.putNull("seed");
        e.put("time", Instant.now().toString());
        if (!stage.extra().isEmpty()) e.set("extra", JSON.valueToTree(stage.extra()));
        history.add(e);
        Graph.Builder b = g.toBuilder();
        b.metadata(HISTORY, history.toString());
        b.metadata(VERSION, version());
        b.metadata(METHOD, stage.method());
        b.metadata(CONFIG, e.get("config").toString());
        b.metadata(SEED, stage.seed() == null ? "" : Long.toString(stage.seed()));
        b.metadata(INPUT_SHA256, stage.inputSha256());
        return b.build();
    }

    /** The stages recorded so far (an empty array for a model condense did not write). */
    public static ArrayNode history(Graph g) {
        String h = g.metadata().get(HISTORY);
        if (h == null || h.isBlank()) return JSON.createArrayNode();
        try {
            var n = JSON.readTree(h);
            return n instanceof ArrayNode a ? a.deepCopy() : JSON.createArrayNode();
        } catch (IOException ex) {
            throw new ModelException("metadata_props '" + HISTORY + "' is not a JSON array: " + ex.getMessage());
        }
    }

    /** SHA-256 of a file's bytes, hex. */
    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = digest();
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new ModelException("cannot read " + file + ": " + e.getMessage());
        }
    }

    /** SHA-256 of bytes, hex. */
    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    /** The condense version Maven filtered into the jar ("unknown" when run from unfiltered classes). */
    public static String version() { return property("version"); }

    /** When this build of condense was made (UTC, from the Maven build), or "unknown". */
    public static String build() { return property("build"); }

    private static String property(String key) {
        Properties p = new Properties();
        try (InputStream in = Provenance.class.getResourceAsStream("/io/condense/cli/version.properties")) {
            if (in != null) p.load(in);
        } catch (IOException ignored) {
            // "unknown" below
        }
        String v = p.getProperty(key, "unknown");
        return v.startsWith("${") ? "unknown" : v;
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
