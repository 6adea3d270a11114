package io.condense.bench;

import io.condense.backend.Backend;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxImporter;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Throughput and latency of models on one backend with trtexec's semantics: per model and batch size a time-based
 * warm-up ({@link BenchConfig#warmupMs()}), then queries until at least {@link BenchConfig#minIterations()} ran and
 * {@link BenchConfig#durationS()} of host walltime passed; latency statistics by trtexec's rules ({@link Stats}),
 * queries/s and items/s (batch x queries/s) over the host walltime. The models of one batch size are alternated in
 * slices of {@link BenchConfig#sliceMs()} so that a change of machine load hits all of them alike. The first model is
 * the baseline of the ratios. Timing is host wall clock around {@link Session#run} (inputs already built; the
 * backend's own input/output copies included; for TensorRT engines ({@code --backend trt}, models are .plan files
 * with their ONNX beside them) the host-to-device and device-to-host copies are included, like trtexec's "Latency").
 *
 * <pre>{@code
 * BenchResult r = Bench.run(BenchConfig.of("ort", List.of(fp32, int8)).withBatches(List.of(1, 8)), System.out);
 * r.print(System.out);
 * double x = r.row("model-int8.onnx", 8).speedup();
 * }</pre>
 */
public final class Bench {
    private Bench() {}

    /** The backend named {@code name}: cpu/ort with {@code threads} applied; null for trt (engines open through TrtEngineSession). */
    static Backend backend(String name, int threads) {
        if (name.equals("trt")) {
            String why = io.condense.export.trt.TrtLibraries.reason();
            if (!why.isEmpty()) throw new ModelException("bench --backend trt: " + why);
            return null;
        }
        Backend b = Backends.get(name);
        if (threads > 0) {
            if (name.equals("cpu")) io.condense.backend.cpu.NativeSetup.setThreads(threads);
            else if (name.equals("ort")) b = io.condense.backend.ort.OrtBackend.withThreads(threads);
        }
        return b;
    }

    /**
     * Runs the benchmark. {@link BenchConfig#backend()} may list several backends ("cpu,ort"): every model then runs
     * on each, all alternated in one run; the baseline is the first model on the first backend.
     *
     * @param progress one line per model as it is opened and per batch size; null for none
     * @throws ModelException for a model that cannot be loaded or run, an unavailable backend
     */
    public static BenchResult run(BenchConfig cfg, PrintStream progress) {
        List<String> backends = List.of(cfg.backend().split(","));
        if (backends.contains("trt") && backends.size() > 1) throw new ModelException("bench: --backend trt cannot be combined with other backends (its models are engines)");
        List<Backend> bes = new ArrayList<>();
        for (String b : backends) bes.add(backend(b.trim(), cfg.threads()));
        boolean trt = backends.get(0).equals("trt");
        String loadBefore = loadAverage();
        List<Graph> graphs = new ArrayList<>();
        for (Path p : cfg.models()) graphs.add(OnnxImporter.load(trt ? onnxBeside(p) : p));
        // engines: backend-major, model-minor; engine 0 is the baseline
        int n = backends.size() * graphs.size();
        String[] label = new String[n], engineBackend = new String[n];
        int[] model = new int[n];
        for (int k = 0; k < n; k++) {
            model[k] = k % graphs.size();
            engineBackend[k] = backends.get(k / graphs.size()).trim();
            label[k] = cfg.models().get(model[k]).getFileName().toString();
        }
        List<BenchResult.Row> rows = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        List<Session> sessions = new ArrayList<>();
        long[] openRss = new long[n];
        long[] deviceUsed = new long[n];
        try {
            for (int k = 0; k < n; k++) {
                boolean gpu = trt || engineBackend[k].equals("cuda");
                long before = rss("VmRSS");
                long devBefore = gpu ? deviceFree() : -1;
                Backend be = bes.get(k / graphs.size());
                sessions.add(trt ? io.condense.export.trt.TrtEngineSession.open(cfg.models().get(model[k])) : be.open(graphs.get(model[k])));
                openRss[k] = before < 0 ? -1 : rss("VmRSS") - before;
                deviceUsed[k] = devBefore < 0 ? -1 : devBefore - deviceFree();
                if (progress != null) progress.printf(Locale.ROOT, "opened %s on %s%n", label[k], engineBackend[k]);
            }
            for (int batch : cfg.batches()) {
                List<Entry> entries = new ArrayList<>();
                for (int k = 0; k < n; k++) {
                    Graph g = graphs.get(model[k]);
                    long fixed = BenchInputs.fixedBatch(g);
                    if (fixed > 0 && fixed != batch) {
                        if (k < graphs.size()) warnings.add(label[k] + " has a fixed batch of " + fixed + ": batch " + batch + " skipped");
                        continue;
                    }
                    entries.add(new Entry(k, sessions.get(k), BenchInputs.feeds(g, batch, cfg.seq(), cfg.seed())));
                }
                if (entries.isEmpty()) continue;
                if (progress != null) progress.printf(Locale.ROOT, "batch %d: warming up %d engine(s) for %d ms each%n", batch, entries.size(), cfg.warmupMs());
                for (Entry e : entries) {
                    boolean gpu = trt || engineBackend[e.index].equals("cuda");
                    long before = rss("VmRSS"), devBefore = gpu ? deviceFree() : -1;
                    e.warmup(cfg.warmupMs() * 1_000_000L);
                    if (before >= 0 && openRss[e.index] >= 0) openRss[e.index] += Math.max(0, rss("VmRSS") - before);
                    if (devBefore >= 0 && deviceUsed[e.index] >= 0) deviceUsed[e.index] += Math.max(0, devBefore - deviceFree());
                }
                long durationNs = (long) (cfg.durationS() * 1e9), sliceNs = cfg.sliceMs() * 1_000_000L;
                boolean more = true;
                while (more) {
                    more = false;
                    for (Entry e : entries) {
                        if (e.done(durationNs, cfg.minIterations())) continue;
                        e.slice(sliceNs);
                        more |= !e.done(durationNs, cfg.minIterations());
                    }
                }
                BenchResult.Row base = null;
                for (Entry e : entries) {
                    Stats s = Stats.of(e.times());
                    double wall = e.wallNs / 1e9;
                    double qps = e.count / wall, ips = qps * batch;
                    double speedup = Double.NaN, thr = Double.NaN;
                    if (e.index == 0) {
                        speedup = 1;
                        thr = 1;
                    } else if (base != null) {
                        speedup = base.latency().medianMs() / s.medianMs();
                        thr = ips / base.itemsPerSecond();
                    }
                    BenchResult.Row r = new BenchResult.Row(label[e.index], engineBackend[e.index], batch, cfg.seq(), e.warmups, wall, s, qps, ips,
                            speedup, thr, openRss[e.index], deviceUsed[e.index]);
                    if (e.index == 0) base = r;
                    rows.add(r);
                    if (s.cvPercent() > cfg.cvWarnPercent()) {
                        warnings.add(String.format(Locale.ROOT, "%s on %s batch %d is unstable: coefficient of variation %.2f%% > %.1f%% "
                                + "(a busy machine? compare the load average)", label[e.index], engineBackend[e.index], batch, s.cvPercent(), cfg.cvWarnPercent()));
                    }
                }
            }
        } finally {
            for (Session s : sessions) s.close();
        }
        return new BenchResult(cfg.backend(), cfg.threads(), Runtime.getRuntime().availableProcessors(), loadBefore, loadAverage(),
                rss("VmHWM"), rows, warnings);
    }

    /** The ONNX file beside a TensorRT engine (same name, .onnx): bench sizes and fills the engine's inputs from it. */
    static Path onnxBeside(Path plan) {
        String f = plan.getFileName().toString();
        Path onnx = plan.resolveSibling((f.contains(".") ? f.substring(0, f.lastIndexOf('.')) : f) + ".onnx");
        if (!Files.isRegularFile(onnx)) throw new ModelException("bench --backend trt: " + plan + " needs its ONNX model beside it as " + onnx.getFileName()
                + " (for the input names, shapes and token ranges)");
        return onnx;
    }

    /** One model's session and feeds at one batch size, with its measured query times. */
    private static final class Entry {
        final int index;
        final Session session;
        final Map<String, Tensor> feeds;
        double[] ms = new double[256];
        int count, warmups;
        long wallNs;

        Entry(int index, Session session, Map<String, Tensor> feeds) {
            this.index = index;
            this.session = session;
            this.feeds = feeds;
        }

        void warmup(long ns) {
            long t0 = System.nanoTime();
            do {
                session.run(feeds);
                warmups++;
            } while (System.nanoTime() - t0 < ns);
        }

        void slice(long ns) {
            long t0 = System.nanoTime(), t = t0;
            do {
                long s = t;
                session.run(feeds);
                t = System.nanoTime();
                if (count == ms.length) ms = java.util.Arrays.copyOf(ms, count * 2);
                ms[count++] = (t - s) / 1e6;
            } while (t - t0 < ns);
            wallNs += t - t0;
        }

        boolean done(long durationNs, int minIterations) { return count >= minIterations && wallNs >= durationNs; }

        double[] times() { return java.util.Arrays.copyOf(ms, count); }
    }

    /** Free device memory (cudaMemGetInfo), or -1 without a GPU. */
    static long deviceFree() {
        try {
            return io.condense.backend.cuda.CudaRuntime.isAvailable() ? io.condense.backend.cuda.CudaRuntime.memInfo()[0] : -1;
        } catch (RuntimeException | LinkageError e) {
            return -1;
        }
    }

    /** "1m 5m 15m" load averages from /proc/loadavg, or the JVM's 1-minute figure, or "?". */
    public static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            double l = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
            return l < 0 ? "?" : String.format(Locale.ROOT, "%.2f", l);
        }
    }

    /** A field of /proc/self/status in bytes (VmRSS, VmHWM), or -1 where unknown. */
    static long rss(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field + ":")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return -1;
    }
}
