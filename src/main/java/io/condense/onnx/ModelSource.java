package io.condense.onnx;

import io.condense.ir.Graph;
import io.condense.ir.ModelException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Where a model comes from: an {@code .onnx} file, or a {@code .jar}/{@code .zip} archive holding exactly one
 * {@code .onnx} entry (such as the langchain4j MiniLM Maven jar). The one place that also finds the model's
 * Hugging Face tokenizer: a {@code *tokenizer*.json} entry of the archive, or {@code tokenizer.json} /
 * {@code <stem>-tokenizer.json} / {@code <stem>.tokenizer.json} beside an {@code .onnx} file.
 * {@link OnnxImporter#load(Path)} delegates archives here, so every command accepts a jar with no extra flag.
 */
public final class ModelSource {
    private ModelSource() {}

    /**
     * A loaded model.
     *
     * @param graph          the validated graph
     * @param description    where it came from, e.g. {@code models/x.jar!/all-minilm-l6-v2.onnx}
     * @param bytes          size of the ONNX model bytes
     * @param tokenizerJson  the tokenizer.json found with the model, or null
     * @param tokenizerOrigin where the tokenizer came from, or null
     */
    public record Loaded(Graph graph, String description, long bytes, byte[] tokenizerJson, String tokenizerOrigin) {
        public boolean hasTokenizer() { return tokenizerJson != null; }
    }

    /** True when {@code file} is a zip archive (by its name or its first bytes). */
    public static boolean isArchive(Path file) {
        String n = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".jar") || n.endsWith(".zip")) return true;
        if (n.endsWith(".onnx") || !Files.isRegularFile(file)) return false;
        try (InputStream in = Files.newInputStream(file)) {
            byte[] h = in.readNBytes(4);
            return h.length == 4 && h[0] == 'P' && h[1] == 'K' && h[2] == 3 && h[3] == 4;
        } catch (IOException e) {
            return false;
        }
    }

    /** Loads the model (and finds its tokenizer) from an .onnx file or an archive. */
    public static Loaded load(Path file) {
        if (!Files.exists(file)) throw new ModelException("model file not found: " + file);
        if (isArchive(file)) return fromArchive(file);
        Graph g = OnnxImporter.load(file);
        Path tok = tokenizerBeside(file);
        return new Loaded(g, file.toString(), sizeOf(file), tok == null ? null : ModelFiles.readAll(tok, "tokenizer file"),
                tok == null ? null : tok.toString());
    }

    /** A tokenizer.json found with a model: its bytes and where it came from. */
    public record TokenizerFile(byte[] json, String origin) {}

    /**
     * The tokenizer that comes with {@code model} (a {@code *tokenizer*.json} entry of an archive, or one beside an
     * .onnx file) without loading the model; null when there is none.
     */
    public static TokenizerFile findTokenizer(Path model) {
        if (!Files.exists(model)) throw new ModelException("model file not found: " + model);
        if (isArchive(model)) {
            try (ZipFile z = open(model)) {
                ZipEntry t = tokenizerEntry(z, model, onnxEntry(z, model).getName());
                return t == null ? null : new TokenizerFile(read(z, t), model + "!/" + t.getName());
            } catch (IOException e) {
                throw new ModelException("cannot read " + model + ": " + e.getMessage());
            }
        }
        Path p = tokenizerBeside(model);
        return p == null ? null : new TokenizerFile(ModelFiles.readAll(p, "tokenizer file"), p.toString());
    }

    /** The graph only (what {@link OnnxImporter#load(Path)} returns for an archive). */
    static Graph graphFromArchive(Path file) {
        try (ZipFile z = open(file)) {
            ZipEntry e = onnxEntry(z, file);
            return OnnxImporter.fromBytes(read(z, e), null, file + "!/" + e.getName());
        } catch (IOException e) {
            throw new ModelException("cannot read " + file + ": " + e.getMessage());
        }
    }

    private static Loaded fromArchive(Path file) {
        try (ZipFile z = open(file)) {
            ZipEntry e = onnxEntry(z, file);
            byte[] bytes = read(z, e);
            String what = file + "!/" + e.getName();
            Graph g = OnnxImporter.fromBytes(bytes, null, what);
            ZipEntry t = tokenizerEntry(z, file, e.getName());
            return new Loaded(g, what, bytes.length, t == null ? null : read(z, t), t == null ? null : file + "!/" + t.getName());
        } catch (IOException e) {
            throw new ModelException("cannot read " + file + ": " + e.getMessage());
        }
    }

    private static ZipFile open(Path file) {
        try {
            return new ZipFile(file.toFile());
        } catch (java.util.zip.ZipException e) {
            throw new ModelException(file + " is not a valid jar/zip archive: " + e.getMessage());
        } catch (IOException e) {
            throw new ModelException("cannot read " + file + ": " + e.getMessage());
        }
    }

    private static List<ZipEntry> entries(ZipFile z) {
        List<ZipEntry> l = new ArrayList<>();
        for (Enumeration<? extends ZipEntry> en = z.entries(); en.hasMoreElements(); ) {
            ZipEntry e = en.nextElement();
            if (!e.isDirectory()) l.add(e);
        }
        return l;
    }

    private static ZipEntry onnxEntry(ZipFile z, Path file) {
        List<ZipEntry> onnx = entries(z).stream().filter(e -> e.getName().toLowerCase(Locale.ROOT).endsWith(".onnx")).toList();
        if (onnx.isEmpty()) throw new ModelException(file + " holds no .onnx entry");
        if (onnx.size() > 1) {
            throw new ModelException(file + " holds several .onnx entries (" + String.join(", ", onnx.stream().map(ZipEntry::getName).toList())
                    + "); extract the one you mean and pass that file");
        }
        return onnx.get(0);
    }

    /** The archive's tokenizer json: the one named after the model if several, else the only one, else null. */
    private static ZipEntry tokenizerEntry(ZipFile z, Path file, String onnxName) {
        List<ZipEntry> t = entries(z).stream().filter(e -> {
            String n = baseName(e.getName()).toLowerCase(Locale.ROOT);
            return n.contains("tokenizer") && n.endsWith(".json") && !n.contains("tokenizer_config");
        }).toList();
        if (t.size() <= 1) return t.isEmpty() ? null : t.get(0);
        String stem = baseName(onnxName).replaceFirst("(?i)\\.onnx$", "");
        List<ZipEntry> named = t.stream().filter(e -> baseName(e.getName()).startsWith(stem)).toList();
        if (named.size() == 1) return named.get(0);
        throw new ModelException(file + " holds several tokenizer files (" + String.join(", ", t.stream().map(ZipEntry::getName).toList())
                + "); pass --tokenizer FILE");
    }

    /** tokenizer.json, {@code <stem>-tokenizer.json} or {@code <stem>.tokenizer.json} beside {@code onnx}, or null. */
    public static Path tokenizerBeside(Path onnx) {
        Path dir = onnx.toAbsolutePath().getParent();
        if (dir == null) return null;
        String stem = onnx.getFileName().toString().replaceFirst("(?i)\\.onnx$", "");
        for (String n : List.of(stem + "-tokenizer.json", stem + ".tokenizer.json", "tokenizer.json")) {
            Path p = dir.resolve(n);
            if (Files.isRegularFile(p)) return p;
        }
        return null;
    }

    private static String baseName(String entry) {
        int i = entry.lastIndexOf('/');
        return i < 0 ? entry : entry.substring(i + 1);
    }

    private static byte[] read(ZipFile z, ZipEntry e) throws IOException {
        if (e.getSize() > ModelFiles.MAX_BYTES) throw new ModelException(e.getName() + " is over 2 GiB");
        try (InputStream in = z.getInputStream(e)) {
            return in.readAllBytes();
        }
    }

    private static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

}
