package io.condense.data;

import io.condense.ir.ModelException;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;

/**
 * An in-memory labelled dataset: samples of one shape (e.g. [1, 28, 28]) as floats, integer labels. Batches are
 * built lazily while iterating ({@link #batches}), with seeded shuffling and augmentation.
 */
public final class Dataset {
    static {
        io.condense.backend.cpu.NativeSetup.init();
    }

    private final float[] x;
    private final int[] y;
    private final long[] sampleShape;
    private final int sampleSize;
    private final int classes;

    /** One mini-batch: inputs [n, sampleShape...] as float32 and labels. */
    public record Batch(INDArray x, int[] labels) {
        public int size() { return labels.length; }
    }

    public Dataset(float[] x, int[] y, long[] sampleShape) {
        long ss = 1;
        for (long d : sampleShape) ss *= d;
        if (ss <= 0 || (long) y.length * ss != x.length) {
            throw new ModelException("dataset has " + x.length + " values for " + y.length + " samples of shape " + Arrays.toString(sampleShape));
        }
        this.x = x;
        this.y = y;
        this.sampleShape = sampleShape.clone();
        this.sampleSize = (int) ss;
        int c = 0;
        for (int l : y) {
            if (l < 0) throw new ModelException("negative label " + l);
            c = Math.max(c, l + 1);
        }
        this.classes = c;
    }

    /** Pairs an IDX image file with an IDX label file; images are scaled by {@code scale} (1/255 for MNIST). */
    public static Dataset fromIdx(java.nio.file.Path images, java.nio.file.Path labels, float scale) {
        Idx.Array im = Idx.read(images), lb = Idx.read(labels);
        if (im.count() != lb.count()) throw new ModelException(images + " has " + im.count() + " images but " + labels + " has " + lb.count() + " labels");
        float[] data = im.data();
        if (scale != 1) for (int i = 0; i < data.length; i++) data[i] *= scale;
        int[] y = new int[lb.count()];
        for (int i = 0; i < y.length; i++) y[i] = (int) lb.data()[i];
        int[] d = im.dims();
        long[] shape;
        if (d.length == 3) shape = new long[] {1, d[1], d[2]}; // grey images get a channel axis
        else {
            shape = new long[d.length - 1];
            for (int i = 1; i < d.length; i++) shape[i - 1] = d[i];
        }
        return new Dataset(data, y, shape);
    }

    public int size() { return y.length; }

    public long[] sampleShape() { return sampleShape.clone(); }

    public int numClasses() { return classes; }

    public int[] labels() { return y.clone(); }

    public int label(int i) { return y[i]; }

    /** A copy of sample {@code i}. */
    public float[] sample(int i) { return Arrays.copyOfRange(x, i * sampleSize, (i + 1) * sampleSize); }

    /** The first {@code n} samples. */
    public Dataset head(int n) {
        n = Math.min(n, size());
        return new Dataset(Arrays.copyOf(x, n * sampleSize), Arrays.copyOf(y, n), sampleShape);
    }

    /** Per-channel (dim 0 of the sample) mean and standard deviation. */
    public float[][] channelStats() {
        int ch = (int) sampleShape[0], per = sampleSize / ch;
        double[] s = new double[ch], s2 = new double[ch];
        for (int i = 0; i < size(); i++) {
            for (int c = 0; c < ch; c++) {
                int base = i * sampleSize + c * per;
                for (int k = 0; k < per; k++) {
                    double v = x[base + k];
                    s[c] += v;
                    s2[c] += v * v;
                }
            }
        }
        float[] mean = new float[ch], std = new float[ch];
        double n = (double) size() * per;
        for (int c = 0; c < ch; c++) {
            mean[c] = (float) (s[c] / n);
            std[c] = (float) Math.sqrt(Math.max(1e-12, s2[c] / n - (s[c] / n) * (s[c] / n)));
        }
        return new float[][] {mean, std};
    }

    /** A new dataset with (x - mean[c]) / std[c] per channel. */
    public Dataset normalize(float[] mean, float[] std) {
        int ch = (int) sampleShape[0], per = sampleSize / ch;
        if (mean.length != ch || std.length != ch) throw new ModelException("normalization needs " + ch + " means and stds");
        float[] out = new float[x.length];
        for (int i = 0; i < size(); i++) {
            for (int c = 0; c < ch; c++) {
                int base = i * sampleSize + c * per;
                float m = mean[c], inv = 1 / std[c];
                for (int k = 0; k < per; k++) out[base + k] = (x[base + k] - m) * inv;
            }
        }
        return new Dataset(out, y, sampleShape);
    }

    /**
     * Iterates mini-batches lazily. With {@code shuffle} the order is a permutation drawn from {@code seed};
     * augmentations get a per-sample stream from the same seed. The last batch may be smaller unless
     * {@code dropLast}.
     */
    public Iterable<Batch> batches(int batchSize, boolean shuffle, long seed, boolean dropLast, List<Augmentation> augment) {
        if (batchSize <= 0) throw new ModelException("batch size must be positive, got " + batchSize);
        int n = size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        SplittableRandom rnd = new SplittableRandom(seed);
        if (shuffle) {
            for (int i = n - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        int nb = dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
        long augSeed = rnd.nextLong();
        return () -> new Iterator<>() {
            int b = 0;
            final SplittableRandom ar = new SplittableRandom(augSeed);

            @Override public boolean hasNext() { return b < nb; }

            @Override public Batch next() {
                if (!hasNext()) throw new NoSuchElementException();
                int from = b * batchSize, to = Math.min(n, from + batchSize);
                b++;
                int m = to - from;
                float[] bx = new float[m * sampleSize];
                int[] by = new int[m];
                for (int i = 0; i < m; i++) {
                    int s = order[from + i];
                    System.arraycopy(x, s * sampleSize, bx, i * sampleSize, sampleSize);
                    by[i] = y[s];
                    if (augment != null) for (Augmentation a : augment) a.apply(bx, i * sampleSize, sampleShape, ar);
                }
                long[] shape = new long[sampleShape.length + 1];
                shape[0] = m;
                System.arraycopy(sampleShape, 0, shape, 1, sampleShape.length);
                return new Batch(Nd4j.create(bx, shape, 'c'), by);
            }
        };
    }

    public Iterable<Batch> batches(int batchSize) { return batches(batchSize, false, 0, false, null); }
}
