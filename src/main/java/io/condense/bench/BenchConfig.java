package io.condense.bench;

import io.condense.ir.ModelException;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@link Bench#run} measures, with trtexec's defaults.
 *
 * @param models        ONNX models (TensorRT .plan engines for backend trt); the first is the baseline of the ratios
 * @param backend       cpu | ort | cuda | trt, or a comma list ("cpu,ort": every model on each, alternated)
 * @param batches       batch sizes for a symbolic first input dimension (default 1)
 * @param seq           size of every other symbolic dimension (a sequence length; default 128)
 * @param durationS     minimum measured time per model and batch, seconds (trtexec --duration, default 3)
 * @param warmupMs      warm-up time per model and batch before measuring, milliseconds (trtexec --warmUp, 200)
 * @param minIterations minimum measured queries per model and batch (trtexec --iterations, 10)
 * @param threads       CPU threads for cpu/ort (0: the backend's default)
 * @param cvWarnPercent a warning is printed when a row's coefficient of variation exceeds this (2.5)
 * @param sliceMs       models are alternated in slices of about this long, so load changes hit all alike (100)
 * @param seed          seed of the random inputs
 */
public record BenchConfig(List<Path> models, String backend, List<Integer> batches, int seq, double durationS,
                          int warmupMs, int minIterations, int threads, double cvWarnPercent, int sliceMs, long seed) {
    public BenchConfig {
        if (models == null || models.isEmpty()) throw new ModelException("bench: no model given");
        models = List.copyOf(models);
        if (backend == null || backend.isBlank()) backend = "cpu";
        for (String b : backend.split(",")) {
            if (!List.of("cpu", "ort", "cuda", "trt").contains(b.trim())) throw new ModelException("bench: unknown backend '" + b + "' (cpu, ort, cuda, trt)");
        }
        batches = batches == null || batches.isEmpty() ? List.of(1) : List.copyOf(batches);
        for (int b : batches) if (b < 1) throw new ModelException("bench: batch sizes must be >= 1, got " + b);
        if (seq < 1) throw new ModelException("bench: --seq must be >= 1, got " + seq);
        if (!(durationS >= 0) || durationS > 3600) throw new ModelException("bench: --duration must be in [0, 3600] s, got " + durationS);
        if (warmupMs < 0) throw new ModelException("bench: --warmup-ms must be >= 0, got " + warmupMs);
        if (minIterations < 1) throw new ModelException("bench: --iterations must be >= 1, got " + minIterations);
        if (threads < 0) throw new ModelException("bench: --threads must be >= 0, got " + threads);
        if (!(cvWarnPercent > 0)) throw new ModelException("bench: the CV warning threshold must be positive, got " + cvWarnPercent);
        if (sliceMs < 1) throw new ModelException("bench: slice must be >= 1 ms, got " + sliceMs);
    }

    /** trtexec's defaults (3 s, 200 ms warm-up, 10 iterations) for {@code models} on {@code backend}, batch 1, sequence 128. */
    public static BenchConfig of(String backend, List<Path> models) {
        return new BenchConfig(models, backend, List.of(1), 128, 3.0, 200, 10, 0, 2.5, 100, 42);
    }

    public BenchConfig withBatches(List<Integer> b) { return new BenchConfig(models, backend, b, seq, durationS, warmupMs, minIterations, threads, cvWarnPercent, sliceMs, seed); }

    public BenchConfig withSeq(int s) { return new BenchConfig(models, backend, batches, s, durationS, warmupMs, minIterations, threads, cvWarnPercent, sliceMs, seed); }

    public BenchConfig withDuration(double s) { return new BenchConfig(models, backend, batches, seq, s, warmupMs, minIterations, threads, cvWarnPercent, sliceMs, seed); }

    public BenchConfig withWarmupMs(int ms) { return new BenchConfig(models, backend, batches, seq, durationS, ms, minIterations, threads, cvWarnPercent, sliceMs, seed); }

    public BenchConfig withMinIterations(int n) { return new BenchConfig(models, backend, batches, seq, durationS, warmupMs, n, threads, cvWarnPercent, sliceMs, seed); }

    public BenchConfig withThreads(int n) { return new BenchConfig(models, backend, batches, seq, durationS, warmupMs, minIterations, n, cvWarnPercent, sliceMs, seed); }
}
