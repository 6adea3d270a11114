package io.condense.recipe.stages;

import io.condense.ir.Graph;
import io.condense.recipe.Latency;
import io.condense.recipe.Stage;
import io.condense.recipe.StageContext;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** {@code benchmark}: times the current model on the CPU backend (median of {@code repeats} runs) for the report. */
public final class BenchmarkStage implements Stage<BenchmarkStage.Config> {
    /** @param repeats timed runs (median reported) */
    public record Config(Integer repeats) {
        public Config {
            repeats = repeats == null ? 20 : repeats;
            if (repeats < 1) throw new IllegalArgumentException("repeats must be >= 1, got " + repeats);
        }
    }

    @Override public String name() { return "benchmark"; }

    @Override public Class<Config> configType() { return Config.class; }

    @Override public Config defaults() { return new Config(null); }

    @Override public boolean transforms() { return false; }

    @Override
    public Graph apply(StageContext ctx, Graph input, Config c) {
        double ms = Latency.medianMs(input, ctx.data().benchmarkFeed(input), c.repeats());
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("backend", "cpu");
        b.put("repeats", c.repeats());
        b.put("median_ms", ms);
        b.put("load_average", java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        ctx.fact("benchmark", b);
        ctx.log().printf(Locale.ROOT, "benchmark: %.3f ms median of %d runs (CPU backend, load average %.1f)%n", ms, c.repeats(), b.get("load_average"));
        return input;
    }
}
