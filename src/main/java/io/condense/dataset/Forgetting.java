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
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Forgetting events (Toneva et al., ICLR 2019): while a ConvNet trains, count for each sample how often it goes
 * from correctly classified to misclassified between its mini-batch visits; samples never learned count as the
 * most forgotten. Keeps the {@code ipc} most forgotten samples per class (ties in random order), the examples the
 * paper shows cannot be dropped without hurting accuracy.
 */
public final class Forgetting implements Coreset {
    private final FeatureModel.Config train;
    private final PrintStream progress;
    private int[] lastCounts;

    /** {@code train} gives the network, epochs (at least 2 to see events), sample limit, learning rate and seed. */
    public Forgetting(FeatureModel.Config train, PrintStream progress) {
        this.train = train;
        this.progress = progress;
    }

    @Override public String name() { return "forgetting"; }

    /** Forgetting counts of the last {@link #select} (Integer.MAX_VALUE for never learned), by training index. */
    public int[] lastCounts() { return lastCounts; }

    @Override public int[] select(Dataset data, int ipc, long seed) {
        Coresets.byClass(data, ipc);
        Dataset d = Normalizer.of(data).normalize(data);
        int n = train.limit() > 0 ? Math.min(train.limit(), d.size()) : d.size();
        Dataset used = d.head(n);
        int[][] bc = Coresets.byClass(used, ipc);
        int[] counts = count(used, seed);
        lastCounts = counts;
        SplittableRandom r = new SplittableRandom(seed);
        int[][] out = new int[bc.length][];
        for (int c = 0; c < bc.length; c++) {
            int[] ids = Coresets.sample(bc[c], bc[c].length, r); // random order breaks ties randomly
            Integer[] boxed = java.util.Arrays.stream(ids).boxed().toArray(Integer[]::new);
            java.util.Arrays.sort(boxed, (a, b) -> Integer.compare(counts[b], counts[a])); // stable: keeps the random order among ties
            out[c] = new int[ipc];
            for (int i = 0; i < ipc; i++) out[c][i] = boxed[i];
        }
        return Coresets.concat(out);
    }

    /** Trains and returns the forgetting count of every sample of {@code d} (normalized). */
    int[] count(Dataset d, long seed) {
        if (train.epochs() < 2) throw new ModelException("forgetting events need at least 2 training epochs, got " + train.epochs());
        Tape tape = new Tape(ConvNet.build(train.net(), d.sampleShape(), d.numClasses(), train.seed()), x -> true, DataType.FLOAT, seed);
        Optimizer opt = Optimizer.sgd(train.lr()).momentum(0.9).weightDecay(5e-4);
        int n = d.size(), bs = 64;
        long[] shape = d.sampleShape();
        int ss = (int) java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        byte[] prev = new byte[n]; // 0 never seen, 1 was correct, 2 was wrong
        boolean[] learned = new boolean[n];
        int[] counts = new int[n];
        SplittableRandom r = new SplittableRandom(seed);
        int[] all = new int[n];
        for (int i = 0; i < n; i++) all[i] = i;
        long t0 = System.nanoTime(), last = t0;
        for (int e = 0; e < train.epochs(); e++) {
            int[] order = Coresets.sample(all, n, r);
            for (int s = 0; s < n; s += bs) {
                int m = Math.min(bs, n - s);
                float[] x = new float[m * ss];
                int[] y = new int[m];
                for (int i = 0; i < m; i++) {
                    System.arraycopy(d.sample(order[s + i]), 0, x, i * ss, ss);
                    y[i] = d.label(order[s + i]);
                }
                INDArray logits = tape.forward(Map.of(ConvNet.INPUT, Nd4j.create(x, DistributionMatching.batchShape(m, shape), 'c')), true).get(ConvNet.LOGITS);
                INDArray pred = logits.argMax(1);
                for (int i = 0; i < m; i++) {
                    int id = order[s + i];
                    boolean ok = pred.getInt(i) == y[i];
                    if (ok) learned[id] = true;
                    if (prev[id] == 1 && !ok) counts[id]++;
                    prev[id] = (byte) (ok ? 1 : 2);
                }
                Losses.Loss l = Losses.softmaxCrossEntropy(logits, y, 0);
                opt.step(tape.parameters(), tape.backward(Map.of(ConvNet.LOGITS, l.grad())));
                long now = System.nanoTime();
                if (progress != null && (now - last) / 1e9 >= 30) {
                    last = now;
                    progress.printf(Locale.ROOT, "forgetting: epoch %d/%d [%d/%d] %.0fs%n", e + 1, train.epochs(), s + m, n, (now - t0) / 1e9);
                }
            }
        }
        for (int i = 0; i < n; i++) if (!learned[i]) counts[i] = Integer.MAX_VALUE;
        return counts;
    }
}
