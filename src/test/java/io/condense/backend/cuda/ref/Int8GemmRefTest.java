package io.condense.backend.cuda.ref;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class Int8GemmRefTest {
    @Test
    void smallHandChecked() {
        byte[] a = {1, 2, 3, -4, 5, 6};          // 2 x 3
        byte[] b = {1, 0, -1, 2, 2, 2, -128, 127, 0}; // 3 x 3 ([N, K])
        float[] y = Int8GemmRef.gemm(a, b, 2, 3, 3, new float[] {1f, 0.5f, 0.25f}, new float[] {0f, 1f, -1f});
        // row 0: (1-3)=-2, (2+4+6)=12 -> 6+1, (-128+254)=126 -> 31.5-1
        // row 1: (-4-6)=-10, (-8+10+12)=14 -> 7+1, (512+635)=1147 -> 286.75-1
        assertArrayEquals(new float[] {-2f, 7f, 30.5f, -10f, 8f, 285.75f}, y);
    }

    @Test
    void matchesFloatMatmulOfDequantizedValues() {
        Random r = new Random(11);
        int m = 9, n = 13, k = 64;
        byte[] a = new byte[m * k], b = new byte[n * k];
        r.nextBytes(a);
        r.nextBytes(b);
        float sa = 0.02f;
        float[] sb = new float[n];
        for (int j = 0; j < n; j++) sb[j] = 0.001f * (j + 1);
        float[] y = Int8GemmRef.gemm(a, b, m, n, k, Int8GemmRef.foldScales(sa, sb), null);
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) {
            double e = 0;
            for (int p = 0; p < k; p++) e += (a[i * k + p] * (double) sa) * (b[j * k + p] * (double) sb[j]);
            assertEquals(e, y[i * n + j], Math.abs(e) * 1e-6 + 1e-9);
        }
    }

    @Test
    void sparseEqualsDenseOnPrunedWeights() {
        Random r = new Random(12);
        int m = 5, n = 6, k = 32;
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        Sparse24Ref.Compressed c = Sparse24Ref.compress(w, n, k);
        float[] pruned = Sparse24Ref.prune(w, n, k);
        byte[] qDense = QuantRef.quantizePerChannel(pruned, ChannelLayout.of(new long[] {n, k}, 0), onesScale(n, 0.05f), null, QRange.INT8);
        byte[] qFull = QuantRef.quantizePerChannel(w, ChannelLayout.of(new long[] {n, k}, 0), onesScale(n, 0.05f), null, QRange.INT8);
        byte[] vals = Sparse24Ref.compressValues(qFull, c.meta(), n, k);
        byte[] a = new byte[m * k];
        r.nextBytes(a);
        float[] s = onesScale(n, 0.5f);
        float[] bias = onesScale(n, 0.125f);
        assertArrayEquals(Int8GemmRef.gemm(a, qDense, m, n, k, s, bias), Int8GemmRef.sparseGemm(a, vals, c.meta(), m, n, k, s, bias));
    }

    private static float[] onesScale(int n, float v) {
        float[] s = new float[n];
        java.util.Arrays.fill(s, v);
        return s;
    }
}
