package io.condense.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.condense.OrtReference;
import io.condense.TensorAssert;
import io.condense.TestData;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.Half;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.TensorCodec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Latency of condense's CPU executor against ONNX Runtime Java (CPU execution provider, intra-op threads = cores)
 * on the same model and inputs: warm-up runs, then timed runs of each, reporting median and p90 and the ratio
 * condense/ORT. Also reports the max-abs difference of the outputs, so a fast wrong answer does not go unnoticed.
 *
 * <p>Usage: {@code benchmarks/run.sh [--reps N] [--warmup N] [--threads N] [--seq N] [MODEL.onnx ...]}. Without
 * models it runs mnist-8 (from the shared data) and all-MiniLM-L6-v2 (from its Maven jar) at sequence length 128.
 */
public final class Benchmark {
    record Stats(double median, double p90, double min) {}

    record Row(String model, String input, Stats condense, Stats ort, Stats unoptimized, double maxAbs, String error) {}

    private int reps = 30;
    private int warmup = 5;
    private int threads = Runtime.getRuntime().availableProcessors();
    private int seq = 128;
    private boolean baseline;
    private boolean profile;

    public static void main(String[] args) throws Exception {
        // ONNX Runtime's native initialization overflows the default 1 MiB main-thread stack when the class path
        // is long (seen as a bare SIGSEGV): run on a thread with a large stack
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(null, () -> {
            try {
                new Benchmark().run(args);
            } catch (Throwable e) {
                failure[0] = e;
            }
        }, "benchmark", 64L << 20);
        t.start();
        t.join();
        if (failure[0] instanceof Exception e) throw e;
        if (failure[0] instanceof Error e) throw e;
    }

    private void run(String[] args) throws Exception {
        List<Path> models = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--seq" -> seq = Integer.parseInt(args[++i]);
                case "--baseline" -> baseline = true;
                case "--profile" -> profile = true;
                case "-h", "--help" -> {
                    System.out.println("usage: benchmarks/run.sh [--reps N] [--warmup N] [--threads N] [--seq N] [--baseline] [--profile] [MODEL.onnx ...]");
                    return;
                }
                default -> models.add(Path.of(args[i]));
            }
        }
        if (reps < 20) throw new IllegalArgumentException("--reps must be at least 20 for a meaningful p90");
        List<String[]> jobs = new ArrayList<>();
        if (models.isEmpty()) {
            Path root = TestData.root();
            Path mnist = root == null ? null : root.resolve("onnx/models/mnist-8/model.onnx");
            if (mnist != null && Files.exists(mnist)) jobs.add(new String[] {"mnist-8", mnist.toString()});
            else System.out.println("mnist-8 skipped: shared data not found (../shared/data or -Dcondense.data=DIR)");
            Path minilm = TestData.miniLm();
            if (minilm != null) jobs.add(new String[] {"all-MiniLM-L6-v2", minilm.toString()});
            else System.out.println("MiniLM skipped: all-minilm-l6-v2.onnx not on the class path");
        } else {
            for (Path m : models) {
                String n = m.getFileName().toString();
                if (n.equals("model.onnx") && m.toAbsolutePath().getParent() != null) {
                    n = m.toAbsolutePath().getParent().getFileName() + "/" + n;
                }
                jobs.add(new String[] {n, m.toString()});
            }
        }

        System.out.printf(Locale.ROOT, "condense CPU executor vs ONNX Runtime %s (CPU), %d threads each, %d warm-up + %d timed runs, %s%n",
                OrtEnvironment.getEnvironment().getVersion(), threads, warmup, reps, cpuName());
        System.out.printf("OMP_WAIT_POLICY=%s OMP_NUM_THREADS=%s%n", System.getenv().getOrDefault("OMP_WAIT_POLICY", "(unset)"),
                System.getenv().getOrDefault("OMP_NUM_THREADS", "(unset)"));
        double load = loadAverage();
        if (load >= 0) {
            System.out.printf(Locale.ROOT, "load average at start: %.1f on %d cores%s%n", load,
                    Runtime.getRuntime().availableProcessors(), load > Runtime.getRuntime().availableProcessors() * 0.5
                            ? " (busy machine: latencies, especially ND4J's OpenMP ops, will be inflated and noisy)" : "");
        }
        List<Row> rows = new ArrayList<>();
        for (String[] j : jobs) {
            Row r;
            try {
                r = bench(j[0], Path.of(j[1]));
            } catch (Exception e) {
                r = new Row(j[0], "-", null, null, null, Double.NaN, "benchmark failed: "
                        + String.valueOf(e.getMessage()).lines().findFirst().orElse(e.getClass().getSimpleName()));
            }
            rows.add(r);
            System.out.println("  done: " + r.model() + (r.error() == null ? "" : " (" + r.error() + ")"));
        }
        System.out.println();
        String fmt = "%-26s %-30s %12s %12s %12s %12s %9s %9s %10s" + (baseline ? " %14s %9s" : "") + "%n";
        List<Object> head = new ArrayList<>(List.of("model", "input", "condense p50", "condense min", "ORT p50", "ORT min",
                "ratio p50", "ratio min", "max |diff|"));
        if (baseline) head.addAll(List.of("unoptimized p50", "ratio p50"));
        System.out.printf(Locale.ROOT, fmt, head.toArray());
        for (Row r : rows) {
            String c50 = r.condense() == null ? "-" : ms(r.condense().median());
            String cmin = r.condense() == null ? "-" : ms(r.condense().min());
            String o50 = r.ort() == null ? "-" : ms(r.ort().median());
            String omin = r.ort() == null ? "-" : ms(r.ort().min());
            String ratio = r.condense() == null || r.ort() == null ? "-"
                    : String.format(Locale.ROOT, "%.2fx", r.condense().median() / r.ort().median());
            String ratioMin = r.condense() == null || r.ort() == null ? "-"
                    : String.format(Locale.ROOT, "%.2fx", r.condense().min() / r.ort().min());
            String diff = Double.isNaN(r.maxAbs()) ? "-" : String.format(Locale.ROOT, "%.2g", r.maxAbs());
            List<Object> cells = new ArrayList<>(List.of(r.model(), r.input(), c50, cmin, o50, omin, ratio, ratioMin, diff));
            if (baseline) {
                cells.add(r.unoptimized() == null ? "-" : ms(r.unoptimized().median()));
                cells.add(r.unoptimized() == null || r.ort() == null ? "-"
                        : String.format(Locale.ROOT, "%.2fx", r.unoptimized().median() / r.ort().median()));
            }
            System.out.printf(Locale.ROOT, fmt, cells.toArray());
            if (r.error() != null) System.out.println("    " + (r.error().startsWith("benchmark failed") ? "" : "condense failed: ") + r.error());
        }
        System.out.println("ratio = condense / ORT (lower is better; 1.00x = parity); the engines run alternately, one run each per"
                + " repetition, so load changes hit both" + (baseline ? "; unoptimized = condense with -Dcondense.optimize=false"
                + " (no graph rewrites at session open), in the same rotation" : ""));
    }

    private Row bench(String name, Path model) throws Exception {
        byte[] bytes = Files.readAllBytes(model);
        Graph g = OnnxImporter.fromBytes(bytes, model.toAbsolutePath().getParent(), model.toString());
        Map<String, Tensor> feeds = inputs(g, model);
        String desc = describe(feeds);

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setIntraOpNumThreads(threads);
        o.setInterOpNumThreads(1);
        Map<String, OnnxTensor> in = new HashMap<>();
        Session cs = null, us = null;
        try (OrtSession s = env.createSession(bytes, o)) {
            for (Map.Entry<String, Tensor> e : feeds.entrySet()) in.put(e.getKey(), OrtReference.toOrt(e.getValue()));
            Map<String, Tensor> ortOut = new LinkedHashMap<>();
            try (OrtSession.Result r = s.run(in)) {
                for (Map.Entry<String, OnnxValue> e : r) ortOut.put(e.getKey(), OrtReference.fromOrt((OnnxTensor) e.getValue()));
            }
            String err = null;
            try {
                cs = Backends.cpu().open(g);
                if (baseline) {
                    String prev = System.getProperty("condense.optimize");
                    System.setProperty("condense.optimize", "false");
                    try {
                        us = Backends.cpu().open(g);
                    } finally {
                        if (prev == null) System.clearProperty("condense.optimize");
                        else System.setProperty("condense.optimize", prev);
                    }
                }
            } catch (RuntimeException e) {
                err = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            }
            double[] to = new double[reps], tc = new double[reps], tu = new double[reps];
            Map<String, Tensor> out = null;
            for (int i = 0; i < warmup + reps; i++) {
                if (profile && cs != null && i == warmup) cs.setProfiling(true);
                long t0 = System.nanoTime();
                try (OrtSession.Result r = s.run(in)) {
                    if (i >= warmup) to[i - warmup] = (System.nanoTime() - t0) / 1e6;
                }
                if (err != null) continue;
                try {
                    // with --baseline the two condense sessions swap places every repetition (a run right after
                    // another engine's run can be slower: caches, sleeping OpenMP threads)
                    boolean unoptFirst = us != null && (i & 1) == 1;
                    if (unoptFirst) {
                        t0 = System.nanoTime();
                        us.run(feeds);
                        if (i >= warmup) tu[i - warmup] = (System.nanoTime() - t0) / 1e6;
                    }
                    t0 = System.nanoTime();
                    out = cs.run(feeds);
                    if (i >= warmup) tc[i - warmup] = (System.nanoTime() - t0) / 1e6;
                    if (us != null && !unoptFirst) {
                        t0 = System.nanoTime();
                        us.run(feeds);
                        if (i >= warmup) tu[i - warmup] = (System.nanoTime() - t0) / 1e6;
                    }
                } catch (RuntimeException e) {
                    err = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
                }
            }
            if (err != null) return new Row(name, desc, null, stats(to), null, Double.NaN, err);
            if (profile) {
                System.out.println("  condense profile of " + name + " (" + reps + " runs):");
                for (Session.OpTime t : cs.profile()) {
                    System.out.printf(Locale.ROOT, "    %-24s %6d calls %10.3f ms %9.1f us/call%n", t.opType(), t.calls(),
                            t.nanos() / 1e6, t.nanos() / 1e3 / Math.max(1, t.calls()));
                }
            }
            double maxAbs = 0;
            for (Map.Entry<String, Tensor> e : ortOut.entrySet()) {
                Tensor ours = out.get(e.getKey());
                if (ours == null) continue;
                if (e.getValue().dtype() != DType.STRING) maxAbs = Math.max(maxAbs, TensorAssert.maxAbsDiff(e.getValue(), ours));
            }
            return new Row(name, desc, stats(tc), stats(to), us == null ? null : stats(tu), maxAbs, null);
        } finally {
            in.values().forEach(OnnxTensor::close);
            if (cs != null) cs.close();
            if (us != null) us.close();
        }
    }

    /** The staged test_data_set_0 inputs beside the model when present, else seeded random inputs. */
    private Map<String, Tensor> inputs(Graph g, Path model) throws IOException {
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        Path set = model.toAbsolutePath().getParent().resolve("test_data_set_0");
        if (Files.isDirectory(set)) {
            for (int i = 0; i < g.inputs().size(); i++) {
                Path f = set.resolve("input_" + i + ".pb");
                if (!Files.exists(f)) break;
                ValueInfo in = g.inputs().get(i);
                Tensor t = TensorCodec.readPb(f);
                long[] want = concrete(in);
                if (t.rank() != want.length && Tensor.checkedSize(want) == t.size()) t = t.reshape(want);
                feeds.put(in.name(), t);
            }
            if (feeds.size() == g.inputs().size()) return feeds;
            feeds.clear();
        }
        Random r = new Random(42);
        for (ValueInfo in : g.inputs()) {
            long[] shape = concrete(in);
            int n = (int) Tensor.checkedSize(shape);
            DType t = in.type().dtype() == null ? DType.FLOAT32 : in.type().dtype();
            String nm = in.name().toLowerCase(Locale.ROOT);
            Tensor x = Tensor.zeros(t, shape);
            for (int i = 0; i < n; i++) {
                double v;
                if (t.isFloating()) v = r.nextFloat();
                else if (nm.contains("mask")) v = 1;
                else if (nm.contains("type")) v = 0;
                else if (t == DType.BOOL) v = r.nextBoolean() ? 1 : 0;
                else v = r.nextInt((int) Math.min(vocab(g, in.name()), Math.min(t.maxValue(), Integer.MAX_VALUE - 1) + 1));
                if (t == DType.FLOAT16) x.setDouble(i, Half.toFloat(Half.fromFloat((float) v)));
                else x.setDouble(i, v);
            }
            feeds.put(in.name(), x);
        }
        return feeds;
    }

    /**
     * How many distinct index values an integer input may take: the row count of an initializer that a Gather
     * node indexes with it (an embedding table), else 1000.
     */
    private static long vocab(Graph g, String input) {
        long v = Long.MAX_VALUE;
        for (io.condense.ir.Node n : g.nodes()) {
            if (n.opType().equals("Gather") && n.input(1).equals(input) && g.initializers().containsKey(n.input(0))) {
                long axis = n.attrLong("axis", 0);
                long[] shape = g.initializers().get(n.input(0)).shape();
                if (shape.length > 0) v = Math.min(v, shape[(int) (axis < 0 ? axis + shape.length : axis)]);
            }
        }
        return v == Long.MAX_VALUE ? 1000 : v;
    }

    /** Fixed sizes for symbolic dimensions: batch (first) 1, the rest --seq. */
    private long[] concrete(ValueInfo in) {
        if (!in.type().hasRank()) throw new IllegalArgumentException("input " + in.name() + " has unknown rank");
        List<Dim> dims = in.type().dims();
        long[] s = new long[dims.size()];
        for (int i = 0; i < s.length; i++) s[i] = dims.get(i).isKnown() ? dims.get(i).value() : i == 0 ? 1 : seq;
        return s;
    }

    private static String describe(Map<String, Tensor> feeds) {
        List<String> l = new ArrayList<>();
        for (Tensor t : feeds.values()) l.add(t.dtype().name().toLowerCase(Locale.ROOT) + Arrays.toString(t.shape()).replace(" ", ""));
        String s = String.join(" ", l.stream().distinct().toList());
        return s.length() > 30 ? s.substring(0, 27) + "..." : s;
    }

    private static Stats stats(double[] t) {
        double[] s = t.clone();
        Arrays.sort(s);
        double median = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
        double p90 = s[(int) Math.ceil(0.9 * s.length) - 1];
        return new Stats(median, p90, s[0]);
    }

    private static String ms(double v) { return String.format(Locale.ROOT, v >= 100 ? "%.0f ms" : "%.3f ms", v); }

    private static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static String cpuName() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).strip();
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux: no CPU name
        }
        return System.getProperty("os.arch");
    }
}
