package io.condense.backend.cpu;

import java.util.Arrays;

/** Numpy-style broadcasting for Java-loop kernels: the result shape and, per output element, the source index. */
final class Broadcast {
    private Broadcast() {}

    static long[] shape(OpContext ctx, long[] a, long[] b) {
        int r = Math.max(a.length, b.length);
        long[] s = new long[r];
        for (int i = 0; i < r; i++) {
            long da = i < r - a.length ? 1 : a[i - (r - a.length)];
            long db = i < r - b.length ? 1 : b[i - (r - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw ctx.error("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " cannot be broadcast");
            }
            s[i] = da == 1 ? db : da;
        }
        return s;
    }

    /** For each element of {@code out} (C order), the flat index of the element of {@code in} it reads. */
    static int[] index(long[] in, long[] out) {
        int r = out.length;
        int n = 1;
        for (long d : out) n *= (int) d;
        int[] idx = new int[n];
        if (Arrays.equals(in, out) || sizeOf(in) == n) {
            for (int i = 0; i < n; i++) idx[i] = i;
            return idx;
        }
        if (sizeOf(in) == 1) return idx;
        long[] stride = new long[r];
        long st = 1;
        for (int i = in.length - 1; i >= 0; i--) {
            int o = i + r - in.length;
            stride[o] = in[i] == 1 ? 0 : st;
            st *= in[i];
        }
        int inner = (int) out[r - 1];
        int innerStride = (int) stride[r - 1];
        int[] pos = new int[r];
        int base = 0;
        for (int i = 0; i < n; i += inner) {
            for (int k = 0; k < inner; k++) idx[i + k] = base + k * innerStride;
            for (int d = r - 2; d >= 0; d--) {
                pos[d]++;
                base += (int) stride[d];
                if (pos[d] < out[d]) break;
                base -= (int) (stride[d] * out[d]);
                pos[d] = 0;
            }
        }
        return idx;
    }

    private static long sizeOf(long[] s) {
        long n = 1;
        for (long d : s) n *= d;
        return n;
    }
}
