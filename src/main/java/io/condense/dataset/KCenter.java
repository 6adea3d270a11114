package io.condense.dataset;

import io.condense.data.Dataset;

import java.io.PrintStream;
import java.util.SplittableRandom;

/**
 * K-center greedy (Sener &amp; Savarese 2018): per class, start from a random sample and repeatedly add the sample
 * farthest (Euclidean, in the feature space of a trained ConvNet) from its nearest chosen center.
 */
public final class KCenter implements Coreset {
    private final FeatureModel.Config features;
    private final PrintStream progress;

    public KCenter(FeatureModel.Config features, PrintStream progress) {
        this.features = features;
        this.progress = progress;
    }

    @Override public String name() { return "kcenter"; }

    @Override public int[] select(Dataset train, int ipc, long seed) {
        int[][] bc = Coresets.byClass(train, ipc);
        Dataset norm = Normalizer.of(train).normalize(train);
        FeatureModel fm = FeatureModel.train(norm, features, progress);
        SplittableRandom r = new SplittableRandom(seed);
        int[][] out = new int[bc.length][];
        for (int c = 0; c < bc.length; c++) out[c] = greedy(fm.embed(norm, bc[c]), bc[c], ipc, r.nextInt(bc[c].length));
        return Coresets.concat(out);
    }

    /** K-center greedy over the rows of {@code f} (indices mapped through {@code ids}), starting from row {@code first}. */
    public static int[] greedy(float[][] f, int[] ids, int k, int first) {
        int n = f.length;
        double[] near = new double[n];
        java.util.Arrays.fill(near, Double.MAX_VALUE);
        int[] sel = new int[k];
        int cur = first;
        for (int t = 0; t < k; t++) {
            sel[t] = ids[cur];
            int next = -1;
            double far = -1;
            for (int i = 0; i < n; i++) {
                double d = 0;
                for (int j = 0; j < f[i].length; j++) {
                    double v = f[i][j] - f[cur][j];
                    d += v * v;
                }
                if (d < near[i]) near[i] = d;
                if (near[i] > far) {
                    far = near[i];
                    next = i;
                }
            }
            cur = next;
        }
        return sel;
    }
}
