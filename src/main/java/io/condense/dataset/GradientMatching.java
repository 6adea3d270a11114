package io.condense.dataset;

import io.condense.data.Dataset;
import io.condense.ir.ModelException;
import io.condense.train.Losses;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Dataset Condensation with Gradient Matching (DC, Zhao, Mopuri &amp; Bilen, ICLR 2021) with differentiable Siamese
 * augmentation (DSA): per class, the synthetic images are moved so that the network's weight gradient on them
 * matches its gradient on real images of the class (layer-wise sum over output channels of 1 - cosine; biases and
 * other 1-D parameters are not matched, as in the reference code); the network is trained on the synthetic set
 * between matching steps and re-initialized every outer iteration.
 *
 * <p>The matching gradient needs a second derivative (pixels through the parameter gradient). Instead of double
 * back-propagation it uses the mixed-derivative identity d/dx [v . dL/dtheta] = d/dtheta-direction of dL/dx: a
 * central difference of the input gradient at theta +- eps v (two extra forward/backward passes of the small
 * synthetic batch), as DARTS does for its Hessian-vector product.
 */
public final class GradientMatching {
    /**
     * @param iterations outer iterations (paper: 1000)
     * @param outerLoop matching steps per network initialization (paper: 1 at IPC 1, 10 at IPC 10, 50 at IPC 50)
     * @param realBatch real images per class per matching step (paper: 256)
     */
    public record Config(int ipc, int iterations, int outerLoop, int realBatch, double lrImg, ConvNet.Spec net, String dsa, long seed) {
        public Config {
            if (ipc <= 0) throw new ModelException("--ipc must be positive, got " + ipc);
            if (iterations < 0 || outerLoop <= 0 || realBatch <= 0) throw new ModelException("dc: iterations, outer loop and real batch must be positive");
            new DiffAugment(dsa);
        }
    }

    private GradientMatching() {}

    public static Dataset distill(Dataset train, Config cfg, PrintStream progress) {
        int classes = train.numClasses();
        int[][] byClass = Coresets.byClass(train, cfg.ipc());
        Normalizer norm = Normalizer.of(train);
        Dataset real = norm.normalize(train);
        long[] shape = train.sampleShape();
        int ss = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        int ipc = cfg.ipc();
        SplittableRandom rnd = new SplittableRandom(cfg.seed());
        DiffAugment aug = new DiffAugment(cfg.dsa());
        float[][] syn = new float[classes][ipc * ss];
        for (int c = 0; c < classes; c++) {
            int[] pick = Coresets.sample(byClass[c], ipc, rnd);
            for (int i = 0; i < ipc; i++) System.arraycopy(real.sample(pick[i]), 0, syn[c], i * ss, ss);
        }
        float[][] vel = new float[classes][ipc * ss];
        int innerLoop = ipc == 1 ? 1 : ipc <= 10 ? 50 : 10;
        long t0 = System.nanoTime(), last = t0;
        for (int it = 0; it < cfg.iterations(); it++) {
            Tape tape = new Tape(ConvNet.build(cfg.net(), shape, classes, rnd.nextLong()), n -> true, DataType.FLOAT, 0).requireInputGrad(ConvNet.INPUT);
            Optimizer netOpt = Optimizer.sgd(0.01).momentum(0.5);
            double lossSum = 0;
            for (int ol = 0; ol < cfg.outerLoop(); ol++) {
                for (int c = 0; c < classes; c++) {
                    DiffAugment.Applied a = aug.draw(rnd);
                    int[] pick = Coresets.sample(byClass[c], Math.min(cfg.realBatch(), byClass[c].length), rnd);
                    float[] r = new float[pick.length * ss];
                    for (int i = 0; i < pick.length; i++) System.arraycopy(real.sample(pick[i]), 0, r, i * ss, ss);
                    float[] sa = a.forward(syn[c], shape);
                    double[] dist = new double[1];
                    float[] g = matchingGradient(tape, a.forward(r, shape), pick.length, sa, ipc, shape, c, dist);
                    lossSum += dist[0];
                    if (g == null) continue;
                    float[] gx = a.backward(g, shape);
                    float[] vv = vel[c], x = syn[c];
                    for (int k = 0; k < x.length; k++) {
                        vv[k] = (float) (0.5 * vv[k] + gx[k]);
                        x[k] -= (float) (cfg.lrImg() * vv[k]);
                    }
                }
                if (ol == cfg.outerLoop() - 1) break;
                // train the network on the (augmented) synthetic set
                for (int s = 0; s < innerLoop; s++) {
                    float[] all = new float[classes * ipc * ss];
                    int[] lab = new int[classes * ipc];
                    for (int c = 0; c < classes; c++) {
                        for (int i = 0; i < ipc; i++) {
                            float[] one = Arrays.copyOfRange(syn[c], i * ss, (i + 1) * ss);
                            System.arraycopy(aug.draw(rnd).forward(one, shape), 0, all, (c * ipc + i) * ss, ss);
                            lab[c * ipc + i] = c;
                        }
                    }
                    INDArray logits = tape.forward(Map.of(ConvNet.INPUT, Nd4j.create(all, DistributionMatching.batchShape(lab.length, shape), 'c')), true).get(ConvNet.LOGITS);
                    Map<String, INDArray> gr = tape.backward(Map.of(ConvNet.LOGITS, Losses.softmaxCrossEntropy(logits, lab, 0).grad()));
                    gr.remove(ConvNet.INPUT);
                    netOpt.step(tape.parameters(), gr);
                }
            }
            long now = System.nanoTime();
            if (progress != null && ((now - last) / 1e9 >= 10 || it == cfg.iterations() - 1)) {
                last = now;
                progress.printf(Locale.ROOT, "dc: iteration %d/%d  matching loss %.4f  %.1fs%n", it + 1, cfg.iterations(),
                        lossSum / (classes * cfg.outerLoop()), (now - t0) / 1e9);
            }
        }
        float[] all = new float[classes * ipc * ss];
        int[] labels = new int[classes * ipc];
        for (int c = 0; c < classes; c++) {
            System.arraycopy(syn[c], 0, all, c * ipc * ss, ipc * ss);
            Arrays.fill(labels, c * ipc, (c + 1) * ipc, c);
        }
        return norm.denormalize(new Dataset(all, labels, shape));
    }

    /**
     * d D(grad on real, grad on syn) / d syn pixels for one class, by the central difference of the input gradient
     * along the matching direction in parameter space; {@code dist[0]} receives D. Null when D has no gradient.
     */
    static float[] matchingGradient(Tape tape, float[] realX, int nReal, float[] synX, int nSyn, long[] shape, int label, double[] dist) {
        Map<String, INDArray> gReal = paramGrads(tape, realX, nReal, shape, label);
        Map<String, INDArray> gSyn = paramGrads(tape, synX, nSyn, shape, label);
        Map<String, INDArray> v = new HashMap<>();
        dist[0] = matchDistance(gReal, gSyn, v);
        double vn = 0;
        for (INDArray x : v.values()) vn += x.mul(x).sumNumber().doubleValue();
        vn = Math.sqrt(vn);
        if (vn == 0) return null;
        double eps = 0.01 / vn;
        Map<String, INDArray> saved = new HashMap<>();
        for (String k : v.keySet()) saved.put(k, tape.parameters().get(k).dup());
        for (Map.Entry<String, INDArray> e : v.entrySet()) tape.parameters().get(e.getKey()).addi(e.getValue().mul(eps));
        float[] dPlus = inputGrad(tape, synX, nSyn, shape, label);
        for (Map.Entry<String, INDArray> e : v.entrySet()) tape.parameters().get(e.getKey()).assign(saved.get(e.getKey())).subi(e.getValue().mul(eps));
        float[] dMinus = inputGrad(tape, synX, nSyn, shape, label);
        for (String k : v.keySet()) tape.parameters().get(k).assign(saved.get(k));
        float[] g = new float[dPlus.length];
        for (int k = 0; k < g.length; k++) g[k] = (float) ((dPlus[k] - dMinus[k]) / (2 * eps));
        return g;
    }

    /** D(grad on real, grad on syn) at the tape's current parameters (for checks). */
    static double matchingDistance(Tape tape, float[] realX, int nReal, float[] synX, int nSyn, long[] shape, int label) {
        return matchDistance(paramGrads(tape, realX, nReal, shape, label), paramGrads(tape, synX, nSyn, shape, label), new HashMap<>());
    }

    private static Map<String, INDArray> run(Tape tape, float[] x, int n, long[] shape, int label) {
        INDArray logits = tape.forward(Map.of(ConvNet.INPUT, Nd4j.create(x, DistributionMatching.batchShape(n, shape), 'c')), true).get(ConvNet.LOGITS);
        int[] y = new int[n];
        Arrays.fill(y, label);
        return tape.backward(Map.of(ConvNet.LOGITS, Losses.softmaxCrossEntropy(logits, y, 0).grad()));
    }

    private static Map<String, INDArray> paramGrads(Tape tape, float[] x, int n, long[] shape, int label) {
        Map<String, INDArray> g = run(tape, x, n, shape, label);
        g.remove(ConvNet.INPUT);
        return g;
    }

    private static float[] inputGrad(Tape tape, float[] x, int n, long[] shape, int label) {
        return run(tape, x, n, shape, label).get(ConvNet.INPUT).castTo(DataType.FLOAT).dup('c').data().asFloat();
    }

    /**
     * DC's distance: for every parameter of rank >= 2, reshaped [out, rest], the sum over rows of 1 - cos(real, syn).
     * Fills {@code dSyn} with d distance / d synthetic gradient.
     */
    static double matchDistance(Map<String, INDArray> real, Map<String, INDArray> syn, Map<String, INDArray> dSyn) {
        double total = 0;
        for (Map.Entry<String, INDArray> e : syn.entrySet()) {
            INDArray s = e.getValue(), r = real.get(e.getKey());
            if (s.rank() < 2) continue;
            long rows = s.size(0), cols = s.length() / rows;
            INDArray a = r.reshape('c', rows, cols), b = s.reshape('c', rows, cols);
            INDArray dot = a.mul(b).sum(true, 1);
            INDArray na = a.norm2(true, 1).addi(1e-6), nb = b.norm2(true, 1).addi(1e-6);
            INDArray cos = dot.div(na.mul(nb));
            total += rows - cos.sumNumber().doubleValue();
            // d(1 - cos)/db = -(a / (|a||b|) - cos * b / |b|^2)
            INDArray d = a.divColumnVector(na.mul(nb)).subi(b.mulColumnVector(cos.div(nb.mul(nb)))).negi();
            dSyn.put(e.getKey(), d.reshape(s.shape()));
        }
        return total;
    }
}
