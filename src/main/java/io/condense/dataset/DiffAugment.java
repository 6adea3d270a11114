package io.condense.dataset;

import io.condense.ir.ModelException;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Differentiable Siamese augmentation (DSA, Zhao &amp; Bilen, ICML 2021): random transforms that are linear in the
 * pixels, so the gradient of a loss with respect to the augmented batch maps back to the original pixels through
 * the transposed operator ({@link Applied#backward}). "Siamese": one draw of the random parameters is applied to
 * the real and to the synthetic batch alike ({@link #draw} once, {@link Applied#forward} on both).
 *
 * <p>Like the reference code's single mode, each draw picks one transform family of the strategy: {@code color}
 * (brightness, saturation, contrast), {@code crop} (translation by up to 1/8 of the size with zero fill),
 * {@code cutout} (a zeroed square of half the size), {@code flip} (left-right), {@code scale} (x and y by
 * 1/1.2..1.2) or {@code rotate} (+-15 degrees), both bilinear with zero padding. Differences from the reference:
 * the parameters are shared by every sample of the batch (one draw per call).
 */
public final class DiffAugment {
    private final List<String> ops;

    /** Underscore-separated families, e.g. "color_crop_cutout_scale_rotate" (the default: flip breaks digits). */
    public DiffAugment(String strategy) {
        ops = new ArrayList<>();
        if (strategy == null || strategy.isBlank() || strategy.equalsIgnoreCase("none")) return;
        for (String s : strategy.toLowerCase(Locale.ROOT).split("_")) {
            if (!List.of("color", "crop", "cutout", "flip", "scale", "rotate").contains(s)) {
                throw new ModelException("unknown augmentation '" + s + "' (color, crop, cutout, flip, scale, rotate)");
            }
            ops.add(s);
        }
    }

    public static final String DEFAULT = "color_crop_cutout_scale_rotate";

    public boolean isEmpty() { return ops.isEmpty(); }

    /** One random transform, applicable to any batch of samples [C, H, W]. */
    public Applied draw(SplittableRandom r) {
        if (ops.isEmpty()) return new Applied("none", new double[0]);
        String op = ops.get(r.nextInt(ops.size()));
        double[] p = switch (op) {
            case "color" -> new double[] {r.nextDouble() - 0.5, r.nextDouble() * 2, r.nextDouble() + 0.5};
            case "crop" -> new double[] {r.nextDouble(), r.nextDouble()};
            case "cutout" -> new double[] {r.nextDouble(), r.nextDouble()};
            case "scale" -> new double[] {r.nextDouble() * (1.2 - 1 / 1.2) + 1 / 1.2, r.nextDouble() * (1.2 - 1 / 1.2) + 1 / 1.2};
            case "rotate" -> new double[] {(r.nextDouble() - 0.5) * 2 * 15 / 180.0 * Math.PI};
            default -> new double[0];
        };
        return new Applied(op, p);
    }

    /** A drawn transform. Buffers hold {@code n} samples of {@code shape} [C, H, W] back to back. */
    public record Applied(String op, double[] p) {
        public float[] forward(float[] x, long[] shape) { return apply(x, shape, false); }

        /** The transposed operator: d loss / d x from d loss / d forward(x). */
        public float[] backward(float[] dy, long[] shape) { return apply(dy, shape, true); }

        private float[] apply(float[] x, long[] shape, boolean adjoint) {
            int c = (int) shape[0], h = (int) shape[1], w = (int) shape[2], ss = c * h * w, n = x.length / ss;
            float[] y = new float[x.length];
            switch (op) {
                case "none" -> System.arraycopy(x, 0, y, 0, x.length);
                case "color" -> {
                    // brightness + b, saturation s around the channel mean, contrast k around the sample mean: all self-adjoint
                    // except that the mean-subtraction steps compose in reverse order for the adjoint
                    System.arraycopy(x, 0, y, 0, x.length);
                    if (!adjoint) {
                        for (int i = 0; i < x.length; i++) y[i] += (float) p[0];
                        saturation(y, n, c, h * w, p[1]);
                        contrast(y, n, ss, p[2]);
                    } else {
                        contrast(y, n, ss, p[2]);
                        saturation(y, n, c, h * w, p[1]);
                        // brightness adds a constant: its Jacobian is the identity
                    }
                }
                case "crop" -> {
                    int sx = (int) Math.round((p[0] * 2 - 1) * w / 8.0), sy = (int) Math.round((p[1] * 2 - 1) * h / 8.0);
                    if (adjoint) {
                        sx = -sx;
                        sy = -sy;
                    }
                    for (int s = 0; s < n; s++) {
                        for (int ch = 0; ch < c; ch++) {
                            int base = s * ss + ch * h * w;
                            for (int i = 0; i < h; i++) {
                                int si = i + sy;
                                if (si < 0 || si >= h) continue;
                                for (int j = 0; j < w; j++) {
                                    int sj = j + sx;
                                    if (sj >= 0 && sj < w) y[base + i * w + j] = x[base + si * w + sj];
                                }
                            }
                        }
                    }
                }
                case "cutout" -> {
                    int ch2 = h / 2, cw2 = w / 2;
                    int cy = (int) (p[0] * (h - ch2 / 2 * 2 + 1)) + ch2 / 2, cx = (int) (p[1] * (w - cw2 / 2 * 2 + 1)) + cw2 / 2;
                    int y0 = Math.max(0, cy - ch2 / 2), y1 = Math.min(h, cy - ch2 / 2 + ch2);
                    int x0 = Math.max(0, cx - cw2 / 2), x1 = Math.min(w, cx - cw2 / 2 + cw2);
                    System.arraycopy(x, 0, y, 0, x.length);
                    for (int s = 0; s < n; s++) {
                        for (int ch = 0; ch < c; ch++) {
                            int base = s * ss + ch * h * w;
                            for (int i = y0; i < y1; i++) for (int j = x0; j < x1; j++) y[base + i * w + j] = 0;
                        }
                    }
                }
                case "flip" -> {
                    for (int s = 0; s < n; s++) {
                        for (int ch = 0; ch < c; ch++) {
                            int base = s * ss + ch * h * w;
                            for (int i = 0; i < h; i++) for (int j = 0; j < w; j++) y[base + i * w + j] = x[base + i * w + (w - 1 - j)];
                        }
                    }
                }
                case "scale" -> warp(x, y, n, c, h, w, new double[] {p[0], 0, 0, p[1]}, adjoint);
                case "rotate" -> warp(x, y, n, c, h, w, new double[] {Math.cos(p[0]), Math.sin(p[0]), -Math.sin(p[0]), Math.cos(p[0])}, adjoint);
                default -> throw new IllegalStateException(op);
            }
            return y;
        }
    }

    private static void saturation(float[] y, int n, int c, int hw, double s) {
        if (c == 1) return; // the channel mean of a grey image is the image: identity
        for (int i = 0; i < n; i++) {
            int base = i * c * hw;
            for (int k = 0; k < hw; k++) {
                double m = 0;
                for (int ch = 0; ch < c; ch++) m += y[base + ch * hw + k];
                m /= c;
                for (int ch = 0; ch < c; ch++) y[base + ch * hw + k] = (float) ((y[base + ch * hw + k] - m) * s + m);
            }
        }
    }

    private static void contrast(float[] y, int n, int ss, double k) {
        for (int i = 0; i < n; i++) {
            double m = 0;
            for (int j = 0; j < ss; j++) m += y[i * ss + j];
            m /= ss;
            for (int j = 0; j < ss; j++) y[i * ss + j] = (float) ((y[i * ss + j] - m) * k + m);
        }
    }

    /** Bilinear sampling at theta * (output grid), align_corners = true, zero outside; adjoint scatters. */
    private static void warp(float[] x, float[] y, int n, int c, int h, int w, double[] t, boolean adjoint) {
        int hw = h * w;
        int[] idx = new int[hw * 4];
        float[] wt = new float[hw * 4];
        for (int i = 0; i < h; i++) {
            double yn = h == 1 ? 0 : -1 + 2.0 * i / (h - 1);
            for (int j = 0; j < w; j++) {
                double xn = w == 1 ? 0 : -1 + 2.0 * j / (w - 1);
                double sx = t[0] * xn + t[1] * yn, sy = t[2] * xn + t[3] * yn;
                double px = (sx + 1) / 2 * (w - 1), py = (sy + 1) / 2 * (h - 1);
                int x0 = (int) Math.floor(px), y0 = (int) Math.floor(py);
                double fx = px - x0, fy = py - y0;
                int o = (i * w + j) * 4;
                int[] xs = {x0, x0 + 1, x0, x0 + 1}, ys = {y0, y0, y0 + 1, y0 + 1};
                double[] ws = {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
                for (int k = 0; k < 4; k++) {
                    boolean in = xs[k] >= 0 && xs[k] < w && ys[k] >= 0 && ys[k] < h;
                    idx[o + k] = in ? ys[k] * w + xs[k] : 0;
                    wt[o + k] = in ? (float) ws[k] : 0f;
                }
            }
        }
        for (int s = 0; s < n * c; s++) {
            int base = s * hw;
            for (int o = 0; o < hw; o++) {
                for (int k = 0; k < 4; k++) {
                    float wk = wt[o * 4 + k];
                    if (wk == 0) continue;
                    if (adjoint) y[base + idx[o * 4 + k]] += wk * x[base + o];
                    else y[base + o] += wk * x[base + idx[o * 4 + k]];
                }
            }
        }
    }
}
