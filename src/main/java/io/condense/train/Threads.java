package io.condense.train;

import java.lang.management.ManagementFactory;

/**
 * ND4J CPU thread count. ND4J's worker threads spin while waiting, so on a machine that is already busy
 * (load average above the core count) one thread is several times faster than two; {@link #auto()} picks
 * accordingly. Results are deterministic for a fixed thread count.
 */
public final class Threads {
    static {
        // same native ND4J build (oneDNN on AVX-512 machines) as the rest of the process, whoever loads ND4J first
        io.condense.backend.cpu.NativeSetup.init();
    }

    private Threads() {}

    /** Sets ND4J's op, OpenMP and BLAS thread counts (process-wide); see {@link io.condense.backend.cpu.NativeSetup#setThreads}. */
    public static void set(int n) { io.condense.backend.cpu.NativeSetup.setThreads(n); }

    /** All cores when the machine is idle enough, else one thread; returns the count chosen. */
    public static int auto() {
        int cores = Runtime.getRuntime().availableProcessors();
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        int n = load >= 0 && load > cores - 0.5 ? 1 : cores;
        set(n);
        return n;
    }

    /** {@code n > 0}: exactly n threads; otherwise {@link #auto()}. */
    public static int configure(int n) {
        if (n > 0) {
            set(n);
            return n;
        }
        return auto();
    }
}
