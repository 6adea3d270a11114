package io.condense.util;

import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * Progress of a long step: a terminal progress bar (me.tongfei:progressbar) when standard error is a console,
 * plain lines otherwise (CI logs, redirected output), at most one every few seconds plus the last one.
 *
 * <pre>{@code
 * try (Progress p = Progress.start("calibrate", batches)) {
 *     for (...) { work(); p.step(); }
 * }
 * }</pre>
 * {@link #quiet} makes a no-op instance. Thread-safe for {@link #step}.
 */
public final class Progress implements AutoCloseable {
    /** Whether progress goes to an interactive terminal (then bars are drawn). */
    public static boolean interactive() {
        return System.console() != null && !"false".equals(System.getProperty("condense.progress.bar"));
    }

    private final String label;
    private final long total;
    private final ProgressBar bar;
    private final PrintStream lines;
    private final long intervalNanos;
    private final long t0 = System.nanoTime();
    private long done;
    private long lastPrint = Long.MIN_VALUE;
    private boolean closed;

    private Progress(String label, long total, ProgressBar bar, PrintStream lines, long intervalNanos) {
        this.label = label;
        this.total = total;
        this.bar = bar;
        this.lines = lines;
        this.intervalNanos = intervalNanos;
    }

    /** A bar on the terminal, or plain lines on {@code System.err} when it is not a terminal. */
    public static Progress start(String label, long total) {
        if (interactive()) {
            ProgressBar b = new ProgressBarBuilder().setTaskName(label).setInitialMax(Math.max(total, 0))
                    .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).continuousUpdate()
                    .setMaxRenderedLength(100).build();
            return new Progress(label, total, b, null, 0);
        }
        return lines(label, total, System.err, Duration.ofSeconds(5));
    }

    /** Plain progress lines on {@code out}: the first step, then at most one per {@code every}, and the end. */
    public static Progress lines(String label, long total, PrintStream out, Duration every) {
        return new Progress(label, total, null, out, every.toNanos());
    }

    /** A bar drawn through {@code out} (for tests and embedding applications). */
    public static Progress delegating(String label, long total, java.util.function.Consumer<String> out) {
        ProgressBar b = new ProgressBarBuilder().setTaskName(label).setInitialMax(total)
                .setConsumer(new DelegatingProgressBarConsumer(out)).build();
        return new Progress(label, total, b, null, 0);
    }

    /** Reports nothing. */
    public static Progress quiet() {
        return new Progress("", 0, null, null, 0);
    }

    public synchronized void step() { stepBy(1); }

    public synchronized void stepBy(long n) {
        done += n;
        if (bar != null) bar.stepBy(n);
        else if (lines != null) {
            long now = System.nanoTime();
            if (lastPrint == Long.MIN_VALUE || now - lastPrint >= intervalNanos || done >= total && total > 0) {
                lastPrint = now;
                print(now);
            }
        }
    }

    /** Extra text after the counts (e.g. the current loss or candidate). */
    public synchronized void message(String m) {
        if (bar != null) bar.setExtraMessage(m);
        else if (lines != null) lines.println(label + ": " + m);
    }

    public synchronized long done() { return done; }

    private void print(long now) {
        double s = (now - t0) / 1e9;
        if (total > 0) lines.printf(Locale.ROOT, "%s: %d/%d (%.0f%%) %.1f s%n", label, done, total, 100.0 * done / total, s);
        else lines.printf(Locale.ROOT, "%s: %d %.1f s%n", label, done, s);
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (bar != null) bar.close();
        else if (lines != null && done > 0 && lastPrint != Long.MIN_VALUE && System.nanoTime() - lastPrint > 0 && !(done >= total && total > 0)) {
            print(System.nanoTime());
        }
    }
}
