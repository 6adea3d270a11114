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

    /** The backend for {@code cfg}: cpu/ort with the thread count applied; cuda as registered; trt is not a graph backend. */
    static Backend backend(BenchConfig cfg) {
        String name = cfg.backend();
        if (name.equals("trt")) {
            String why = io.condense.export.trt.TrtLibraries.reason();
            if (!why.isEmpty()) throw new ModelException("bench --backend trt: " + why);
            return null; // engines are opened by TrtEngineSession
        }
        Backend b = Backends.get(name);
        if (cfg.threads() > 0) {
            if (name.equals("cpu")) io.condense.backend.cpu.NativeSetup.setThreads(cfg.threads());
            else if (name.equals("ort")) b = io.condense.backend.ort.OrtBackend.withThreads(cfg.threads());
        }
        return b;
    }

    /**
     * Runs the benchmark.
     *
     * @param progress one line per model as it is opened and per batch size; null for none
     * @throws ModelException for a model that cannot be loaded or run, an unavailable backend
     */
    public static BenchResult run(BenchConfig cfg, PrintStream progress) {
        Backend be = backend(cfg);
        String loadBefore = loadAverage();
        List<String> names = new ArrayList<>();
        List<Graph> graphs = new ArrayList<>();
        boolean trt = be == null;
        for (Path p : cfg.models()) {
            graphs.add(OnnxImporter.load(trt ? onnxBeside(p) : p));
            names.add(p.getFileName().toString());
        }
        List<BenchResult.Row> rows = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        List<Session> sessions = new ArrayList<>();
        long[] openRss = new long[graphs.size()];
        long[] deviceUsed = new long[graphs.size()];
        boolean gpu = trt || cfg.backend().equals("cuda");
        try {
            for (int i = 0; i < graphs.size(); i++) {
                long before = rss("VmRSS");
                long devBefore = gpu ? deviceFree() : -1;
                sessions.add(trt ? io.condense.export.trt.TrtEngineSession.open(cfg.models().get(i)) : be.open(graphs.get(i)));
                openRss[i] = before < 0 ? -1 : rss("VmRSS") - before;
                deviceUsed[i] = devBefore < 0 ? -1 : devBefore - deviceFree();
                if (progress != null) progress.printf(Locale.ROOT, "opened %s on %s%n", names.get(i), cfg.backend());
            }
            for (int batch : cfg.batches()) {
                List<Entry> entries = new ArrayList<>();
                for (int i = 0; i < graphs.size(); i++) {
                    long fixed = BenchInputs.fixedBatch(graphs.get(i));
                    if (fixed > 0 && fixed != batch) {
                        warnings.add(names.get(i) + " has a fixed batch of " + fixed + ": batch " + batch + " skipped");
                        continue;
                    }
                    Map<String, Tensor> feeds = BenchInputs.feeds(graphs.get(i), batch, cfg.seq(), cfg.seed());
                    entries.add(new Entry(i, sessions.get(i), feeds));
                }
                if (progress != null) progress.printf(Locale.ROOT, "batch %d: warming up %d model(s) for %d ms each%n", batch, entries.size(), cfg.warmupMs());
                for (Entry e : entries) {
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
                    }
                    BenchResult.Row r = new BenchResult.Row(names.get(e.index), batch, cfg.seq(), e.warmups, wall, s, qps, ips,
                            speedup, thr, openRss[e.index], deviceUsed[e.index]);
                    if (e.index == 0) base = r;
                    else if (base != null) {
                        r = new BenchResult.Row(r.model(), batch, cfg.seq(), r.warmupQueries(), wall, s, qps, ips,
                                base.latency().medianMs() / s.medianMs(), ips / base.itemsPerSecond(), r.openRssBytes(), r.deviceBytes());
                    }
                    rows.add(r);
                    if (s.cvPercent() > cfg.cvWarnPercent()) {
                        warnings.add(String.format(Locale.ROOT, "%s batch %d is unstable: coefficient of variation %.2f%% > %.1f%% "
                                + "(a busy machine? compare the load average)", names.get(e.index), batch, s.cvPercent(), cfg.cvWarnPercent()));
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
