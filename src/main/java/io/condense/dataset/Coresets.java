package io.condense.dataset;

import io.condense.data.Dataset;
import io.condense.ir.ModelException;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Helpers shared by the coreset and synthesis methods. */
public final class Coresets {
    private Coresets() {}

    /** Indices of every class's samples; fails with one line when a class has fewer than {@code ipc} samples. */
    public static int[][] byClass(Dataset d, int ipc) {
        if (ipc <= 0) throw new ModelException("--ipc must be positive, got " + ipc);
        int k = d.numClasses();
        List<List<Integer>> lists = new ArrayList<>();
        for (int c = 0; c < k; c++) lists.add(new ArrayList<>());
        for (int i = 0; i < d.size(); i++) lists.get(d.label(i)).add(i);
        int[][] out = new int[k][];
        for (int c = 0; c < k; c++) {
            out[c] = lists.get(c).stream().mapToInt(Integer::intValue).toArray();
            if (out[c].length < ipc) {
                throw new ModelException("--ipc " + ipc + " is larger than class " + c + ", which has " + out[c].length + " images");
            }
        }
        return out;
    }

    /** {@code n} distinct elements of {@code from} (partial Fisher-Yates). */
    public static int[] sample(int[] from, int n, SplittableRandom r) {
        int[] a = from.clone();
        for (int i = 0; i < n; i++) {
            int j = i + r.nextInt(a.length - i);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return java.util.Arrays.copyOf(a, n);
    }

    /** Concatenates per-class selections. */
    static int[] concat(int[][] parts) {
        return java.util.Arrays.stream(parts).flatMapToInt(java.util.Arrays::stream).toArray();
    }

    /** Random selection: {@code ipc} images per class uniformly without replacement. */
    public static final class RandomCoreset implements Coreset {
        @Override public String name() { return "random"; }

        @Override public int[] select(Dataset train, int ipc, long seed) {
            int[][] bc = byClass(train, ipc);
            SplittableRandom r = new SplittableRandom(seed);
            int[][] out = new int[bc.length][];
            for (int c = 0; c < bc.length; c++) out[c] = sample(bc[c], ipc, r);
            return concat(out);
        }
    }
}
