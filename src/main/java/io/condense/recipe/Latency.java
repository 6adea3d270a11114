package io.condense.recipe;

import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;

import java.util.Arrays;
import java.util.Map;

/** Median latency of one feed on the CPU backend (one warm-up run, then {@code repeats} timed runs). */
public final class Latency {
    private Latency() {}

    public static double medianMs(Graph g, Map<String, Tensor> feed, int repeats) {
        if (repeats <= 0) return Double.NaN;
        try (Session s = Backends.cpu().open(g)) {
            s.run(feed);
            double[] t = new double[repeats];
            for (int i = 0; i < repeats; i++) {
                long t0 = System.nanoTime();
                s.run(feed);
                t[i] = (System.nanoTime() - t0) / 1e6;
            }
            Arrays.sort(t);
            return repeats % 2 == 1 ? t[repeats / 2] : (t[repeats / 2 - 1] + t[repeats / 2]) / 2;
        }
    }
}
