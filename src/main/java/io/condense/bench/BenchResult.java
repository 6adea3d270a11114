package io.condense.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.condense.onnx.ModelFiles;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The outcome of {@link Bench#run}: one {@link Row} per model and batch, the machine's state, and warnings.
 *
 * @param backend       the backend(s) that ran the models, as given ("ort", "cpu,ort")
 * @param threads       CPU threads requested (0: backend default)
 * @param cores         available processors
 * @param loadBefore    1/5/15-minute load averages before the run (from /proc/loadavg; empty where unknown)
 * @param loadAfter     the same after the run
 * @param peakRssBytes  the process's peak resident memory (VmHWM) at the end, -1 where unknown
 * @param rows          results in model order within each batch size
 * @param warnings      unstable rows (CV above the threshold), skipped rows
 */
public record BenchResult(String backend, int threads, int cores, String loadBefore, String loadAfter, long peakRssBytes,
                          List<Row> rows, List<String> warnings) {
    public BenchResult {
        rows = List.copyOf(rows);
        warnings = List.copyOf(warnings);
    }

    /**
     * One model at one batch size.
     *
     * @param model             file name as given
     * @param backend           the backend that ran it
     * @param batch             batch size (items per query)
     * @param seq               sequence length used for other symbolic dims
     * @param warmupQueries     queries run during warm-up
     * @param wallSeconds       total measured host walltime of this row's queries
     * @param latency           per-query latency statistics
     * @param queriesPerSecond  queries / walltime (trtexec's "Throughput ... qps")
     * @param itemsPerSecond    batch * queries / walltime
     * @param speedup           baseline median latency / this median latency (1 for the baseline; NaN if none)
     * @param throughputRatio   this items/s / baseline items/s
     * @param openRssBytes      resident memory growth while this model was opened and warmed up (-1 unknown)
     * @param deviceBytes       device memory taken by opening and warming up this model (cudaMemGetInfo; cuda/trt), -1 where not measured
     */
    public record Row(String model, String backend, int batch, int seq, int warmupQueries, double wallSeconds, Stats latency,
                      double queriesPerSecond, double itemsPerSecond, double speedup, double throughputRatio,
                      long openRssBytes, long deviceBytes) {}

    /** The row of {@code model} at {@code batch} (on the first backend that ran it), or null. */
    public Row row(String model, int batch) {
        return rows.stream().filter(r -> r.model.equals(model) && r.batch == batch).findFirst().orElse(null);
    }

    /** The row of {@code model} on {@code backend} at {@code batch}, or null. */
    public Row row(String model, String backend, int batch) {
        return rows.stream().filter(r -> r.model.equals(model) && r.backend.equals(backend) && r.batch == batch).findFirst().orElse(null);
    }

    /** A fixed-width table, the load averages and the warnings. */
    public void print(PrintStream out) {
        out.printf(Locale.ROOT, "backend %s, threads %s, %d cores; load average before %s, after %s%n", backend,
                threads == 0 ? "default" : Integer.toString(threads), cores, loadBefore, loadAfter);
        out.printf(Locale.ROOT, "%-28s %-5s %5s %6s %9s %9s %9s %9s %9s %6s %9s %10s %7s %7s %8s %8s%n", "model", "on", "batch", "iters",
                "median ms", "p90", "p95", "p99", "mean", "cv%", "qps", "items/s", "speedup", "thr x", "rss MB", "dev MB");
        for (Row r : rows) {
            Stats s = r.latency;
            out.printf(Locale.ROOT, "%-28s %-5s %5d %6d %9.3f %9.3f %9.3f %9.3f %9.3f %6.2f %9.1f %10.1f %7.2f %7.2f %8s %8s%n",
                    shorten(r.model, 28), r.backend, r.batch, s.n(), s.medianMs(), s.p90Ms(), s.p95Ms(), s.p99Ms(), s.meanMs(), s.cvPercent(),
                    r.queriesPerSecond, r.itemsPerSecond, r.speedup, r.throughputRatio,
                    r.openRssBytes < 0 ? "?" : String.format(Locale.ROOT, "%.1f", r.openRssBytes / 1048576.0),
                    r.deviceBytes < 0 ? "-" : String.format(Locale.ROOT, "%.1f", r.deviceBytes / 1048576.0));
        }
        if (peakRssBytes >= 0) out.printf(Locale.ROOT, "peak host memory (process VmHWM): %.1f MB%n", peakRssBytes / 1048576.0);
        out.println("speedup = baseline median / median; thr x = items/s / baseline items/s; baseline = first model (on the first backend)");
        for (String w : warnings) out.println("warning: " + w);
    }

    /** This result as JSON (records as objects, field names as above). */
    public String toJson() {
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(this);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes {@link #toJson()} to {@code file} atomically. */
    public void writeJson(Path file) {
        byte[] b = (toJson() + "\n").getBytes(StandardCharsets.UTF_8);
        ModelFiles.writeAtomically(file, os -> os.write(b));
    }

    private static String shorten(String s, int n) { return s.length() <= n ? s : "..." + s.substring(s.length() - n + 3); }
}
