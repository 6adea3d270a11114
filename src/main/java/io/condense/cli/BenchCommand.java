package io.condense.cli;

import io.condense.bench.Bench;
import io.condense.bench.BenchConfig;
import io.condense.bench.BenchResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code bench}: throughput and latency of one or more models on one backend (see {@link Bench}). */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmark models with trtexec's semantics: time-based warm-up, at least N iterations and S seconds, "
                + "median/p90/p95/p99 latency, queries/s and items/s, ratios to the first model (the baseline); the models "
                + "are alternated so machine load hits all alike. Prints the load average: compare only idle-machine runs."},
        footer = {"", "Example:", "  condense bench model.onnx model-int8.onnx --backend ort --batch 1,8,64 --json bench.json",
                "  condense bench model.onnx --backend cpu,ort --batch 1,32     # condense's executor vs ONNX Runtime"})
public final class BenchCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "MODEL", description = "models (.onnx; for --backend trt engines .plan with their .onnx beside them); the first is the baseline")
    List<Path> models = new ArrayList<>();

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "cpu", description = "cpu | ort | cuda | trt, or a list such as cpu,ort (every model on each, alternated) (default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--batch", split = ",", paramLabel = "B", description = "batch sizes for a symbolic batch dimension (default 1)")
    List<Integer> batches = new ArrayList<>();

    @Option(names = "--seq", paramLabel = "N", defaultValue = "128", description = "size of other symbolic dimensions, e.g. sequence length (default ${DEFAULT-VALUE})")
    int seq;

    @Option(names = "--duration", paramLabel = "S", defaultValue = "3", description = "minimum measured seconds per model and batch (default ${DEFAULT-VALUE})")
    double duration;

    @Option(names = "--warmup-ms", paramLabel = "MS", defaultValue = "200", description = "warm-up milliseconds per model and batch (default ${DEFAULT-VALUE})")
    int warmupMs;

    @Option(names = "--iterations", paramLabel = "N", defaultValue = "10", description = "minimum measured queries (default ${DEFAULT-VALUE})")
    int iterations;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0", description = "CPU threads for cpu/ort (default: the backend's)")
    int threads;

    @Option(names = "--json", paramLabel = "FILE", description = "also write the result as JSON (atomically)")
    Path json;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        for (String b : backend.split(",")) {
            if (!List.of("cpu", "ort", "cuda", "trt").contains(b.trim())) {
                throw new ParameterException(spec.commandLine(), "unknown backend '" + b + "' (cpu, ort, cuda, trt; or a list: cpu,ort)");
            }
        }
        PrintWriter w = spec.commandLine().getOut();
        PrintStream out = new PrintStream(new java.io.OutputStream() {
            @Override public void write(int b) { w.write(b); }
            @Override public void write(byte[] b, int off, int len) { w.write(new String(b, off, len, java.nio.charset.StandardCharsets.UTF_8)); }
            @Override public void flush() { w.flush(); }
        }, true, java.nio.charset.StandardCharsets.UTF_8);
        BenchConfig cfg = BenchConfig.of(backend, models).withBatches(batches).withSeq(seq).withDuration(duration)
                .withWarmupMs(warmupMs).withMinIterations(iterations).withThreads(threads);
        BenchResult r = Bench.run(cfg, out);
        r.print(out);
        if (json != null) {
            r.writeJson(json);
            out.println("wrote " + json);
        }
        out.flush();
        return 0;
    }
}
