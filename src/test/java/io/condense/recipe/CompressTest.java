package io.condense.recipe;

import io.condense.cli.CliRun;

import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import io.condense.OrtTestSupport;
import io.condense.TestData;
import io.condense.data.Dataset;
import io.condense.data.Mnist;
import io.condense.data.Preprocessing;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import io.condense.quant.CalibrationData;
import io.condense.report.Report;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code condense compress} end to end on mnist-8 (pixels 0..255) with a small INT8 search recipe: the metrics the
 * report gives are checked against ONNX Runtime's accuracy on the written models, provenance, resume, the time
 * budget, the pixel-range check, and the HTML report rendered in headless Chromium.
 */
class CompressTest {
    static final int EVAL = 100;
    static final String RECIPE = """
            name: small-int8
            search: {max_relative_drop: 0.01, exhaustive: true, latency_repeats: 1}
            data: {calibration_batches: 16, eval_samples: %d}
            stages:
              - quantize:
                  calibrator: [minmax, entropy]
                  keep_float: [0, 1]
              - benchmark: {repeats: 2}
              - report
            """.formatted(EVAL);

    @TempDir
    static Path tmp;
    static Path model, mnist, out, recipe;
    static String firstLog;

    static CliRun cli(String... args) { return CliRun.of(args); }

    @BeforeAll
    static void compress() throws Exception {
        model = TestData.require("onnx/models/mnist-8/model.onnx");
        mnist = TestData.require("mnist");
        io.condense.train.Threads.auto();
        recipe = tmp.resolve("recipe.yaml");
        Files.writeString(recipe, RECIPE);
        out = tmp.resolve("out");
        CliRun r = cli("compress", model.toString(), "--recipe", recipe.toString(), "--data", mnist.toString(), "--scale", "1", "--out", out.toString());
        assertEquals(0, r.rc(), () -> r.out() + r.err());
        firstLog = r.out();
    }

    /** ONNX Runtime's top-1 accuracy of a model file on the first {@link #EVAL} test images (pixels 0..255). */
    static double ortAccuracy(Path onnx) throws Exception {
        Graph g = OnnxImporter.load(onnx);
        Dataset d = Mnist.load(mnist, false, 1f).head(EVAL);
        int[] labels = d.labels();
        int seen = 0, correct = 0;
        try (OrtSession s = OrtTestSupport.session(Files.readAllBytes(onnx), 1, OrtSession.SessionOptions.OptLevel.ALL_OPT)) {
            for (Map<String, Tensor> feed : CalibrationData.fromDataset(g.inputs().get(0), d, 1, 0)) {
                Tensor y = OrtTestSupport.run(s, feed).values().iterator().next();
                int best = 0;
                for (int c = 1; c < y.size(); c++) if (y.getDouble(c) > y.getDouble(best)) best = c;
                if (best == labels[seen++]) correct++;
            }
        }
        return (double) correct / seen;
    }

    @Test
    void reportedMetricsMatchOnnxRuntimeOnTheWrittenModel() throws Exception {
        JsonNode rep = Report.read(out.resolve("report.json"));
        assertEquals(5, rep.get("candidates").size(), "input + 2 calibrators x 2 keep_float values");
        double in = rep.get("before").get("metric").asDouble(), outMetric = rep.get("after").get("metric").asDouble();
        assertEquals(ortAccuracy(model), in, 1e-12, "input accuracy vs ONNX Runtime on the same images");
        // the written INT8 QDQ model through ORT: at most one of 200 images may flip (ORT fuses QDQ into integer kernels)
        assertEquals(ortAccuracy(out.resolve("model.onnx")), outMetric, 1.0 / EVAL + 1e-12);
        assertTrue(outMetric >= rep.get("floor").asDouble());
        assertEquals(in * 0.99, rep.get("floor").asDouble(), 1e-12);
        assertTrue(rep.get("after").get("size_bytes").asLong() < rep.get("before").get("size_bytes").asLong() / 2, "INT8 is less than half the size");
        assertTrue(Files.size(out.resolve("model.onnx")) == rep.get("after").get("size_bytes").asLong());
        assertFalse(rep.get("pareto_size").isEmpty());
        assertTrue(rep.get("sensitivity").size() >= 2, "per-layer sensitivity recorded");
        assertTrue(rep.get("after").get("layers").toString().contains("\"precision\":\"int8\""));
        assertTrue(rep.get("benchmark").get("median_ms").asDouble() > 0);
        assertTrue(firstLog.contains("wrote " + out.resolve("model.onnx")), firstLog);
    }

    /** The Java API the CLI uses: same recipe and folder, so the finished stage is reused, and the result carries paths, metrics and candidates. */
    @Test
    void javaApi() {
        CompressResult r = io.condense.api.Condense.compressor(null, true).run(model, io.condense.api.Condense.recipe(RECIPE),
                io.condense.api.Condense.images(mnist, 1), out);
        assertEquals(out.resolve("model.onnx"), r.model());
        assertEquals(out.resolve("report.html"), r.reportHtml());
        assertEquals("accuracy", r.metricName());
        assertEquals(5, r.candidates().size());
        assertTrue(r.compressionRatio() > 2, "INT8 is over 2x smaller: " + r.compressionRatio());
        assertTrue(r.output().valid() && r.output().chosen());
        assertEquals(Report.read(out.resolve("report.json")).get("after").get("metric").asDouble(), r.output().metric(), 0);
    }

    @Test
    void provenanceAndPreprocessingAreInTheModel() {
        Graph g = OnnxImporter.load(out.resolve("model.onnx"));
        JsonNode h = Provenance.history(g);
        JsonNode last = h.get(h.size() - 1);
        assertEquals("quantize/int8-static", last.get("method").asText());
        assertEquals(Provenance.sha256(model), last.get("input_sha256").asText());
        assertEquals("small-int8", last.get("config").get("recipe").asText());
        assertEquals(Provenance.sha256(RECIPE.getBytes(java.nio.charset.StandardCharsets.UTF_8)), last.get("config").get("recipe_sha256").asText());
        assertTrue(last.get("config").get("settings").has("calibrator"));
        assertEquals(0, last.get("seed").asLong());
        assertEquals(1.0, Preprocessing.of(g).orElseThrow().pixelScale(), 0);
        assertTrue(Files.isRegularFile(out.resolve("stages/01-quantize/stage.json")));
        assertTrue(Files.isRegularFile(out.resolve("stages/01-quantize/model.onnx")));
    }

    @Test
    void rerunSkipsUnchangedStages() throws Exception {
        Path stage = out.resolve("stages/01-quantize/stage.json");
        long before = Files.getLastModifiedTime(stage).toMillis();
        String json = Files.readString(stage);
        CliRun r = cli("compress", model.toString(), "--recipe", recipe.toString(), "--data", mnist.toString(), "--scale", "1", "--out", out.toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("stage 1 quantize: inputs unchanged, reusing"), r.out());
        assertEquals(json, Files.readString(stage));
        assertEquals(before, Files.getLastModifiedTime(stage).toMillis());
        assertEquals(5, Report.read(out.resolve("report.json")).get("candidates").size(), "the reused stage's candidates are reported");
    }

    @Test
    void spentBudgetStillWritesTheBestValidModel() {
        Path o = tmp.resolve("budget");
        CliRun r = cli("compress", model.toString(), "--recipe", recipe.toString(), "--data", mnist.toString(), "--scale", "1", "--out", o.toString(),
                "--budget", "0.001");
        assertEquals(0, r.rc(), r.out() + r.err());
        JsonNode rep = Report.read(o.resolve("report.json"));
        assertTrue(rep.get("budget_exhausted").asBoolean());
        assertEquals(2, rep.get("candidates").size(), "input + the one candidate the budget allowed");
        assertTrue(rep.get("notes").toString().contains("time budget of 0 s spent during stage 1 quantize after 1 of 4 candidates"), rep.get("notes").toString());
        assertTrue(Files.isRegularFile(o.resolve("model.onnx")));
    }

    /** prune: the sparsest level that meets the floor is kept; the written model's zeros and accuracy are checked independently. */
    @Test
    void pruneKeepsTheSparsestValidLevel() throws Exception {
        Path r = tmp.resolve("prune.yaml");
        Files.writeString(r, """
                search: {max_relative_drop: 0.02, latency_repeats: 0}
                data: {eval_samples: %d}
                stages:
                  - prune: {sparsity: [0.3, 0.95, 0.6]}
                """.formatted(EVAL));
        Path o = tmp.resolve("pruned");
        CliRun run = cli("compress", model.toString(), "--recipe", r.toString(), "--data", mnist.toString(), "--scale", "1", "--out", o.toString());
        assertEquals(0, run.rc(), run.out() + run.err());
        JsonNode rep = Report.read(o.resolve("report.json"));
        JsonNode cands = rep.get("candidates");
        assertTrue(cands.get(1).get("label").asText().contains("sparsity=0.95"), "highest sparsity first: " + cands);
        JsonNode chosen = null;
        for (JsonNode c : cands) if (c.get("chosen").asBoolean() && c.get("stage").asInt() == 0) chosen = c;
        assertNotNull(chosen, cands.toString());
        double level = Double.parseDouble(chosen.get("label").asText().replaceAll(".*sparsity=([0-9.]+).*", "$1"));
        for (JsonNode c : cands) {
            if (c.get("stage").asInt() != 0) continue;
            double l = Double.parseDouble(c.get("label").asText().replaceAll(".*sparsity=([0-9.]+).*", "$1"));
            if (l > level) assertFalse(c.get("valid").asBoolean(), "a sparser valid level would have been kept: " + c);
        }
        assertEquals(ortAccuracy(o.resolve("model.onnx")), chosen.get("metric").asDouble(), 1e-12, "reported accuracy vs ONNX Runtime");
        Graph g = OnnxImporter.load(o.resolve("model.onnx"));
        long zeros = 0, total = 0;
        for (var l : io.condense.report.LayerTable.of(g)) {
            total += l.parameters();
            zeros += Math.round(l.sparsity() * l.parameters());
        }
        assertTrue(zeros >= 0.9 * level * total, "weights really zero: " + zeros + "/" + total + " at level " + level);
        assertTrue(Provenance.history(g).toString().contains("prune/magnitude-layer"));
    }

    @Test
    void wrongPixelRangeIsCaught() {
        CliRun r = cli("compress", model.toString(), "--preset", "int8", "--data", mnist.toString(), "--out", tmp.resolve("wrong").toString());
        assertEquals(1, r.rc());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("condense: error: the model records no pixel range and scores about the same with pixel scale 1/255")
                && r.err().contains("pass it explicitly: --scale 1 (0..255)"), r.err());
        assertFalse(Files.exists(tmp.resolve("wrong/model.onnx")));
    }

    /** Renders report.html in headless Chromium: the page loads, every image decodes, the screenshot is not blank. */
    @Test
    void reportRendersInHeadlessChromium() throws Exception {
        Path html = out.resolve("report.html");
        assertTrue(Files.size(html) > 10_000);
        String page = Files.readString(html);
        assertFalse(page.contains("http://") || page.contains("https://"), "self-contained: no external resources");
        String chromium = null;
        for (String c : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")) if (Files.isExecutable(Path.of(c))) chromium = c;
        assumeTrue(chromium != null, "chromium not installed (apt-get install chromium): skipping the rendering check");
        Path profile = Files.createDirectories(tmp.resolve("chrome-profile"));
        List<String> base = List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=" + profile);
        Path dom = tmp.resolve("dom.html");
        Process p = new ProcessBuilder(concat(base, "--virtual-time-budget=5000", "--dump-dom", html.toUri().toString()))
                .redirectOutput(dom.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium --dump-dom timed out");
        String d = Files.readString(dom);
        int images = page.split("<img ", -1).length - 1;
        assertTrue(images >= 3, "accuracy vs size, accuracy vs latency, sensitivity");
        assertTrue(d.contains("data-images-loaded=\"" + images + "/" + images + "\""), "every image decoded: " + d.replaceAll("(?s).*(data-images-loaded=\"[^\"]*\").*", "$1"));
        Path shot = tmp.resolve("shot.png");
        Process s = new ProcessBuilder(concat(base, "--window-size=1200,2400", "--screenshot=" + shot, html.toUri().toString()))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(s.waitFor(120, TimeUnit.SECONDS), "chromium --screenshot timed out");
        BufferedImage img = ImageIO.read(shot.toFile());
        assertNotNull(img, "screenshot written");
        Set<Integer> colors = new HashSet<>();
        long nonWhite = 0;
        for (int y = 0; y < img.getHeight(); y += 2) {
            for (int x = 0; x < img.getWidth(); x += 2) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                colors.add(rgb);
                if (rgb != 0xffffff) nonWhite++;
            }
        }
        double frac = nonWhite / (img.getWidth() * img.getHeight() / 4.0);
        assertTrue(colors.size() > 50 && frac > 0.02, "screenshot is not blank: " + colors.size() + " colors, " + frac + " non-white");
        Files.copy(shot, Path.of("target", "compress-report-screenshot.png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING); // to look at
    }

    static String[] concat(List<String> a, String... b) {
        String[] r = a.toArray(new String[0]);
        String[] out = java.util.Arrays.copyOf(r, r.length + b.length);
        System.arraycopy(b, 0, out, r.length, b.length);
        return out;
    }
}
