package io.condense.quant.int4;

import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.data.Dataset;
import io.condense.data.Mnist;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import io.condense.quant.qat.Qat;
import io.condense.train.Arrays2;
import io.condense.train.Models;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import io.condense.train.Threads;
import io.condense.train.Trainer;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Low-bit quantization benchmark on MNIST LeNet-300-100 (run by benchmarks/quant/run-lowbit.sh):
 * {@code LowBitBenchmark DATA_DIR [TRAIN_LIMIT] [EPOCHS] [QAT_EPOCHS] [CALIB_SAMPLES]}.
 * Trains the float model briefly, then reports: float vs INT8 PTQ (no training) vs INT8 QAT (STE, LSQ) test top-1
 * of the exported QDQ models on the CPU executor; per Gemm layer relative output error of INT4 RTN vs GPTQ for
 * groups 32/64/128; top-1 and file size of the INT4 models.
 */
public final class LowBitBenchmark {
    public static void main(String[] args) {
        Path data = Path.of(args[0]);
        int limit = args.length > 1 ? Integer.parseInt(args[1]) : 0;
        int epochs = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int qatEpochs = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        int calib = args.length > 4 ? Integer.parseInt(args[4]) : 512;
        Threads.configure(Integer.getInteger("threads", 0));
        Dataset train = Mnist.load(data, true), test = Mnist.load(data, false);
        if (limit > 0) train = train.head(limit);
        long t0 = System.nanoTime();
        Tape t = new Tape(Models.lenet300100(1));
        new Trainer(t, Optimizer.sgd(0.05).momentum(0.9), new Trainer.Config().epochs(epochs).batchSize(64).seed(1).progressSeconds(0)).fit(train, null);
        Graph fp = t.toGraph();
        System.out.printf(Locale.ROOT, "float training: %d images x %d epochs, %.0f s%n", train.size(), epochs, (System.nanoTime() - t0) / 1e9);
        double accFloat = accuracy(fp, test);
        long sizeFloat = OnnxExporter.toBytes(fp).length;
        System.out.println();
        System.out.println("| model | top-1 (CPU executor, 10k test) | ONNX bytes |");
        System.out.println("|---|---|---|");
        row("float32", accFloat, sizeFloat);
        Qat.Config base = Qat.Config.defaults().withBatchSize(64).withLr(1e-4).withScaleLr(1e-3);
        // control: the same extra fine-tuning without fake quantization (QAT also continues training)
        Tape ft = new Tape(fp);
        new Trainer(ft, Optimizer.adam(1e-4), new Trainer.Config().epochs(qatEpochs).batchSize(64).seed(0).progressSeconds(-1)).fit(train, null);
        row("float32 + " + qatEpochs + " epoch(s) Adam 1e-4 (control for QAT's extra training)", accuracy(ft.toGraph(), test), sizeFloat);
        for (int bits : new int[] {8, 4}) {
            Graph ptq = new Qat(base.withWeightBits(bits).withEpochs(0), null).run(fp, train, null);
            row("PTQ W" + bits + "A8 (abs-max weights, min-max activations)", accuracy(ptq, test), OnnxExporter.toBytes(ptq).length);
            for (Qat.Mode m : Qat.Mode.values()) {
                long q0 = System.nanoTime();
                Graph q = new Qat(base.withWeightBits(bits).withEpochs(qatEpochs).withMode(m), null).run(fp, train, null);
                row(String.format(Locale.ROOT, "QAT W%dA8 %s, %d epoch(s) (%.0f s)", bits, m, qatEpochs, (System.nanoTime() - q0) / 1e9),
                        accuracy(q, test), OnnxExporter.toBytes(q).length);
            }
        }
        List<Map<String, Tensor>> feeds = Qat.feeds(fp, train, 64, (calib + 63) / 64);
        System.out.println();
        System.out.println("INT4 weight-only, relative output error ||WX - WqX|| / ||WX|| on " + calib + " calibration samples"
                + " (sym: INT4, zero point 0; asym: UINT4 with a zero point per group, the default):");
        System.out.println();
        System.out.println("| group | layer | K x N | RTN sym | RTN asym | GPTQ sym | GPTQ asym |");
        System.out.println("|---|---|---|---|---|---|---|");
        StringBuilder acc = new StringBuilder();
        for (int group : new int[] {32, 64, 128}) {
            Int4WeightOnly[] passes = new Int4WeightOnly[2];
            for (int k = 0; k < 2; k++) {
                boolean sym = k == 0;
                long g0 = System.nanoTime();
                passes[k] = new Int4WeightOnly(Int4WeightOnly.Config.of(group, Int4WeightOnly.Method.GPTQ).withSymmetric(sym).withCalibrationSamples(calib), feeds, null);
                Graph gq = passes[k].apply(fp);
                double secs = (System.nanoTime() - g0) / 1e9;
                Graph rq = new Int4WeightOnly(Int4WeightOnly.Config.of(group, Int4WeightOnly.Method.RTN).withSymmetric(sym), null, null).apply(fp);
                String w = sym ? "sym" : "asym";
                acc.append(String.format(Locale.ROOT, "| INT4 g%d RTN %s | %.4f | %d |%n| INT4 g%d GPTQ %s (%.1f s incl. calibration) | %.4f | %d |%n", group, w,
                        accuracy(rq, test), OnnxExporter.toBytes(rq).length, group, w, secs, accuracy(gq, test), OnnxExporter.toBytes(gq).length));
            }
            List<Int4WeightOnly.LayerReport> a = passes[0].reports(), b = passes[1].reports();
            for (int i = 0; i < a.size(); i++) {
                Int4WeightOnly.LayerReport r = a.get(i), u = b.get(i);
                System.out.printf(Locale.ROOT, "| %d | %s | %d x %d | %.4f | %.4f | %.4f | %.4f |%n", group, r.weight(), r.cols(), r.rows(),
                        r.rtnError(), u.rtnError(), r.gptqError(), u.gptqError());
            }
        }
        System.out.println();
        System.out.println("| model | top-1 | ONNX bytes |");
        System.out.println("|---|---|---|");
        row("float32", accFloat, sizeFloat);
        System.out.print(acc);
    }

    static void row(String name, double acc, long bytes) {
        System.out.printf(Locale.ROOT, "| %s | %.4f | %d |%n", name, acc, bytes);
    }

    static double accuracy(Graph g, Dataset d) {
        String in = g.inputs().get(0).name(), out = g.outputs().get(0).name();
        long ok = 0;
        try (Session s = Backends.cpu().open(g)) {
            for (Dataset.Batch b : d.batches(500)) {
                float[] l = s.run(Map.of(in, Arrays2.toTensor(b.x(), false))).get(out).toFloatArray();
                int c = l.length / b.size();
                for (int i = 0; i < b.size(); i++) {
                    int best = 0;
                    for (int k = 1; k < c; k++) if (l[i * c + k] > l[i * c + best]) best = k;
                    ok += best == b.labels()[i] ? 1 : 0;
                }
            }
        }
        return (double) ok / d.size();
    }
}
