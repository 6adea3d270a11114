package io.condense.cli;

import io.condense.backend.Backend;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.io.Npy;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.TensorCodec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code condense run MODEL --input NAME=FILE ... --output-dir DIR}: runs a model on tensors from files. */
@Command(name = "run", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Run a model on input tensors read from files and write its outputs.",
                "Input files are ONNX TensorProto (.pb) or NumPy (.npy, C order, little-endian); "
                        + "each output is written to DIR/<output name>.pb (or .npy)."},
        footer = {"", "Examples:", "  condense run model.onnx --input x.npy --output-dir out/ --repeat 20",
                "  condense run model.onnx -i input_ids=ids.npy -i attention_mask=mask.pb -o out/"})
final class RunCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "ONNX model file (.onnx).")
    Path model;

    @Option(names = {"-i", "--input"}, paramLabel = "NAME=FILE",
            description = "An input tensor file (.pb or .npy), repeated once per model input. "
                    + "NAME= may be left out when the model has a single input.")
    List<String> inputs = new ArrayList<>();

    @Option(names = {"-o", "--output-dir"}, paramLabel = "DIR",
            description = "Folder for the output tensors (created if needed). Without it outputs are only printed.")
    Path outputDir;

    @Option(names = "--output-format", paramLabel = "pb|npy", defaultValue = "pb",
            description = "File format of the outputs: pb (TensorProto, default) or npy.")
    String outputFormat;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "auto",
            description = "Backend: cpu, ort (ONNX Runtime), cuda, or auto for the best available of cpu/cuda (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "1",
            description = "Run N times; report the first run's latency and the median, min and max of the others "
                    + "(default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--profile",
            description = "Time every node and print the time per op type, summed over the runs after the first.")
    boolean profile;

    @Option(names = "--values", paramLabel = "K", defaultValue = "6",
            description = "How many values of each output to print (default: ${DEFAULT-VALUE}).")
    int values;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (repeat < 1) throw usage("--repeat must be at least 1, got " + repeat);
        if (values < 0) throw usage("--values must not be negative, got " + values);
        if (!outputFormat.equals("pb") && !outputFormat.equals("npy")) {
            throw usage("--output-format must be pb or npy, got '" + outputFormat + "'");
        }
        checkBackend(backend, spec);
        if (outputDir != null && Files.exists(outputDir) && !Files.isDirectory(outputDir)) {
            throw new ModelException("output folder " + outputDir + " exists and is not a folder");
        }
        PrintWriter out = spec.commandLine().getOut();

        Graph g = OnnxImporter.load(model);
        Map<String, Path> files = assignInputs(g);
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        for (Map.Entry<String, Path> e : files.entrySet()) {
            Tensor t = readTensor(e.getValue());
            feeds.put(e.getKey(), t);
            out.printf("input  %s: %s%s  from %s%n", e.getKey(), Fmt.dtype(t.dtype()), Fmt.shape(t.shape()), e.getValue());
        }

        Map<String, Tensor> result = null;
        double[] ms = new double[repeat];
        Session[] opened = new Session[1];
        String backendUsed = open(backend, g, out, opened);
        try (Session s = opened[0]) {
            for (int r = 0; r < repeat; r++) {
                if (profile) s.setProfiling(r > 0 || repeat == 1);
                long t0 = System.nanoTime();
                result = s.run(feeds);
                ms[r] = (System.nanoTime() - t0) / 1e6;
            }
            if (profile) printProfile(out, s.profile());
        }

        java.util.Set<String> used = new java.util.HashSet<>();
        for (Map.Entry<String, Tensor> e : result.entrySet()) {
            Tensor t = e.getValue();
            String where = "";
            if (outputDir != null) {
                String base = fileName(e.getKey());
                for (int k = 2; !used.add(base.toLowerCase(Locale.ROOT)); k++) base = fileName(e.getKey()) + "_" + k;
                Path f = outputDir.resolve(base + "." + outputFormat);
                if (outputFormat.equals("npy")) Npy.write(t, f); else TensorCodec.writePb(t, e.getKey(), f);
                where = "  -> " + f;
            }
            out.printf("output %s: %s%s  %s%s%n", e.getKey(), Fmt.dtype(t.dtype()), Fmt.shape(t.shape()),
                    Fmt.values(t, values), where);
        }
        out.println(latency(ms, backendUsed));
        out.flush();
        return Main.EXIT_OK;
    }

    static void printProfile(PrintWriter out, List<Session.OpTime> prof) {
        if (prof.isEmpty()) {
            out.println("profile: this backend does not report per-op times");
            return;
        }
        long total = prof.stream().mapToLong(Session.OpTime::nanos).sum();
        out.println("profile (time per op type, all profiled runs):");
        for (Session.OpTime t : prof) {
            out.printf(Locale.ROOT, "  %-28s %6d calls %10.3f ms %5.1f%%  %8.1f us/call%n", t.opType(), t.calls(),
                    t.nanos() / 1e6, 100.0 * t.nanos() / Math.max(1, total), t.nanos() / 1e3 / t.calls());
        }
    }

    static String latency(double[] ms, String backend) {
        if (ms.length == 1) return "latency: " + Fmt.millis(ms[0]) + " (1 run, " + backend + ", includes warm-up)";
        double[] rest = Arrays.copyOfRange(ms, 1, ms.length);
        Arrays.sort(rest);
        double median = rest.length % 2 == 1 ? rest[rest.length / 2]
                : (rest[rest.length / 2 - 1] + rest[rest.length / 2]) / 2;
        return String.format(Locale.ROOT, "latency: first run %s; then median %s, min %s, max %s over %d runs (%s)",
                Fmt.millis(ms[0]), Fmt.millis(median), Fmt.millis(rest[0]), Fmt.millis(rest[rest.length - 1]),
                rest.length, backend);
    }

    /** Maps each model input to its file, from {@code --input} values. */
    private Map<String, Path> assignInputs(Graph g) {
        List<String> names = g.inputs().stream().map(ValueInfo::name).toList();
        Map<String, Path> files = new LinkedHashMap<>();
        for (String spec : inputs) {
            int eq = spec.indexOf('=');
            String name;
            String file;
            if (eq > 0 && names.contains(spec.substring(0, eq))) {
                name = spec.substring(0, eq);
                file = spec.substring(eq + 1);
            } else if (names.size() == 1 && (eq < 0 || Files.exists(Path.of(spec)))) {
                name = names.get(0);
                file = spec;
            } else if (eq < 0) {
                throw usage("--input '" + spec + "' needs the form NAME=FILE: the model has " + names.size()
                        + " inputs (" + String.join(", ", names) + ")");
            } else if (eq == 0) {
                throw usage("--input '" + spec + "' has an empty NAME (expected NAME=FILE)");
            } else {
                throw usage("--input '" + spec + "': the model has no input '" + spec.substring(0, eq)
                        + "' (inputs: " + String.join(", ", names) + ")");
            }
            if (file.isEmpty()) throw usage("--input '" + spec + "' has an empty FILE (expected NAME=FILE)");
            if (files.put(name, Path.of(file)) != null) throw usage("input '" + name + "' is given twice");
        }
        for (ValueInfo v : g.inputs()) {
            if (!files.containsKey(v.name())) {
                throw usage("missing --input for model input '" + v.name() + "' (" + Fmt.type(v.type()) + ")");
            }
        }
        return files;
    }

    /** Reads a .npy or TensorProto .pb file (chosen by extension, else by content). */
    static Tensor readTensor(Path f) {
        String n = f.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".npy")) return Npy.read(f);
        if (n.endsWith(".pb")) return TensorCodec.readPb(f);
        byte[] head = new byte[6];
        int got;
        try (InputStream in = Files.newInputStream(f)) {
            got = in.readNBytes(head, 0, 6);
        } catch (NoSuchFileException e) {
            throw new ModelException("tensor file not found: " + f);
        } catch (IOException e) {
            throw new ModelException("cannot read tensor file " + f + ": " + e.getMessage());
        }
        if (got == 6 && (head[0] & 0xFF) == 0x93 && head[1] == 'N' && head[2] == 'U') return Npy.read(f);
        return TensorCodec.readPb(f);
    }

    /** A file name for an output value: characters other than letters, digits, '.', '-' and '_' become '_'. */
    static String fileName(String output) {
        String s = output.replaceAll("[^A-Za-z0-9._-]", "_");
        if (s.isEmpty() || s.startsWith(".")) s = "_" + s;
        return s;
    }

    /** Rejects a backend name that is neither "auto" nor registered (a usage error). */
    static void checkBackend(String name, CommandSpec spec) {
        if (!name.equals("auto") && Backends.all().stream().noneMatch(b -> b.name().equals(name))) {
            throw new ParameterException(spec.commandLine(), "unknown backend '" + name + "' (known: auto, "
                    + String.join(", ", Backends.all().stream().map(Backend::name).toList()) + ")");
        }
    }

    /**
     * Opens a session on backend {@code name}. For "auto" it tries the available backends best first and falls
     * back to the next one (with a note on {@code out}) when a backend cannot run the graph, e.g. for an op it
     * lacks; the last one's error is reported when none can. Returns the name of the backend used.
     */
    static String open(String name, Graph g, PrintWriter out, Session[] session) {
        if (!name.equals("auto")) {
            Backend b = Backends.get(name);
            session[0] = b.open(g);
            return b.name();
        }
        return openFirst(Backends.all().stream().filter(b -> b.rank() >= 0).toList(), g, out, session);
    }

    /** Opens {@code g} on the first available backend of {@code candidates} (best first) that can run it. */
    static String openFirst(List<Backend> candidates, Graph g, PrintWriter out, Session[] session) {
        List<Backend> available = candidates.stream().filter(Backend::isAvailable).toList();
        if (available.isEmpty()) throw new ModelException("no backend is available");
        for (int i = 0; i < available.size(); i++) {
            Backend b = available.get(i);
            try {
                session[0] = b.open(g);
                return b.name();
            } catch (ModelException e) {
                if (i == available.size() - 1) throw e;
                out.printf("note: the %s backend cannot run this model (%s); trying %s%n", b.name(),
                        Main.oneLine(e.getMessage()), available.get(i + 1).name());
            }
        }
        throw new IllegalStateException("unreachable");
    }

    private ParameterException usage(String msg) { return new ParameterException(spec.commandLine(), msg); }
}
