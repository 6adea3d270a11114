package io.condense.backend.cpu;

/**
 * Direct float32 loops for small 2-D convolutions, max pooling and matrix products, run on the calling thread.
 * For tensors of a few thousand elements a libnd4j call costs more than the arithmetic (argument marshalling,
 * an OpenMP region whose threads may be descheduled on a busy machine); these loops avoid both. Layouts are
 * dense C order: X [N, C, H, W], W [M, C, KH, KW], Y [N, M, OH, OW].
 */
final class SmallConv {
    private SmallConv() {}

    /**
     * Convolution (group 1) as im2col + a GEMM whose inner loop runs over the output pixels; adds {@code bias}
     * (length M, or null) and applies ReLU when {@code relu}.
     */
    static float[] conv(float[] x, int n, int c, int h, int wd, float[] w, int m, int kh, int kw, float[] bias,
                        int sh, int sw, int dh, int dw, int ph, int pw, int oh, int ow, boolean relu) {
        int k = c * kh * kw, p = oh * ow;
        float[] col = new float[k * p];
        float[] y = new float[n * m * p];
        for (int b = 0; b < n; b++) {
            int xb = b * c * h * wd;
            im2col(x, xb, c, h, wd, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, col);
            gemm(w, m, k, col, p, y, b * m * p, bias, relu);
        }
        return y;
    }

    private static void im2col(float[] x, int xb, int c, int h, int wd, int kh, int kw, int sh, int sw, int dh, int dw,
                               int ph, int pw, int oh, int ow, float[] col) {
        int p = oh * ow;
        for (int ci = 0; ci < c; ci++) {
            for (int i = 0; i < kh; i++) {
                for (int j = 0; j < kw; j++) {
                    int row = ((ci * kh + i) * kw + j) * p;
                    // output columns whose input column iw = o*sw - pw + j*dw lies in [0, wd)
                    int off = j * dw - pw;
                    int lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                    int hi = wd - 1 - off < 0 ? 0 : Math.min(ow, (wd - 1 - off) / sw + 1);
                    for (int o = 0; o < oh; o++) {
                        int ih = o * sh - ph + i * dh;
                        int dst = row + o * ow;
                        if (ih < 0 || ih >= h || lo >= hi) {
                            java.util.Arrays.fill(col, dst, dst + ow, 0f);
                            continue;
                        }
                        if (lo > 0) java.util.Arrays.fill(col, dst, dst + lo, 0f);
                        if (hi < ow) java.util.Arrays.fill(col, dst + hi, dst + ow, 0f);
                        int src = xb + (ci * h + ih) * wd + off;
                        if (sw == 1) {
                            System.arraycopy(x, src + lo, col, dst + lo, hi - lo);
                        } else {
                            for (int q = lo; q < hi; q++) col[dst + q] = x[src + q * sw];
                        }
                    }
                }
            }
        }
    }

    /** y[yo + r*p + q] = act(bias[r] + sum_k a[r*k + kk] * b[kk*p + q]) for r < m, q < p. */
    static void gemm(float[] a, int m, int k, float[] b, int p, float[] y, int yo, float[] bias, boolean relu) {
        for (int r = 0; r < m; r++) {
            int yr = yo + r * p;
            java.util.Arrays.fill(y, yr, yr + p, bias == null ? 0f : bias[r]);
            int ar = r * k;
            int kk = 0;
            for (; kk + 3 < k; kk += 4) {
                float a0 = a[ar + kk], a1 = a[ar + kk + 1], a2 = a[ar + kk + 2], a3 = a[ar + kk + 3];
                int b0 = kk * p, b1 = b0 + p, b2 = b1 + p, b3 = b2 + p;
                for (int q = 0; q < p; q++) {
                    y[yr + q] += a0 * b[b0 + q] + a1 * b[b1 + q] + a2 * b[b2 + q] + a3 * b[b3 + q];
                }
            }
            for (; kk < k; kk++) {
                float a0 = a[ar + kk];
                int b0 = kk * p;
                for (int q = 0; q < p; q++) y[yr + q] += a0 * b[b0 + q];
            }
            if (relu) for (int q = 0; q < p; q++) y[yr + q] = Math.max(y[yr + q], 0f);
        }
    }

    /**
     * Max pooling over [N*C] planes of h x wd; windows that fall partly outside the input (padding) take the max
     * of their inside elements (ONNX MaxPool pads with -inf).
     */
    static float[] maxPool(float[] x, int planes, int h, int wd, int kh, int kw, int sh, int sw, int dh, int dw,
                           int ph, int pw, int oh, int ow) {
        float[] y = new float[planes * oh * ow];
        for (int pl = 0; pl < planes; pl++) {
            int xb = pl * h * wd, yb = pl * oh * ow;
            for (int o = 0; o < oh; o++) {
                for (int q = 0; q < ow; q++) {
                    float mx = Float.NEGATIVE_INFINITY;
                    boolean nan = false;
                    for (int i = 0; i < kh; i++) {
                        int ih = o * sh - ph + i * dh;
                        if (ih < 0 || ih >= h) continue;
                        int row = xb + ih * wd;
                        for (int j = 0; j < kw; j++) {
                            int iw = q * sw - pw + j * dw;
                            if (iw < 0 || iw >= wd) continue;
                            float v = x[row + iw];
                            if (v > mx) mx = v;
                            else if (v != v) nan = true;
                        }
                    }
                    y[yb + o * ow + q] = nan ? Float.NaN : mx;
                }
            }
        }
        return y;
    }

    /** y [m, n] = act(a [m, k] x b [k, n] + bias [n]). */
    static float[] matmul(float[] a, int m, int k, float[] b, int n, float[] bias, boolean relu) {
        float[] y = new float[m * n];
        for (int r = 0; r < m; r++) {
            int yr = r * n;
            if (bias != null) System.arraycopy(bias, 0, y, yr, n);
            for (int kk = 0; kk < k; kk++) {
                float av = a[r * k + kk];
                int br = kk * n;
                for (int q = 0; q < n; q++) y[yr + q] += av * b[br + q];
            }
            if (relu) for (int q = 0; q < n; q++) y[yr + q] = Math.max(y[yr + q], 0f);
        }
        return y;
    }
}
