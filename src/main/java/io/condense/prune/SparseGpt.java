package io.condense.prune;

import io.condense.ir.ModelException;
import io.condense.quant.int4.Gptq;

import java.util.Arrays;

/**
 * SparseGPT (Frantar and Alistarh 2023, "SparseGPT: Massive Language Models Can Be Accurately Pruned in One-Shot",
 * Algorithm 1): optimal-brain-surgeon pruning with the layer Hessian {@code H = 2 X^T X / n} of the calibration
 * inputs. Columns are processed left to right in blocks; the mask of a block (or of each N:M group) is chosen by
 * the OBS saliency {@code w^2 / [U]_jj^2} on the error-compensated weights, and each pruned column's error, scaled
 * by the inverse Hessian, is subtracted from the columns not yet processed. The damped inverse-Hessian Cholesky
 * factor is GPTQ's ({@link Gptq#inverseHessianFactor}); the column sweep mirrors {@link Gptq#gptq} with pruning in
 * place of rounding.
 *
 * <p>As an {@link Importance}, the static OBS saliency {@code w^2 / [H^-1]_jj} (without the weight update).
 */
public final class SparseGpt implements Importance {
    private final double damp;
    private final int blockColumns;

    public SparseGpt() { this(0.01, 128); }

    public SparseGpt(double damp, int blockColumns) {
        if (!(damp >= 0) || damp > 10) throw new ModelException("damping must be in [0, 10], got " + damp);
        if (blockColumns < 1) throw new ModelException("block columns must be >= 1, got " + blockColumns);
        this.damp = damp;
        this.blockColumns = blockColumns;
    }

    @Override public String name() { return "sparsegpt"; }

    @Override public Needs needs() { return Needs.HESSIAN; }

    @Override
    public double[][] scores(PrunableLayer layer, double[][] w, ImportanceContext ctx) {
        LayerInputStats st = ctx.inputStats(layer);
        double[][] s = new double[w.length][];
        double[][] diag = new double[st.groups][];
        for (int g = 0; g < st.groups; g++) {
            double[][] u = Gptq.inverseHessianFactor(st.xtx[g], st.hessianRows(), damp, null);
            int n = u.length;
            diag[g] = new double[n];
            for (int i = 0; i < n; i++) for (int k = 0; k <= i; k++) diag[g][i] += u[k][i] * u[k][i]; // [H^-1]_ii = sum_k U_ki^2
        }
        for (int i = 0; i < w.length; i++) {
            double[] d = diag[st.groupOf(i)];
            s[i] = new double[w[i].length];
            for (int j = 0; j < w[i].length; j++) s[i][j] = w[i][j] * w[i][j] / d[j];
        }
        return s;
    }

    /** Pruned weights and their mask. */
    public record Result(double[][] weights, boolean[][] keep) {}

    /**
     * Prunes a layer with weight updates.
     *
     * @param granularity LAYER (unstructured, {@code sparsity} of every block) or NM; other kinds are refused
     */
    public Result prune(PrunableLayer layer, double[][] w, double sparsity, Granularity granularity, ImportanceContext ctx) {
        if (granularity.kind() != Granularity.Kind.LAYER && granularity.kind() != Granularity.Kind.NM && granularity.kind() != Granularity.Kind.OUTPUT) {
            throw new ModelException("sparsegpt prunes per layer or N:M, not " + granularity);
        }
        LayerInputStats st = ctx.inputStats(layer);
        int rows = w.length, cols = w[0].length, stride = layer.nmStride();
        double[][] outW = new double[rows][cols];
        boolean[][] keep = new boolean[rows][cols];
        int per = rows / st.groups;
        for (int g = 0; g < st.groups; g++) {
            // rows of this group, columns permuted so that N:M members (stride apart) are adjacent: position-major
            int[] perm = new int[cols];
            int q = 0;
            for (int p = 0; p < stride; p++) for (int c = p; c < cols; c += stride) perm[q++] = c;
            double[][] W = new double[per][cols];
            for (int r = 0; r < per; r++) for (int c = 0; c < cols; c++) W[r][c] = w[g * per + r][perm[c]];
            double[][] H = new double[cols][cols];
            for (int i = 0; i < cols; i++) for (int j = 0; j < cols; j++) H[i][j] = st.xtx[g][perm[i]][perm[j]];
            boolean[][] k = new boolean[per][cols];
            double[][] res = sweep(W, H, st.hessianRows(), sparsity, granularity, k);
            for (int r = 0; r < per; r++) {
                for (int c = 0; c < cols; c++) {
                    outW[g * per + r][perm[c]] = res[r][c];
                    keep[g * per + r][perm[c]] = k[r][c];
                }
            }
        }
        return new Result(outW, keep);
    }

    /**
     * Algorithm 1 on one matrix: {@code W [rows][cols]} (copied), {@code xtx} the summed input outer products.
     * Fills {@code keep} and returns the pruned, error-compensated weights (pruned entries exactly 0).
     */
    double[][] sweep(double[][] w, double[][] xtx, long samples, double sparsity, Granularity gran, boolean[][] keep) {
        int rows = w.length, cols = w[0].length;
        double[][] W = new double[rows][];
        for (int r = 0; r < rows; r++) W[r] = w[r].clone();
        double[][] U = Gptq.inverseHessianFactor(xtx, samples, damp, W);
        boolean nm = gran.kind() == Granularity.Kind.NM;
        int n = gran.n(), m = gran.m();
        int bs = Math.max(1, nm ? Math.max(m, blockColumns / m * m) : blockColumns);
        for (boolean[] k : keep) Arrays.fill(k, true);
        double[][] err = new double[rows][bs];
        for (int i1 = 0; i1 < cols; i1 += bs) {
            int i2 = Math.min(cols, i1 + bs), count = i2 - i1;
            if (!nm) { // adaptive mask selection over the block: the lowest w^2 / U_jj^2
                double[][] sal = new double[rows][count];
                for (int r = 0; r < rows; r++) for (int j = 0; j < count; j++) sal[r][j] = W[r][i1 + j] * W[r][i1 + j] / (U[i1 + j][i1 + j] * U[i1 + j][i1 + j]);
                boolean[][] k = gran.kind() == Granularity.Kind.OUTPUT ? MaskSelector.perOutput(sal, sparsity) : MaskSelector.layer(sal, sparsity);
                for (int r = 0; r < rows; r++) System.arraycopy(k[r], 0, keep[r], i1, count);
            }
            for (int i = i1; i < i2; i++) {
                if (nm && (i - i1) % m == 0) {
                    int end = Math.min(i + m, i2);
                    for (int r = 0; r < rows; r++) {
                        double[] sal = new double[end - i];
                        for (int j = i; j < end; j++) sal[j - i] = W[r][j] * W[r][j] / (U[j][j] * U[j][j]);
                        boolean[] k = MaskSelector.nm(new double[][] {sal}, n, m, 1)[0];
                        System.arraycopy(k, 0, keep[r], i, end - i);
                    }
                }
                double dii = U[i][i];
                double[] ui = U[i];
                for (int r = 0; r < rows; r++) {
                    double[] wr = W[r];
                    double q = keep[r][i] ? wr[i] : 0;
                    double e = (wr[i] - q) / dii;
                    err[r][i - i1] = e;
                    wr[i] = q;
                    if (e != 0) for (int j = i + 1; j < i2; j++) wr[j] -= e * ui[j];
                }
            }
            if (i2 < cols) { // lazy update of the later columns
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
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) if (!keep[r][c]) W[r][c] = 0;
        return W;
    }
}
