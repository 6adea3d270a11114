package io.condense.backend.cuda;

import io.condense.backend.cuda.ref.Int8GemmRef;
import io.condense.backend.cuda.ref.Sparse24Ref;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Emulates, on the CPU, the index arithmetic of int8_gemm.cu's int8_gemm_sparse24_dp4a inner loop (metadata word
 * assembly, the __byte_perm selector, __dp4a over the kept weights) and checks it against Int8GemmRef. This checks
 * the kernel's layout logic without a GPU; the kernel itself still needs CudaParityTest on a GPU.
 */
class Sparse24GemmEmulationTest {
    /** CUDA __byte_perm(x, y, s): result byte i = byte (s >> 4i) & 7 of the 8-byte value y:x (x = bytes 0..3). */
    static int bytePerm(int x, int y, int s) {
        long v = (x & 0xFFFFFFFFL) | ((y & 0xFFFFFFFFL) << 32);
        int r = 0;
        for (int i = 0; i < 4; i++) {
            int sel = (s >> (4 * i)) & 7;
            r |= (int) ((v >>> (8 * sel)) & 0xFF) << (8 * i);
        }
        return r;
    }

    /** CUDA __dp4a(a, b, c) for signed bytes. */
    static int dp4a(int a, int b, int c) {
        for (int i = 0; i < 4; i++) c += (byte) (a >> (8 * i)) * (byte) (b >> (8 * i));
        return c;
    }

    static int word(byte[] a, int off) {
        return (a[off] & 0xFF) | (a[off + 1] & 0xFF) << 8 | (a[off + 2] & 0xFF) << 16 | (a[off + 3] & 0xFF) << 24;
    }

    @Test
    void primitives() {
        assertEquals(0x44332211, bytePerm(0x44332211, 0x88776655, 0x3210));
        assertEquals(0x88776655, bytePerm(0x44332211, 0x88776655, 0x7654));
        assertEquals(0x66221144, bytePerm(0x44332211, 0x88776655, 0x5103));
        assertEquals(1 * 5 + (-2) * 6 + 3 * (-7) + 4 * 8 + 10, dp4a(0x0403FE01, 0x08F90605, 10));
    }

    @Test
    void sparseInnerLoopMatchesReference() {
        Random r = new Random(21);
        int m = 3, n = 5, k = 64;
        byte[] a = new byte[m * k], wq = new byte[n * k];
        r.nextBytes(a);
        r.nextBytes(wq);
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) w[i] = wq[i];
        Sparse24Ref.Compressed c = Sparse24Ref.compress(w, n, k);
        byte[] vals = Sparse24Ref.compressValues(wq, c.meta(), n, k);
        short[] meta = c.meta();
        int km = k / 16;
        float[] scale = new float[n];
        java.util.Arrays.fill(scale, 1f);
        float[] expect = Int8GemmRef.sparseGemm(a, vals, meta, m, n, k, scale, null);
        float[] got = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                int acc = 0;
                for (int k0 = 0; k0 < k / 4; k0 += 8) { // as in the kernel: k0 counts 32-bit words of A
                    int w0 = k0 >> 2;
                    int meta32 = (meta[j * km + w0] & 0xFFFF) | (meta[j * km + w0 + 1] & 0xFFFF) << 16;
                    for (int p = 0; p < 4; p++) {
                        int a0 = word(a, i * k + 4 * (k0 + 2 * p)), a1 = word(a, i * k + 4 * (k0 + 2 * p + 1));
                        int b = word(vals, j * (k / 2) + 4 * (k0 / 2 + p));
                        int nb = (meta32 >>> (8 * p)) & 0xFF, g0 = nb & 0xF, g1 = nb >>> 4;
                        int sel = (g0 & 3) | ((g0 >> 2) << 4) | ((4 + (g1 & 3)) << 8) | ((4 + (g1 >> 2)) << 12);
                        acc = dp4a(bytePerm(a0, a1, sel), b, acc);
                    }
                }
                got[i * n + j] = (float) acc;
            }
        }
        assertArrayEquals(expect, got);
    }
}
