package io.condense.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.condense.OrtReference;
import io.condense.data.Dataset;
import io.condense.data.Mnist;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.quant.CalibrationData;
import io.condense.quant.CalibrationMethod;
import io.condense.quant.CalibrationResult;
import io.condense.quant.PtqPass;
import io.condense.quant.QuantConfig;
import io.condense.train.Models;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import io.condense.train.Trainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * PTQ benchmark (benchmarks/quant/run.sh): for LeNet-5 trained here with {@link Trainer} and the staged pretrained
 * mnist-8 and tribuo-cnn-mnist, float vs INT8 QDQ (each calibrator) in ONNX Runtime CPU: top-1 on the MNIST test
 * split, top-1 agreement with float, model size and batch-1 latency (warm-up, median of timed runs).
 */
public final class QuantBenchmark {
    static int reps = 50, warmup = 10, calibImages = 512, evalImages = 10000, epochs = 1, threads = 1;
    static long trainSteps = 0;
    static Path data, shared;
    public static OrtEnvironment ENV; // created after ND4J has loaded its native libraries

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--reps" -> reps = Math.max(20, Integer.parseInt(args[++i]));
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--calib" -> calibImages = Integer.parseInt(args[++i]);
                case "--eval" -> evalImages = Integer.parseInt(args[++i]);
                case "--epochs" -> epochs = Integer.parseInt(args[++i]);
                case "--train-steps" -> trainSteps = Long.parseLong(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--data" -> shared = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (shared == null) shared = io.condense.TestData.root();
        data = shared.resolve("mnist");
        io.condense.train.Threads.auto();
        ENV = OrtEnvironment.getEnvironment();
        Dataset train = Mnist.load(data, true), test = Mnist.load(data, false).head(evalImages);
        Dataset calib = train.head(calibImages); // calibration images come from the training split
        System.out.printf(Locale.ROOT, "ORT %s threads=%d, calibration %d train images, eval %d test images, latency batch 1 median of %d (warm-up %d)%n",
                ENV.getVersion(), threads, calibImages, test.size(), reps, warmup);

        Map<String, Object[]> models = new LinkedHashMap<>();
        models.put("lenet5 (trained " + epochs + " epoch" + (epochs > 1 ? "s" : "") + ")", new Object[] {trainLenet5(train, test), 1f});
        Path m8 = shared.resolve("onnx/models/mnist-8/model.onnx"), tr = shared.resolve("onnx/models/tribuo-cnn-mnist/cnn_mnist.onnx");
        if (Files.exists(m8)) models.put("mnist-8", new Object[] {OnnxImporter.load(m8), 255f});
        if (Files.exists(tr)) models.put("tribuo-cnn-mnist", new Object[] {OnnxImporter.load(tr), 1f});

        StringBuilder table = new StringBuilder();
        table.append("| model | variant | top-1 | agreement | size (bytes) | p50 batch 1 (ms) | speedup | p50 batch 64 (ms) | speedup |\n|---|---|---|---|---|---|---|---|---|\n");
        for (var e : models.entrySet()) {
            Graph f = (Graph) e.getValue()[0];
            float scale = (float) e.getValue()[1];
            ValueInfo in = f.inputs().get(0);
            byte[] fb = OnnxExporter.toBytes(f);
            int[] yf = top1(fb, in, test, scale);
            double accF = acc(yf, test), latF = latency(fb, in, test, scale), latF64 = latency(fb, in, test, scale, 64);
            table.append(String.format(Locale.ROOT, "| %s | float32 | %.4f | 1.0000 | %d | %.3f | 1.00x | %.3f | 1.00x |%n", e.getKey(), accF, fb.length,
                    latF, latF64));
            Graph prepared = PtqPass.prepare(f);
            int bs = CalibrationData.batchSize(in, 32);
            long t0 = System.nanoTime();
            CalibrationResult stats = PtqPass.calibrate(prepared, QuantConfig.defaults(),
                    CalibrationData.fromDataset(in, scaled(calib, scale), bs, 0), null);
            System.out.printf(Locale.ROOT, "%s: calibrated %d tensors on %d images in %.1f s%n", e.getKey(), stats.stats().size(),
                    stats.samples(), (System.nanoTime() - t0) / 1e9);
            List<QuantConfig> cfgs = List.of(QuantConfig.of(CalibrationMethod.MINMAX), QuantConfig.of(CalibrationMethod.PERCENTILE).withPercentile(99.99),
                    QuantConfig.of(CalibrationMethod.PERCENTILE).withPercentile(99.999), QuantConfig.of(CalibrationMethod.ENTROPY),
                    QuantConfig.of(CalibrationMethod.MSE));
            List<QuantConfig> all = new ArrayList<>(cfgs);
            for (QuantConfig c : cfgs) all.add(c.withQuantizeOutputs(true));
            for (QuantConfig c : all) {
                byte[] qb = OnnxExporter.toBytes(PtqPass.quantize(prepared, stats, c));
                int[] yq = top1(qb, in, test, scale);
                double accQ = acc(yq, test), agree = 0, latQ = latency(qb, in, test, scale), latQ64 = latency(qb, in, test, scale, 64);
                for (int i = 0; i < yq.length; i++) if (yq[i] == yf[i]) agree++;
                String name = "int8 " + c.method().cliName() + (c.method() == CalibrationMethod.PERCENTILE ? " " + c.percentile() : "")
                        + (c.quantizeOutputs() ? " +outputs" : "");
                table.append(String.format(Locale.ROOT, "| %s | %s | %.4f | %.4f | %d | %.3f | %.2fx | %.3f | %.2fx |%n", e.getKey(), name, accQ,
                        agree / yq.length, qb.length, latQ, latF / latQ, latQ64, latF64 / latQ64));
                System.out.printf(Locale.ROOT, "%s %s: top-1 %.4f (float %.4f); ORT runs %s%n", e.getKey(), name, accQ, accF, ortKernels(qb));
            }
        }
        System.out.println();
        System.out.print(table);
    }

    static Graph trainLenet5(Dataset train, Dataset test) {
        // reuse a model trained by an earlier run with the same settings
        Path saved = Path.of("target", "quant-bench", "lenet5-e" + epochs + (trainSteps > 0 ? "-s" + trainSteps : "") + ".onnx");
        if (Files.exists(saved)) {
            System.out.println("lenet5: loading " + saved);
            return OnnxImporter.load(saved);
        }
        Graph g = Models.lenet5(0);
        Tape tape = new Tape(g, n -> true, org.nd4j.linalg.api.buffer.DataType.FLOAT, 0);
        Optimizer opt = Optimizer.adam(1e-3);
        Trainer.Config cfg = new Trainer.Config().epochs(epochs).batchSize(64).seed(0).progressSeconds(30).maxStepsPerEpoch(trainSteps);
        List<Trainer.EpochStats> s = new Trainer(tape, opt, cfg).fit(train, test);
        System.out.printf(Locale.ROOT, "lenet5 trained: test accuracy %.4f%n", s.get(s.size() - 1).testAccuracy());
        Graph out = tape.toGraph();
        OnnxExporter.save(out, saved);
        return out;
    }

    static Dataset scaled(Dataset d, float s) {
        if (s == 1) return d;
        int ss = d.sample(0).length;
        float[] x = new float[d.size() * ss];
        for (int i = 0; i < d.size(); i++) {
            float[] v = d.sample(i);
            for (int k = 0; k < ss; k++) x[i * ss + k] = v[k] * s;
        }
        return new Dataset(x, d.labels(), d.sampleShape());
    }

    /** The ops ORT runs after its graph optimizations: the QDQ fusions it made (e.g. "QLinearConv x2, QGemm x1"). */
    public static String ortKernels(byte[] model) throws Exception {
        Path tmp = Files.createTempFile("ort-opt", ".onnx");
        try {
            OrtSession.SessionOptions o = new OrtSession.SessionOptions();
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.EXTENDED_OPT);
            o.setOptimizedModelFilePath(tmp.toString());
            ENV.createSession(model, o).close();
            Map<String, Integer> c = new java.util.TreeMap<>();
            for (var n : OnnxImporter.load(tmp).nodes()) {
                String op = n.opType();
                if (op.startsWith("QLinear") || op.startsWith("QGemm") || op.endsWith("Integer") || op.equals("QuantizeLinear")
                        || op.equals("DequantizeLinear")) c.merge(op, 1, Integer::sum);
            }
            return c.isEmpty() ? "-" : c.toString();
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static OrtSession session(byte[] model) throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        o.setIntraOpNumThreads(threads);
        o.setInterOpNumThreads(1);
        return ENV.createSession(model, o);
    }

    static Tensor batch(ValueInfo in, Dataset d, int from, int n, float scale) {
        int ss = d.sample(0).length;
        float[] x = new float[n * ss];
        for (int i = 0; i < n; i++) {
            float[] v = d.sample(from + i);
            for (int k = 0; k < ss; k++) x[i * ss + k] = v[k] * scale;
        }
        long[] shape = in.type().rank() == 2 ? new long[] {n, ss} : new long[] {n, 1, 28, 28};
        return Tensor.of(x, shape);
    }

    static int[] top1(byte[] model, ValueInfo in, Dataset d, float scale) throws OrtException {
        int bs = CalibrationData.batchSize(in, 100);
        int[] out = new int[d.size() / bs * bs];
        try (OrtSession s = session(model)) {
            for (int b = 0; b + bs <= d.size(); b += bs) {
                try (OnnxTensor x = OrtReference.toOrt(batch(in, d, b, bs, scale)); OrtSession.Result r = s.run(Map.of(in.name(), x))) {
                    Tensor y = OrtReference.fromOrt((OnnxTensor) r.get(0));
                    int c = (int) y.dim(-1);
                    for (int i = 0; i < bs; i++) {
                        int best = 0;
                        for (int k = 1; k < c; k++) if (y.getDouble(i * c + k) > y.getDouble(i * c + best)) best = k;
                        out[b + i] = best;
                    }
                }
            }
        }
        return out;
    }

    static double acc(int[] y, Dataset d) {
        int m = 0;
        for (int i = 0; i < y.length; i++) if (y[i] == d.label(i)) m++;
        return (double) m / y.length;
    }

    /** Median batch-1 latency in ms. */
    static double latency(byte[] model, ValueInfo in, Dataset d, float scale) throws OrtException { return latency(model, in, d, scale, 1); }

    /** Median latency in ms at batch {@code bs}; NaN when the model's batch dimension is fixed to another size. */
    static double latency(byte[] model, ValueInfo in, Dataset d, float scale, int bs) throws OrtException {
        if (CalibrationData.batchSize(in, bs) != bs) return Double.NaN;
        double[] t = new double[reps];
        try (OrtSession s = session(model); OnnxTensor x = OrtReference.toOrt(batch(in, d, 0, bs, scale))) {
            Map<String, OnnxTensor> feed = Map.of(in.name(), x);
            for (int i = 0; i < warmup; i++) s.run(feed).close();
            for (int i = 0; i < reps; i++) {
                long t0 = System.nanoTime();
                s.run(feed).close();
                t[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        Arrays.sort(t);
        return t[reps / 2];
    }
}
