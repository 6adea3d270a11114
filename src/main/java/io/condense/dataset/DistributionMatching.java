package io.condense.dataset;

import io.condense.data.Dataset;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.train.Tape;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Dataset distillation by Distribution Matching (Zhao &amp; Bilen, WACV 2023): synthetic images, initialized from
 * random real ones, are moved so that their mean embedding under a freshly initialized ConvNet matches that of a
 * batch of real images of the same class; a new random network every iteration, DSA augmentation applied alike to
 * both sides, SGD with momentum on the pixels (in normalized space). Only forward passes through the real batch
 * and one backward pass to the synthetic pixels per iteration.
 */
public final class DistributionMatching {
    /**
     * @param iterations outer iterations (paper: 20000)
     * @param realBatch real images per class and iteration (paper: 256)
     * @param lrImg pixel learning rate (paper: 1.0, momentum 0.5)
     */
    public record Config(int ipc, int iterations, int realBatch, double lrImg, double momentum, ConvNet.Spec net, String dsa,
                         boolean initFromReal, long seed) {
        public Config {
            if (ipc <= 0) throw new ModelException("--ipc must be positive, got " + ipc);
            if (iterations < 0) throw new ModelException("iterations must be >= 0, got " + iterations);
            if (realBatch <= 0) throw new ModelException("real batch must be positive, got " + realBatch);
            if (!(lrImg > 0)) throw new ModelException("image learning rate must be positive, got " + lrImg);
            new DiffAugment(dsa);
        }

        /** The paper's settings except the iteration count. */
        public static Config paper(int ipc, int iterations, long seed) {
            return new Config(ipc, iterations, 256, 1.0, 0.5, ConvNet.Spec.paper(), DiffAugment.DEFAULT, true, seed);
        }
    }

    private DistributionMatching() {}

    /** Synthetic set of {@code cfg.ipc} images per class, in the pixel space of {@code train}. */
    public static Dataset distill(Dataset train, Config cfg, PrintStream progress) {
        int classes = train.numClasses();
        int[][] byClass = Coresets.byClass(train, cfg.ipc());
        Normalizer norm = Normalizer.of(train);
        Dataset real = norm.normalize(train);
        long[] shape = train.sampleShape();
        int ss = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        SplittableRandom rnd = new SplittableRandom(cfg.seed());
        DiffAugment aug = new DiffAugment(cfg.dsa());
        // synthetic pixels per class, normalized space
        float[][] syn = new float[classes][cfg.ipc() * ss];
        for (int c = 0; c < classes; c++) {
            int[] pick = Coresets.sample(byClass[c], cfg.ipc(), rnd);
            for (int i = 0; i < cfg.ipc(); i++) {
                if (cfg.initFromReal()) System.arraycopy(real.sample(pick[i]), 0, syn[c], i * ss, ss);
                else for (int k = 0; k < ss; k++) syn[c][i * ss + k] = (float) (rnd.nextDouble() * 2 - 1);
            }
        }
        float[][] vel = new float[classes][cfg.ipc() * ss];
        long t0 = System.nanoTime(), last = t0;
        double lossAvg = 0;
        for (int it = 0; it < cfg.iterations(); it++) {
            Graph net = ConvNet.build(cfg.net(), shape, classes, rnd.nextLong());
            Tape tape = new Tape(net, n -> false, DataType.FLOAT, 0).requireInputGrad(ConvNet.INPUT);
            int rb = cfg.realBatch();
            float[] realX = new float[classes * rb * ss];
            float[] synX = new float[classes * cfg.ipc() * ss];
            DiffAugment.Applied[] drawn = new DiffAugment.Applied[classes];
            int[] rbc = new int[classes];
            int off = 0;
            for (int c = 0; c < classes; c++) {
                drawn[c] = aug.draw(rnd);
                int[] pick = Coresets.sample(byClass[c], Math.min(rb, byClass[c].length), rnd);
                rbc[c] = pick.length;
                float[] r = new float[pick.length * ss];
                for (int i = 0; i < pick.length; i++) System.arraycopy(real.sample(pick[i]), 0, r, i * ss, ss);
                float[] ra = drawn[c].forward(r, shape);
                System.arraycopy(ra, 0, realX, off, ra.length);
                off += ra.length;
                System.arraycopy(drawn[c].forward(syn[c], shape), 0, synX, c * cfg.ipc() * ss, cfg.ipc() * ss);
            }
            realX = Arrays.copyOf(realX, off);
            INDArray fr = tape.infer(Map.of(ConvNet.INPUT, Nd4j.create(realX, batchShape(off / ss, shape), 'c'))).get(ConvNet.FEATURES);
            INDArray fs = tape.forward(Map.of(ConvNet.INPUT, Nd4j.create(synX, batchShape(classes * cfg.ipc(), shape), 'c')), true).get(ConvNet.FEATURES);
            long f = fs.size(1);
            INDArray dFs = Nd4j.create(DataType.FLOAT, fs.shape());
            double loss = 0;
            int ro = 0;
            for (int c = 0; c < classes; c++) {
                INDArray mr = fr.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(ro, ro + rbc[c]), org.nd4j.linalg.indexing.NDArrayIndex.all()).mean(0);
                ro += rbc[c];
                INDArray rows = fs.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(c * cfg.ipc(), (c + 1) * cfg.ipc()), org.nd4j.linalg.indexing.NDArrayIndex.all());
                INDArray diff = mr.sub(rows.mean(0));
                loss += diff.mul(diff).sumNumber().doubleValue();
                // d/d syn_i of ||mr - mean(syn)||^2 = -2 (mr - mean) / ipc
                INDArray g = diff.mul(-2.0 / cfg.ipc()).reshape(1, f);
                dFs.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(c * cfg.ipc(), (c + 1) * cfg.ipc()), org.nd4j.linalg.indexing.NDArrayIndex.all())
                        .assign(g.broadcast(cfg.ipc(), f));
            }
            // the graph's logits output is unused: its gradient is zero
            INDArray dx = tape.backward(Map.of(ConvNet.FEATURES, dFs)).get(ConvNet.INPUT);
            float[] gAll = dx.castTo(DataType.FLOAT).dup('c').data().asFloat();
            for (int c = 0; c < classes; c++) {
                float[] gc = drawn[c].backward(Arrays.copyOfRange(gAll, c * cfg.ipc() * ss, (c + 1) * cfg.ipc() * ss), shape);
                float[] v = vel[c], x = syn[c];
                for (int k = 0; k < x.length; k++) {
                    v[k] = (float) (cfg.momentum() * v[k] + gc[k]);
                    x[k] -= (float) (cfg.lrImg() * v[k]);
                }
            }
            lossAvg = it == 0 ? loss : 0.95 * lossAvg + 0.05 * loss;
            long now = System.nanoTime();
            if (progress != null && ((now - last) / 1e9 >= 10 || it == cfg.iterations() - 1)) {
                last = now;
                progress.printf(Locale.ROOT, "dm: iteration %d/%d  loss %.4f (avg %.4f)  %.1fs%n", it + 1, cfg.iterations(), loss / classes, lossAvg / classes, (now - t0) / 1e9);
            }
        }
        float[] all = new float[classes * cfg.ipc() * ss];
        int[] labels = new int[classes * cfg.ipc()];
        for (int c = 0; c < classes; c++) {
            System.arraycopy(syn[c], 0, all, c * cfg.ipc() * ss, cfg.ipc() * ss);
            Arrays.fill(labels, c * cfg.ipc(), (c + 1) * cfg.ipc(), c);
        }
        return norm.denormalize(new Dataset(all, labels, shape));
    }

    /**
     * The DM objective without augmentation, for measuring: sum over classes of ||mean embedding of (up to)
     * {@code realPerClass} real images - mean embedding of the synthetic ones||^2 under a ConvNet initialized from
     * {@code netSeed}; both sets in pixel space, normalized with {@code train}'s statistics.
     */
    public static double matchingLoss(Dataset train, Dataset syn, ConvNet.Spec spec, long netSeed, int realPerClass) {
        Normalizer norm = Normalizer.of(train);
        Dataset r = norm.normalize(train), s = norm.normalize(syn);
        int classes = train.numClasses();
        Tape tape = new Tape(ConvNet.build(spec, train.sampleShape(), classes, netSeed), n -> false, DataType.FLOAT, 0);
        double loss = 0;
        for (int c = 0; c < classes; c++) {
            INDArray mr = meanFeature(tape, r, c, realPerClass), ms = meanFeature(tape, s, c, Integer.MAX_VALUE);
            INDArray d = mr.sub(ms);
            loss += d.mul(d).sumNumber().doubleValue();
        }
        return loss;
    }

    private static INDArray meanFeature(Tape tape, Dataset d, int c, int max) {
        java.util.List<Integer> ids = new java.util.ArrayList<>();
        for (int i = 0; i < d.size() && ids.size() < max; i++) if (d.label(i) == c) ids.add(i);
        int[] idx = ids.stream().mapToInt(Integer::intValue).toArray();
        Dataset sub = ImageData.subset(d, idx);
        INDArray x = Nd4j.create(ImageData.pixels(sub), batchShape(idx.length, d.sampleShape()), 'c');
        return tape.infer(Map.of(ConvNet.INPUT, x)).get(ConvNet.FEATURES).mean(0);
    }

    static long[] batchShape(int n, long[] sample) {
        long[] s = new long[sample.length + 1];
        s[0] = n;
        System.arraycopy(sample, 0, s, 1, sample.length);
        return s;
    }
}
