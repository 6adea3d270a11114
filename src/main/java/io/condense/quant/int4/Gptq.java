package io.condense.quant.int4;

import io.condense.ir.ModelException;

/**
 * Group-wise 4-bit quantization of one weight matrix {@code W[rows][cols]} (rows = output features, columns =
 * input features, the dimension the groups run along): round-to-nearest and GPTQ (Frantar et al. 2022, "GPTQ:
 * Accurate Post-Training Quantization for Generative Pre-trained Transformers", Algorithm 1).
 *
 * <p>GPTQ quantizes column by column; the quantization error of a column, scaled by the inverse Hessian, is
 * subtracted from the columns not yet quantized (within a block of {@code blockColumns} immediately, beyond it
 * lazily once per block). The Hessian of the layer-wise loss {@code ||W X - Wq X||^2} is {@code H = 2 X X^T / n};
 * {@code damp * mean(diag H)} is added to its diagonal and the upper Cholesky factor of {@code H^-1} drives the
 * updates. A group's scale (and zero point) is computed from the error-compensated weights when its first column
 * is reached.
 */
public final class Gptq {
    private Gptq() {}

    /**
     * A quantized matrix: integer codes (signed -8..7 or unsigned 0..15), per (row, group) scales and zero
     * points; dequantized value {@code (code - zero) * scale} in float32.
     */
    public record Result(int rows, int cols, int group, int[][] codes, float[][] scales, int[][] zeros) {
        public int groups() { return (cols + group - 1) / group; }

        public float dequantized(int r, int c) { return (codes[r][c] - zeros[r][c / group]) * scales[r][c / group]; }

        public double[][] dequantized() {
            double[][] w = new double[rows][cols];
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) w[r][c] = dequantized(r, c);
            return w;
        }
    }

    /** Range and rounding of the 4-bit grid. */
    record Grid(int bits, boolean symmetric) {
        int qmin() { return symmetric ? -(1 << (bits - 1)) : 0; }

        int qmax() { return symmetric ? (1 << (bits - 1)) - 1 : (1 << bits) - 1; }

        /** Scale and zero point for the values {@code w[r][c0..c1)}; written to s[0], z[0]. */
        void params(double[] row, int c0, int c1, float[] s, int[] z) {
            double lo = 0, hi = 0;
            for (int c = c0; c < c1; c++) {
                lo = Math.min(lo, row[c]);
                hi = Math.max(hi, row[c]);
            }
            if (symmetric) {
                double amax = Math.max(-lo, hi);
                float sc = (float) (amax / qmax());
                s[0] = sc > 0 && Float.isFinite(sc) ? sc : 1f;
                z[0] = 0;
            } else {
                float sc = (float) ((hi - lo) / (qmax() - qmin()));
                s[0] = sc > 0 && Float.isFinite(sc) ? sc : 1f;
                z[0] = (int) Math.max(qmin(), Math.min(qmax(), qmin() - Math.rint(lo / s[0])));
            }
        }

        int quantize(double v, float s, int z) {
            long q = (long) Math.rint((float) v / s) + z;
            return (int) Math.max(qmin(), Math.min(qmax(), q));
        }
    }

    /** Round-to-nearest with per (row, group) min-max parameters. */
    public static Result rtn(double[][] w, int group, int bits, boolean symmetric) {
        int rows = w.length, cols = w[0].length, ng = (cols + group - 1) / group;
        Grid grid = new Grid(bits, symmetric);
        int[][] codes = new int[rows][cols];
        float[][] scales = new float[rows][ng];
        int[][] zeros = new int[rows][ng];
        float[] s = new float[1];
        int[] z = new int[1];
        for (int r = 0; r < rows; r++) {
            for (int gi = 0; gi < ng; gi++) {
                int c0 = gi * group, c1 = Math.min(cols, c0 + group);
                grid.params(w[r], c0, c1, s, z);
                scales[r][gi] = s[0];
                zeros[r][gi] = z[0];
                for (int c = c0; c < c1; c++) codes[r][c] = grid.quantize(w[r][c], s[0], z[0]);
            }
        }
        return new Result(rows, cols, group, codes, scales, zeros);
    }

    /**
     * GPTQ.
     *
     * @param w            weights [rows][cols] (not modified)
     * @param xxt          {@code sum_samples x x^T} over the layer's calibration inputs, [cols][cols]
     * @param samples      number of samples summed in {@code xxt}
     * @param damp         relative damping (0.01 = 1% of the mean diagonal)
     * @param blockColumns lazy-update block width (128 in the paper)
     */
    public static Result gptq(double[][] w, double[][] xxt, long samples, int group, int bits, boolean symmetric, double damp, int blockColumns) {
        int rows = w.length, cols = w[0].length, ng = (cols + group - 1) / group;
        if (xxt.length != cols) throw new IllegalArgumentException("Hessian is " + xxt.length + "x" + xxt.length + ", weight has " + cols + " columns");
        Grid grid = new Grid(bits, symmetric);
        double[][] W = new double[rows][];
        for (int r = 0; r < rows; r++) W[r] = w[r].clone();
        double[][] U = inverseHessianFactor(xxt, samples, damp, W);

        int[][] codes = new int[rows][cols];
        float[][] scales = new float[rows][ng];
        int[][] zeros = new int[rows][ng];
        float[] s = new float[1];
        int[] z = new int[1];
        int bs = Math.max(1, blockColumns);
        double[][] err = new double[rows][bs];
        for (int i1 = 0; i1 < cols; i1 += bs) {
            int i2 = Math.min(cols, i1 + bs), count = i2 - i1;
            for (int i = i1; i < i2; i++) {
                if (i % group == 0) {
                    int gi = i / group, c1 = Math.min(cols, i + group);
                    for (int r = 0; r < rows; r++) {
                        grid.params(W[r], i, c1, s, z);
                        scales[r][gi] = s[0];
                        zeros[r][gi] = z[0];
                    }
                }
                int gi = i / group;
                double dii = U[i][i];
                double[] ui = U[i];
                for (int r = 0; r < rows; r++) {
                    double[] wr = W[r];
                    int q = grid.quantize(wr[i], scales[r][gi], zeros[r][gi]);
                    codes[r][i] = q;
                    double wq = (q - zeros[r][gi]) * scales[r][gi];
                    double e = (wr[i] - wq) / dii;
                    err[r][i - i1] = e;
                    // update the rest of the block now
                    for (int j = i + 1; j < i2; j++) wr[j] -= e * ui[j];
                }
            }
            // lazy batch update of the columns after the block: W[:, i2:] -= Err @ U[i1:i2, i2:]
            if (i2 < cols) {
                for (int r = 0; r < rows; r++) {
                    double[] wr = W[r], er = err[r];
                    for (int k = 0; k < count; k++) {
                        double e = er[k];
                        if (e == 0) continue;
                        double[] uk = U[i1 + k];
                        for (int j = i2; j < cols; j++) wr[j] -= e * uk[j];
                    }
                }
            }
        }
        return new Result(rows, cols, group, codes, scales, zeros);
    }

    /**
     * The upper Cholesky factor {@code U} ({@code U^T U = H^-1}) of the damped layer Hessian shared by GPTQ and
     * SparseGPT: {@code H = 2 xxt / samples + damp * mean(diag H) * I}. An input that was never active (zero
     * diagonal) gets {@code H_ii = 1}, and its columns of {@code W} (rows x cols, may be null) are set to 0.
     */
    public static double[][] inverseHessianFactor(double[][] xxt, long samples, double damp, double[][] W) {
        int cols = xxt.length;
        double[][] H = new double[cols][cols];
        double scale = 2.0 / Math.max(1, samples);
        double meanDiag = 0;
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < cols; j++) H[i][j] = xxt[i][j] * scale;
            meanDiag += H[i][i];
        }
        meanDiag /= cols;
        for (int i = 0; i < cols; i++) {
            if (H[i][i] == 0) { // dead input: never active in calibration, its weights do not matter
                H[i][i] = 1;
                if (W != null) for (double[] row : W) row[i] = 0;
            }
        }
        double d = damp * (meanDiag > 0 ? meanDiag : 1);
        for (int i = 0; i < cols; i++) H[i][i] += d;
        return upperCholeskyOfInverse(H);
    }

    /** Upper-triangular U with {@code U^T U = H^-1} (H symmetric positive definite). */
    static double[][] upperCholeskyOfInverse(double[][] H) {
        int n = H.length;
        double[][] L = cholesky(H);
        // Linv: inverse of the lower-triangular L (row by row forward substitution)
        double[][] Linv = new double[n][n];
        for (int i = 0; i < n; i++) {
            Linv[i][i] = 1 / L[i][i];
            for (int j = 0; j < i; j++) {
                double sum = 0;
                double[] li = L[i];
                for (int k = j; k < i; k++) sum += li[k] * Linv[k][j];
                Linv[i][j] = -sum / L[i][i];
            }
        }
        // Hinv = Linv^T Linv
        double[][] Hinv = new double[n][n];
        for (int k = 0; k < n; k++) {
            double[] lk = Linv[k];
            for (int i = 0; i <= k; i++) {
                double a = lk[i];
                if (a == 0) continue;
                double[] hi = Hinv[i];
                for (int j = 0; j <= k; j++) hi[j] += a * lk[j];
            }
        }
        double[][] L2 = cholesky(Hinv);
        double[][] U = new double[n][n];
        for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) U[j][i] = L2[i][j];
        return U;
    }

    /** Lower Cholesky factor; ModelException when not positive definite. */
    static double[][] cholesky(double[][] A) {
        int n = A.length;
        double[][] L = new double[n][n];
        for (int i = 0; i < n; i++) {
            double[] li = L[i];
            for (int j = 0; j <= i; j++) {
                double[] lj = L[j];
                double sum = A[i][j];
                for (int k = 0; k < j; k++) sum -= li[k] * lj[k];
                if (i == j) {
                    if (!(sum > 0)) throw new ModelException("GPTQ: the layer Hessian is not positive definite (column " + i + "); increase the damping");
                    li[i] = Math.sqrt(sum);
                } else {
                    li[j] = sum / lj[j];
                }
            }
        }
        return L;
    }

    /**
     * Relative output error {@code ||(W - Wq) X|| / ||W X||} from {@code C = sum x x^T}:
     * {@code sqrt(sum_r d_r^T C d_r / sum_r w_r^T C w_r)}.
     */
    public static double relativeError(double[][] w, double[][] wq, double[][] xxt) {
        int rows = w.length, cols = w[0].length;
        double num = 0, den = 0;
        double[] d = new double[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) d[c] = w[r][c] - wq[r][c];
            num += quad(d, xxt);
            den += quad(w[r], xxt);
        }
        return den > 0 ? Math.sqrt(num / den) : (num > 0 ? Double.POSITIVE_INFINITY : 0);
    }

    private static double quad(double[] v, double[][] a) {
        double s = 0;
        for (int i = 0; i < v.length; i++) {
            if (v[i] == 0) continue;
            double[] ai = a[i];
            double t = 0;
            for (int j = 0; j < v.length; j++) t += ai[j] * v[j];
            s += v[i] * t;
        }
        return s;
    }
}
