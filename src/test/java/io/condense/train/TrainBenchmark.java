package io.condense.train;

import io.condense.data.Dataset;
import io.condense.data.Mnist;
import io.condense.ir.Graph;
import io.condense.onnx.OnnxExporter;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * MNIST training benchmark (run by benchmarks/train/run.sh):
 * {@code TrainBenchmark MODEL DATA_DIR EPOCHS [BATCH] [LR] [OPTIMIZER] [MAX_STEPS] [OUT.onnx]}. Prints per-epoch time and test error,
 * and an op-time profile of the first epoch.
 */
public final class TrainBenchmark {
    public static void main(String[] args) {
        String model = args[0];
        Path data = Path.of(args[1]);
        int epochs = Integer.parseInt(args[2]);
        int batch = args.length > 3 ? Integer.parseInt(args[3]) : 64;
        double lr = args.length > 4 ? Double.parseDouble(args[4]) : 0.01;
        String opt = args.length > 5 ? args[5] : "sgd";
        long maxSteps = args.length > 6 ? Long.parseLong(args[6]) : 0;
        int threads = Threads.configure(Integer.getInteger("threads", 0));
        System.out.println("ND4J threads: " + threads + ", native build: " + (io.condense.backend.cpu.NativeSetup.extension().isEmpty() ? "plain" : io.condense.backend.cpu.NativeSetup.extension()));
        Dataset train = Mnist.load(data, true);
        Dataset test = Mnist.load(data, false);
        Graph g = Models.byName(model, 1);
        Tape tape = new Tape(g);
        Map<String, long[]> prof = tape.profile();
        long steps = (long) epochs * ((train.size() + batch - 1) / batch);
        Optimizer o = Optimizer.of(opt, lr).schedule(LrSchedule.cosine(steps, 0.01));
        if (opt.startsWith("sgd") || opt.equals("nesterov")) o.weightDecay(5e-4);
        Trainer t = new Trainer(tape, o, new Trainer.Config().epochs(epochs).batchSize(batch).seed(1).maxStepsPerEpoch(maxSteps).progressSeconds(10));
        List<Trainer.EpochStats> stats = t.fit(train, test);
        System.out.println("op profile (ms forward / backward / calls):");
        for (Map.Entry<String, long[]> e : prof.entrySet()) {
            System.out.printf(Locale.ROOT, "  %-20s %9.0f %9.0f %7d%n", e.getKey(), e.getValue()[0] / 1e6, e.getValue()[1] / 1e6, e.getValue()[2]);
        }
        Trainer.EpochStats last = stats.get(stats.size() - 1);
        double mean = stats.stream().mapToDouble(Trainer.EpochStats::seconds).average().orElse(0);
        double cpu = stats.stream().mapToDouble(Trainer.EpochStats::cpuSeconds).average().orElse(0);
        double load = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        System.out.printf(Locale.ROOT, "RESULT model=%s epochs=%d batch=%d lr=%g opt=%s threads=%d test_error=%.2f%% mean_epoch_s=%.1f mean_epoch_cpu_s=%.1f load=%.1f%n",
                model, epochs, batch, lr, opt, threads, 100 * (1 - last.testAccuracy()), mean, cpu, load);
        if (args.length > 7) OnnxExporter.save(tape.toGraph(), Path.of(args[7]));
    }
}
