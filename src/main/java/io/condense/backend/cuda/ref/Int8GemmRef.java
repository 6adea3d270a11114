package io.condense.backend.cuda.ref;

/**
 * Reference semantics of cuda-kernels/int8_gemm.cu:
 * {@code A} int8 {@code [M, K]} row-major (activations), {@code B} int8 {@code [N, K]} row-major (weights as
 * [out, in]), int32 accumulation (exact for K below 2^17), and a per-output-channel dequantized float output
 * <pre>
 *   y[m, n] = bias == null ? (float) acc * scale[n] : fma((float) acc, scale[n], bias[n])
 * </pre>
 * where {@code scale[n] = scaleA * scaleB[n]} is folded on the host and {@code (float) acc} rounds to nearest.
 * The GPU result must match exactly. The 2:4 sparse variant takes B compressed ({@link Sparse24Ref}) and computes
 * the same as the dense GEMM on the decompressed B.
 */
public final class Int8GemmRef {
    private Int8GemmRef() {}

    public static int[] accumulate(byte[] a, byte[] b, int m, int n, int k) {
        int[] acc = new int[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                int s = 0;
                for (int p = 0; p < k; p++) s += a[i * k + p] * b[j * k + p];
                acc[i * n + j] = s;
            }
        }
        return acc;
    }

    public static float[] gemm(byte[] a, byte[] b, int m, int n, int k, float[] scale, float[] bias) {
        int[] acc = accumulate(a, b, m, n, k);
        float[] y = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float f = (float) acc[i * n + j];
                y[i * n + j] = bias == null ? f * scale[j] : Math.fma(f, scale[j], bias[j]);
            }
        }
        return y;
    }

    /** Folds the activation scale into the per-channel weight scales (float multiply, as the host does). */
    public static float[] foldScales(float scaleA, float[] scaleB) {
        float[] s = new float[scaleB.length];
        for (int i = 0; i < s.length; i++) s[i] = scaleA * scaleB[i];
        return s;
    }

    /** Sparse GEMM with B given as 2:4 compressed int8 values {@code [N, K/2]} and metadata {@code [N, ceil(K/16)]}. */
    public static float[] sparseGemm(byte[] a, byte[] bValues, short[] bMeta, int m, int n, int k, float[] scale, float[] bias) {
        int half = k / 2, mw = Sparse24Ref.metaWordsPerRow(k);
        byte[] dense = new byte[n * k];
        for (int r = 0; r < n; r++) {
            for (int g = 0; g < k / 4; g++) {
                int nib = (bMeta[r * mw + g / 4] >> (4 * (g % 4))) & 0xF;
                dense[r * k + 4 * g + (nib & 3)] = bValues[r * half + 2 * g];
                dense[r * k + 4 * g + (nib >> 2)] = bValues[r * half + 2 * g + 1];
            }
        }
        return gemm(a, dense, m, n, k, scale, bias);
    }
}
