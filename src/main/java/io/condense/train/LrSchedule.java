package io.condense.train;

/** Learning-rate multiplier as a function of the optimizer step (0-based). */
@FunctionalInterface
public interface LrSchedule {
    double factor(long step);

    static LrSchedule constant() { return s -> 1; }

    /** Multiplies by {@code gamma} every {@code stepSize} steps. */
    static LrSchedule step(long stepSize, double gamma) {
        if (stepSize <= 0) throw new IllegalArgumentException("step size must be positive");
        return s -> Math.pow(gamma, s / stepSize);
    }

    /** Cosine decay from 1 to {@code minFactor} over {@code totalSteps}, then flat. */
    static LrSchedule cosine(long totalSteps, double minFactor) {
        if (totalSteps <= 0) throw new IllegalArgumentException("total steps must be positive");
        return s -> {
            double p = Math.min(1.0, (double) s / totalSteps);
            return minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * p));
        };
    }

    /** Linear warm-up from 1/warmup to 1 over the first {@code warmupSteps}, then {@code after} (shifted). */
    static LrSchedule warmup(long warmupSteps, LrSchedule after) {
        return s -> s < warmupSteps ? (double) (s + 1) / warmupSteps : after.factor(s - warmupSteps);
    }
}
