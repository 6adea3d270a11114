package io.condense.dataset;

import io.condense.data.Dataset;

/** Per-channel mean and standard deviation of a training split; the distillation methods work in normalized space. */
public record Normalizer(float[] mean, float[] std) {
    public static Normalizer of(Dataset train) {
        float[][] s = train.channelStats();
        return new Normalizer(s[0], s[1]);
    }

    public Dataset normalize(Dataset d) { return d.normalize(mean, std); }

    /** Back to pixel space: x * std + mean, per channel. */
    public Dataset denormalize(Dataset d) {
        float[] inv = new float[mean.length], neg = new float[mean.length];
        for (int c = 0; c < mean.length; c++) {
            inv[c] = 1 / std[c];
            neg[c] = -mean[c] / std[c];
        }
        // (x - (-mean/std)) / (1/std) = x * std + mean
        return d.normalize(neg, inv);
    }
}
