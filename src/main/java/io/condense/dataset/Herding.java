package io.condense.dataset;

import io.condense.data.Dataset;
import io.condense.stats.ClassSums;

import java.io.PrintStream;

/**
 * Herding (Welling 2009; as the coreset baseline of the dataset-distillation papers): per class, greedily add the
 * sample that brings the mean embedding of the selection closest to the class mean embedding.
 */
public final class Herding implements Coreset {
    private final FeatureModel.Config features;
    private final PrintStream progress;

    public Herding(FeatureModel.Config features, PrintStream progress) {
        this.features = features;
        this.progress = progress;
    }

    @Override public String name() { return "herding"; }

    @Override public int[] select(Dataset train, int ipc, long seed) {
        int[][] bc = Coresets.byClass(train, ipc);
        Dataset norm = Normalizer.of(train).normalize(train);
        FeatureModel fm = FeatureModel.train(norm, features, progress);
        int[][] out = new int[bc.length][];
        for (int c = 0; c < bc.length; c++) out[c] = herd(fm.embed(norm, bc[c]), bc[c], ipc);
        return Coresets.concat(out);
    }

    /**
     * Greedy herding over the rows of {@code f} (indices mapped through {@code ids}, ascending). The class mean is a
     * {@link ClassSums} mean (chunks of global sample indices), the same bits a partitioned computation merges to.
     */
    public static int[] herd(float[][] f, int[] ids, int k) {
        int n = f.length, d = f[0].length;
        ClassSums cs = new ClassSums(1, d);
        cs.addAll(java.util.Arrays.stream(ids).asLongStream().toArray(), new int[n], f);
        return herd(f, ids, k, cs.mean(0));
    }

    /** Greedy herding towards the given class mean {@code mu}. */
    public static int[] herd(float[][] f, int[] ids, int k, double[] mu) {
        int n = f.length, d = f[0].length;
        double[] sum = new double[d];
        boolean[] used = new boolean[n];
        int[] sel = new int[k];
        for (int t = 0; t < k; t++) {
            int best = -1;
            double bestDist = Double.MAX_VALUE;
            for (int i = 0; i < n; i++) {
                if (used[i]) continue;
                double dist = 0;
                for (int j = 0; j < d; j++) {
                    double m = (sum[j] + f[i][j]) / (t + 1) - mu[j];
                    dist += m * m;
                }
                if (dist < bestDist) {
                    bestDist = dist;
                    best = i;
                }
            }
            used[best] = true;
            for (int j = 0; j < d; j++) sum[j] += f[best][j];
            sel[t] = ids[best];
        }
        return sel;
    }
}
