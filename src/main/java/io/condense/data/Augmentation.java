package io.condense.data;

import java.util.SplittableRandom;

/** An in-place random transform of one sample [C, H, W] stored at {@code off} in a float buffer. */
@FunctionalInterface
public interface Augmentation {
    void apply(float[] buf, int off, long[] shape, SplittableRandom rnd);

    /** Pads each side by {@code pad} zeros and takes a random crop of the original size. */
    static Augmentation randomCrop(int pad) {
        return (buf, off, shape, rnd) -> {
            int c = (int) shape[0], h = (int) shape[1], w = (int) shape[2];
            int dy = rnd.nextInt(2 * pad + 1) - pad, dx = rnd.nextInt(2 * pad + 1) - pad;
            if (dy == 0 && dx == 0) return;
            float[] tmp = new float[h * w];
            for (int ch = 0; ch < c; ch++) {
                int base = off + ch * h * w;
                for (int i = 0; i < h; i++) {
                    int si = i + dy;
                    for (int j = 0; j < w; j++) {
                        int sj = j + dx;
                        tmp[i * w + j] = si >= 0 && si < h && sj >= 0 && sj < w ? buf[base + si * w + sj] : 0f;
                    }
                }
                System.arraycopy(tmp, 0, buf, base, h * w);
            }
        };
    }

    /** Mirrors the sample left-right with probability {@code p}. */
    static Augmentation horizontalFlip(double p) {
        return (buf, off, shape, rnd) -> {
            if (rnd.nextDouble() >= p) return;
            int c = (int) shape[0], h = (int) shape[1], w = (int) shape[2];
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < h; i++) {
                    int row = off + (ch * h + i) * w;
                    for (int a = 0, b = w - 1; a < b; a++, b--) {
                        float t = buf[row + a];
                        buf[row + a] = buf[row + b];
                        buf[row + b] = t;
                    }
                }
            }
        };
    }
}
