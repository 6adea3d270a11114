package io.condense.backend.cpu;

/**
 * Direct float32 loops for small 2-D convolutions, max pooling and matrix products, run on the calling thread.
 * For tensors of a few thousand elements a libnd4j call costs more than the arithmetic (argument marshalling,
 * an OpenMP region whose threads may be descheduled on a busy machine); these loops avoid both. Layouts are
 * dense C order: X [N, C, H, W], W [M, C, KH, KW], Y [N, M, OH, OW].
 */
final class SmallConv {
    private SmallConv() {}

    /*
     * Every hot loop below indexes its arrays from 0 (row arrays rather than offsets into one flat array): the
     * JDK 17 C2 compiler vectorizes `y[q] += a * b[q]` but not `y[yo + q] += a * b[bo + q]` with variable
     * offsets, measured ~4x slower on mnist-8's second convolution.
     */

    /**
     * Convolution (group 1) as im2col + a GEMM whose inner loop runs over the output pixels; adds {@code bias}
     * (length M, or null) and applies ReLU when {@code relu}. Returns the N*M output planes as rows of OH*OW.
     */
    static float[][] conv(float[] x, int n, int c, int h, int wd, float[] w, int m, int kh, int kw, float[] bias,
                          int sh, int sw, int dh, int dw, int ph, int pw, int oh, int ow, boolean relu) {
        int k = c * kh * kw, p = oh * ow;
        float[][] col = new float[k][p];
        float[][] y = new float[n * m][];
        for (int b = 0; b < n; b++) {
            im2col(x, b * c * h * wd, c, h, wd, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, col);
            float[][] yb = new float[m][p];
            gemm(w, m, k, col, yb, bias, relu);
            System.arraycopy(yb, 0, y, b * m, m);
        }
        return y;
    }

    /** Columns of one image: col[(ci*kh + i)*kw + j][o*ow + q] (zeros where the window lies in the padding). */
    static void im2col(float[] x, int xb, int c, int h, int wd, int kh, int kw, int sh, int sw, int dh, int dw,
                       int ph, int pw, int oh, int ow, float[][] col) {
        for (int ci = 0; ci < c; ci++) {
            for (int i = 0; i < kh; i++) {
                for (int j = 0; j < kw; j++) {
                    float[] row = col[(ci * kh + i) * kw + j];
                    // output columns whose input column iw = q*sw - pw + j*dw lies in [0, wd)
                    int off = j * dw - pw;
                    int lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                    int hi = wd - 1 - off < 0 ? 0 : Math.min(ow, (wd - 1 - off) / sw + 1);
                    for (int o = 0; o < oh; o++) {
                        int ih = o * sh - ph + i * dh;
                        int dst = o * ow;
                        if (ih < 0 || ih >= h || lo >= hi) {
                            java.util.Arrays.fill(row, dst, dst + ow, 0f);
                            continue;
                        }
                        if (lo > 0) java.util.Arrays.fill(row, dst, dst + lo, 0f);
                        if (hi < ow) java.util.Arrays.fill(row, dst + hi, dst + ow, 0f);
                        int src = xb + (ci * h + ih) * wd + off;
                        if (sw == 1) {
                            System.arraycopy(x, src + lo, row, dst + lo, hi - lo);
                        } else {
                            for (int q = lo; q < hi; q++) row[dst + q] = x[src + q * sw];
                        }
                    }
                }
            }
        }
    }

    /** y[r][q] = act(bias[r] + sum_kk a[r*k + kk] * b[kk][q]) for r < m (all rows of b and y the same length). */
    static void gemm(float[] a, int m, int k, float[][] b, float[][] y, float[] bias, boolean relu) {
        for (int r = 0; r < m; r++) java.util.Arrays.fill(y[r], bias == null ? 0f : bias[r]);
        int kk = 0;
        for (; kk + 3 < k; kk += 4) {
            float[] b0 = b[kk], b1 = b[kk + 1], b2 = b[kk + 2], b3 = b[kk + 3];
            for (int r = 0; r < m; r++) {
                int ar = r * k + kk;
                axpy4(a[ar], a[ar + 1], a[ar + 2], a[ar + 3], b0, b1, b2, b3, y[r]);
            }
        }
        for (; kk < k; kk++) {
            float[] b0 = b[kk];
            for (int r = 0; r < m; r++) axpy(a[r * k + kk], b0, y[r]);
        }
        if (relu) for (int r = 0; r < m; r++) relu(y[r]);
    }

    static void axpy4(float a0, float a1, float a2, float a3, float[] b0, float[] b1, float[] b2, float[] b3, float[] y) {
        int n = Math.min(y.length, Math.min(Math.min(b0.length, b1.length), Math.min(b2.length, b3.length)));
        for (int q = 0; q < n; q++) y[q] += a0 * b0[q] + a1 * b1[q] + a2 * b2[q] + a3 * b3[q];
    }

    static void axpy(float a0, float[] b0, float[] y) {
        int n = Math.min(y.length, b0.length);
        for (int q = 0; q < n; q++) y[q] += a0 * b0[q];
    }

    static void relu(float[] y) {
        for (int q = 0; q < y.length; q++) y[q] = Math.max(y[q], 0f);
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

    /** Rows of y [m, n] = act(a [m, k] x b + bias [n]), b given as its k rows of length n. */
    static float[][] matmul(float[] a, int m, int k, float[][] b, int n, float[] bias, boolean relu) {
        float[][] y = new float[m][n];
        for (int r = 0; r < m; r++) {
            float[] yr = y[r];
            if (bias != null) System.arraycopy(bias, 0, yr, 0, n);
            int ar = r * k, kk = 0;
            for (; kk + 3 < k; kk += 4) axpy4(a[ar + kk], a[ar + kk + 1], a[ar + kk + 2], a[ar + kk + 3], b[kk], b[kk + 1], b[kk + 2], b[kk + 3], yr);
            for (; kk < k; kk++) axpy(a[ar + kk], b[kk], yr);
            if (relu) relu(yr);
        }
        return y;
    }

    /** The rows of a dense [rows, cols] matrix. */
    static float[][] rows(float[] a, int rows, int cols) {
        float[][] r = new float[rows][];
        for (int i = 0; i < rows; i++) r[i] = java.util.Arrays.copyOfRange(a, i * cols, (i + 1) * cols);
        return r;
    }
}
