package io.condense.bench;

import io.condense.data.Dataset;
import io.condense.data.Mnist;
import io.condense.train.Losses;
import io.condense.train.Models;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import io.condense.train.Threads;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Training throughput of condense against DL4J 1.0.0-M2.1 on MNIST, same process, alternated rounds (run by
 * benchmarks/train/vs-dl4j.sh): {@code TrainVsDl4j DATA_DIR [MODELS] [ROUNDS] [STEPS] [WARMUP] [LR]}.
 *
 * <p>Both sides train the same network (LeNet-300-100 or LeNet-5 as {@link Models} builds it) from the same initial
 * weights (condense's, copied into DL4J) on the same pre-built batches of 64, with SGD Nesterov momentum 0.9 (DL4J's
 * only momentum SGD; condense's {@code nesterov}), constant learning rate, no weight decay, float32. condense
 * normalizes the pixels inside its graph; DL4J gets pre-normalized pixels. The first-step losses of both are printed
 * (equal initial weights and data give equal losses, which checks the two networks are the same).
 *
 * <p>First 4 x WARMUP untimed steps of each (JIT warm-up), then per round and framework: WARMUP untimed steps, then STEPS
 * timed ones; reports images/s (wall) and process CPU
 * seconds per step (all threads, GC and JIT included), CPU seconds of the training thread alone, and the load average.
 * MODELS is a comma list of MODEL or MODEL:STEPS. Prints one {@code RESULT} line per model with
 * the medians over rounds and the ratio condense/DL4J of both.
 */
public final class TrainVsDl4j {
    private TrainVsDl4j() {}

    static final int BATCH = 64;

    record Batches(List<INDArray> x, List<int[]> labels, List<INDArray> dl4jX, List<INDArray> oneHot) {}

    interface Runner { double step(int i); }

    static double cpu() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
    }

    static double load() { return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(); }

    public static void main(String[] args) {
        Path data = Path.of(args[0]);
        List<String> models = args.length > 1 ? Arrays.asList(args[1].split(",")) : List.of("lenet-300-100", "lenet5");
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        int steps = args.length > 3 ? Integer.parseInt(args[3]) : 200;
        int warmup = args.length > 4 ? Integer.parseInt(args[4]) : 50;
        double lr = args.length > 5 ? Double.parseDouble(args[5]) : 0.01;
        int threads = Threads.configure(Integer.getInteger("threads", 0));
        System.out.printf(Locale.ROOT, "threads=%d native=%s cores=%d load=%.2f rounds=%d steps=%d warmup=%d lr=%g batch=%d%n", threads,
                io.condense.backend.cpu.NativeSetup.extension().isEmpty() ? "plain" : io.condense.backend.cpu.NativeSetup.extension(),
                Runtime.getRuntime().availableProcessors(), load(), rounds, steps, warmup, lr, BATCH);
        Dataset train = Mnist.load(data, true);
        Batches b = batches(train, 200);
        for (String spec : models) {
            // MODEL or MODEL:STEPS (LeNet-5 steps are ~30x dearer than LeNet-300-100's)
            String[] ms = spec.split(":");
            bench(ms[0], b, rounds, ms.length > 1 ? Integer.parseInt(ms[1]) : steps, warmup, lr);
        }
    }

    static Batches batches(Dataset train, int n) {
        List<INDArray> x = new ArrayList<>(), dx = new ArrayList<>(), oh = new ArrayList<>();
        List<int[]> y = new ArrayList<>();
        for (Dataset.Batch bt : train.batches(BATCH, true, 7, true, null)) {
            if (x.size() == n) break;
            x.add(bt.x());
            y.add(bt.labels());
            dx.add(bt.x().sub(Mnist.MEAN).divi(Mnist.STD));
            INDArray o = Nd4j.zeros(DataType.FLOAT, bt.size(), 10);
            for (int i = 0; i < bt.size(); i++) o.putScalar(i, bt.labels()[i], 1f);
            oh.add(o);
        }
        return new Batches(x, y, dx, oh);
    }

    static void bench(String model, Batches b, int rounds, int steps, int warmup, double lr) {
        Tape tape = new Tape(Models.byName(model, 1));
        MultiLayerNetwork net = dl4j(model, lr);
        copyWeights(model, tape.parameters(), net);
        Optimizer opt = Optimizer.sgd(lr).momentum(0.9).nesterov(true);
        String in = tape.graph().inputs().get(0).name(), out = tape.graph().outputs().get(0).name();
        int nb = b.x().size();
        Runner cond = i -> {
            Map<String, INDArray> o = tape.forward(Map.of(in, b.x().get(i % nb)), true);
            Losses.Loss l = Losses.softmaxCrossEntropy(o.get(out), b.labels().get(i % nb), 0);
            opt.step(tape.parameters(), tape.backward(Map.of(out, l.grad())));
            return l.value();
        };
        boolean flat = !model.startsWith("lenet5") && !model.startsWith("lenet-5");
        Runner dl = i -> {
            INDArray x = b.dl4jX().get(i % nb);
            net.fit(new DataSet(flat ? x.reshape(x.size(0), 784) : x, b.oneHot().get(i % nb)));
            return net.score();
        };
        System.out.printf(Locale.ROOT, "%s: first-step loss condense %.6f dl4j %.6f (same weights and batch)%n", model, cond.step(0), dl.step(0));
        double[][] cpuPerStep = new double[2][rounds], ips = new double[2][rounds], threadPerStep = new double[2][rounds];
        java.lang.management.ThreadMXBean tmx = ManagementFactory.getThreadMXBean();
        int[] pos = {1, 1};
        // JIT warm-up of both code paths before any timed round (C2 keeps compiling for several hundred steps)
        for (int i = 0; i < 4 * warmup; i++) {
            cond.step(pos[0]++);
            dl.step(pos[1]++);
        }
        for (int r = 0; r < rounds; r++) {
            for (int f = 0; f < 2; f++) {
                // alternate which framework goes first, so slow drifts in the machine's load hit both equally
                int fw = (r % 2 == 0) ? f : 1 - f;
                Runner run = fw == 0 ? cond : dl;
                double lastLoss = 0;
                for (int i = 0; i < warmup; i++) lastLoss = run.step(pos[fw]++);
                double c0 = cpu();
                long t0 = System.nanoTime(), th0 = tmx.getCurrentThreadCpuTime();
                for (int i = 0; i < steps; i++) lastLoss = run.step(pos[fw]++);
                double wall = (System.nanoTime() - t0) / 1e9, c = cpu() - c0;
                threadPerStep[fw][r] = (tmx.getCurrentThreadCpuTime() - th0) / 1e9 / steps;
                cpuPerStep[fw][r] = c / steps;
                ips[fw][r] = steps * BATCH / wall;
                System.out.printf(Locale.ROOT, "  round %d %-8s %8.0f img/s  %7.3f cpu-ms/step (%7.3f on the training thread)  wall %.2fs  loss %.4f  load %.2f%n", r + 1,
                        fw == 0 ? "condense" : "dl4j", ips[fw][r], 1000 * cpuPerStep[fw][r], 1000 * threadPerStep[fw][r], wall, lastLoss, load());
            }
        }
        if (Boolean.getBoolean("profile")) profile(tape, opt, b, steps);
        double cIps = median(ips[0]), dIps = median(ips[1]), cCpu = median(cpuPerStep[0]), dCpu = median(cpuPerStep[1]);
        double cTh = median(threadPerStep[0]), dTh = median(threadPerStep[1]);
        System.out.printf(Locale.ROOT, "RESULT model=%s steps=%d condense_img_s=%.0f dl4j_img_s=%.0f speedup_wall=%.2f condense_cpu_ms_step=%.3f dl4j_cpu_ms_step=%.3f speedup_cpu=%.2f"
                        + " condense_thread_ms_step=%.3f dl4j_thread_ms_step=%.3f speedup_thread=%.2f load=%.2f%n",
                model, steps, cIps, dIps, cIps / dIps, 1000 * cCpu, 1000 * dCpu, dCpu / cCpu, 1000 * cTh, 1000 * dTh, dTh / cTh, load());
    }

    /** -Dprofile=true: condense's per-op CPU time and Java heap allocation per step (profiling slows it a little). */
    static void profile(Tape tape, Optimizer opt, Batches b, int steps) {
        Map<String, long[]> prof = tape.profile();
        prof.clear();
        com.sun.management.ThreadMXBean tm = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().getId();
        long a0 = tm.getThreadAllocatedBytes(tid);
        Map<String, Long> th0 = threadTicks();
        double c0 = cpu();
        String in = tape.graph().inputs().get(0).name(), out = tape.graph().outputs().get(0).name();
        long[] phase = new long[4];
        for (int i = 0; i < steps; i++) {
            int k = i % b.x().size();
            long t0 = tm.getCurrentThreadCpuTime();
            Map<String, INDArray> o = tape.forward(Map.of(in, b.x().get(k)), true);
            long t1 = tm.getCurrentThreadCpuTime();
            Losses.Loss l = Losses.softmaxCrossEntropy(o.get(out), b.labels().get(k), 0);
            long t2 = tm.getCurrentThreadCpuTime();
            Map<String, INDArray> g = tape.backward(Map.of(out, l.grad()));
            long t3 = tm.getCurrentThreadCpuTime();
            opt.step(tape.parameters(), g);
            long t4 = tm.getCurrentThreadCpuTime();
            phase[0] += t1 - t0;
            phase[1] += t2 - t1;
            phase[2] += t3 - t2;
            phase[3] += t4 - t3;
        }
        double c = cpu() - c0;
        long alloc = tm.getThreadAllocatedBytes(tid) - a0;
        Map<String, Long> th1 = threadTicks();
        StringBuilder sb = new StringBuilder();
        th1.forEach((k, v) -> {
            long d = v - th0.getOrDefault(k, 0L);
            if (d > 0) sb.append(String.format(Locale.ROOT, " %s=%.0fus", k, d * 1e4 / steps));
        });
        System.out.println("  process threads' CPU per step (/proc, 10 ms ticks):" + sb);
        long opSum = 0;
        System.out.printf(Locale.ROOT, "  condense profile over %d steps: %.3f cpu-ms/step, %.1f KB Java heap allocated/step; per op (us/step forward, backward, calls/step):%n",
                steps, 1000 * c / steps, alloc / 1024.0 / steps);
        System.out.printf(Locale.ROOT, "    phases (calling thread us/step): forward %.1f loss %.1f backward %.1f optimizer %.1f%n",
                phase[0] / 1e3 / steps, phase[1] / 1e3 / steps, phase[2] / 1e3 / steps, phase[3] / 1e3 / steps);
        for (Map.Entry<String, long[]> e : prof.entrySet()) {
            long[] v = e.getValue();
            opSum += v[0] + v[1];
            System.out.printf(Locale.ROOT, "    %-20s %8.1f %8.1f %6.1f%n", e.getKey(), v[0] / 1e3 / steps, v[1] / 1e3 / steps, v[2] / (double) steps);
        }
        System.out.printf(Locale.ROOT, "    (ops total %.1f us/step of the calling thread)%n", opSum / 1e3 / steps);
        tape.stopProfile();
    }

    /** utime+stime ticks per thread (name#tid) of this process, from /proc/self/task (empty where unavailable). */
    static Map<String, Long> threadTicks() {
        Map<String, Long> m = new java.util.TreeMap<>();
        try (var dirs = java.nio.file.Files.list(Path.of("/proc/self/task"))) {
            for (Path d : (Iterable<Path>) dirs::iterator) {
                try {
                    String st = java.nio.file.Files.readString(d.resolve("stat"));
                    int r = st.lastIndexOf(')');
                    String name = st.substring(st.indexOf('(') + 1, r);
                    String[] f = st.substring(r + 2).split(" ");
                    m.merge(name, Long.parseLong(f[11]) + Long.parseLong(f[12]), Long::sum);
                } catch (java.io.IOException | RuntimeException ignored) {
                    // thread ended
                }
            }
        } catch (java.io.IOException | RuntimeException ignored) {
            // not Linux
        }
        return m;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static MultiLayerNetwork dl4j(String model, double lr) {
        NeuralNetConfiguration.ListBuilder l = new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.FLOAT)
                .updater(new Nesterovs(lr, 0.9)).weightInit(WeightInit.XAVIER).list();
        MultiLayerConfiguration conf;
        if (model.startsWith("lenet5") || model.startsWith("lenet-5")) {
            conf = l.layer(new ConvolutionLayer.Builder(5, 5).nOut(20).stride(1, 1).activation(Activation.IDENTITY).build())
                    .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                    .layer(new ConvolutionLayer.Builder(5, 5).nOut(50).stride(1, 1).activation(Activation.IDENTITY).build())
                    .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                    .layer(new DenseLayer.Builder().nOut(500).activation(Activation.RELU).build())
                    .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX).build())
                    .setInputType(InputType.convolutional(28, 28, 1)).build();
        } else {
            conf = l.layer(new DenseLayer.Builder().nIn(784).nOut(300).activation(Activation.RELU).build())
                    .layer(new DenseLayer.Builder().nIn(300).nOut(100).activation(Activation.RELU).build())
                    .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(100).nOut(10).activation(Activation.SOFTMAX).build())
                    .build();
        }
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** condense's initial weights into DL4J (dense W is [in, out] there, ONNX Gemm with transB keeps [out, in]). */
    static void copyWeights(String model, Map<String, INDArray> p, MultiLayerNetwork net) {
        String[][] map = model.startsWith("lenet5") || model.startsWith("lenet-5")
                ? new String[][] {{"conv1", "0", "conv"}, {"conv2", "2", "conv"}, {"ip1", "4", "fc"}, {"ip2", "5", "fc"}}
                : new String[][] {{"fc1", "0", "fc"}, {"fc2", "1", "fc"}, {"fc3", "2", "fc"}};
        for (String[] m : map) {
            INDArray w = p.get(m[0] + ".weight"), bias = p.get(m[0] + ".bias");
            INDArray dw = net.getParam(m[1] + "_W"), db = net.getParam(m[1] + "_b");
            INDArray src = m[2].equals("fc") ? w.transpose() : w;
            if (!Arrays.equals(src.shape(), dw.shape())) throw new IllegalStateException(m[0] + ": " + Arrays.toString(src.shape()) + " vs DL4J " + Arrays.toString(dw.shape()));
            dw.assign(src);
            db.assign(bias.reshape(db.shape()));
        }
        if (net.numParams() != p.values().stream().mapToLong(INDArray::length).sum()) throw new IllegalStateException("parameter counts differ");
    }
}
