package io.condense.backend.cpu;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * float32 elementwise arithmetic, broadcast, Erf/GELU/Sqrt, Transpose and Gather as plain Java loops over dense float[] copies, on the
 * calling thread: no ND4J op dispatch (whose OpenMP wake-ups and per-op set-up cost far more than the arithmetic of
 * these memory-bound ops), one bulk copy in and out. Broadcast fast paths: equal shapes, a scalar operand, an operand
 * that is a trailing block of the output ([.., H] + [H], the attention mask [1,1,1,S] + [1,h,S,S]), an operand that
 * is a leading block ([B,S,H] - [B,S,1]); anything else walks precomputed offsets. Every method returns null when it
 * does not handle its inputs (not float32, empty), so callers fall back to their ND4J path.
 * {@code -Dcondense.cpu.javaElementwise=false} turns these paths off.
 */
final class FloatKernels {
    private FloatKernels() {}

    static final boolean ENABLED = !"false".equalsIgnoreCase(System.getProperty("condense.cpu.javaElementwise", "true"));

    /**
     * Unary float32 functions computed here: those whose Java loop vectorizes. Exp, Log, Tanh, Sigmoid and Softmax stay
     * on ND4J (Java's Math.exp/tanh are scalar double calls, several times slower than libnd4j's SIMD loops).
     */
    enum Unary { ERF, SQRT, RELU, NEG, ABS, RECIPROCAL, GELU }

    /** Per-thread scratch arrays (inputs are copied in, results out), so that a call allocates no Java arrays. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[3][0]);
    /** Larger tensors get fresh arrays instead (scratch is never shrunk). */
    private static final int SCRATCH_MAX = 1 << 22;

    static float[] scratch(int slot, int n) {
        if (n > SCRATCH_MAX) return new float[n];
        float[][] s = SCRATCH.get();
        if (s[slot].length < n) s[slot] = new float[Math.min(SCRATCH_MAX, Math.max(n, s[slot].length * 3 / 2))];
        return s[slot];
    }

    /** The dense C-order values of float32 {@code a} in scratch slot {@code slot} (elements 0..a.length()). */
    static float[] read(INDArray a, int slot) {
        INDArray c = ConvOps.dense(a);
        int n = (int) c.length();
        float[] v = scratch(slot, n);
        c.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().get((int) c.offset(), v, 0, n);
        return v;
    }

    /** A new dense float32 array of {@code shape} holding v[0..size). */
    static INDArray write(float[] v, long[] shape) {
        INDArray z = org.nd4j.linalg.factory.Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
        z.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().put(v, 0, (int) z.length());
        return z;
    }

    static boolean usable(INDArray a) { return ENABLED && a.dataType() == DataType.FLOAT && a.length() > 0; }

    // ---------------------------------------------------------------- binary

    /** {@code a op b} broadcast to {@code out}, or null when not float32 (POW: float32 exponent only). */
    static INDArray binary(ElementwiseKernels.Arith op, INDArray a, INDArray b, long[] out) {
        if (!usable(a) || !usable(b)) return null;
        int n = (int) Broadcast.size(out);
        if (n == 0) return null;
        float[] x = read(a, 0), y = read(b, 1);
        float[] r = scratch(2, n);
        int nx = (int) a.length(), ny = (int) b.length();
        if (nx == n && ny == n) {
            seg(op, x, 0, y, 0, r, 0, n);
        } else if (ny == 1) {
            segScalarB(op, x, 0, y[0], r, 0, n, nx == n);
        } else if (nx == 1 && ny == n) {
            segScalarA(op, x[0], y, 0, r, 0, n);
        } else if (nx == n && suffix(b.shape(), out)) {
            for (int o = 0; o < n; o += ny) seg(op, x, o, y, 0, r, o, ny);
        } else if (ny == n && suffix(a.shape(), out)) {
            for (int o = 0; o < n; o += nx) seg(op, x, 0, y, o, r, o, nx);
        } else if (nx == n && prefix(b.shape(), out)) {
            int inner = n / ny;
            for (int k = 0, o = 0; k < ny; k++, o += inner) segScalarB(op, x, o, y[k], r, o, inner, true);
        } else {
            int[] oa = Broadcast.offsets(a.shape(), out), ob = Broadcast.offsets(b.shape(), out);
            for (int i = 0; i < n; i++) r[i] = apply(op, x[Broadcast.at(oa, i)], y[Broadcast.at(ob, i)]);
        }
        return write(r, out);
    }

    /** Whether {@code s}, right-aligned against {@code out}, is ones followed by the trailing dims of {@code out}. */
    static boolean suffix(long[] s, long[] out) {
        long[] p = Broadcast.padLeft(s, out.length);
        int k = 0;
        while (k < p.length && p[k] == 1) k++;
        for (int i = k; i < p.length; i++) if (p[i] != out[i]) return false;
        return true;
    }

    /** Whether {@code s}, right-aligned against {@code out}, is the leading dims of {@code out} followed by ones. */
    static boolean prefix(long[] s, long[] out) {
        long[] p = Broadcast.padLeft(s, out.length);
        int k = p.length - 1;
        while (k >= 0 && p[k] == 1) k--;
        for (int i = 0; i <= k; i++) if (p[i] != out[i]) return false;
        return true;
    }

    private static float apply(ElementwiseKernels.Arith op, float p, float q) {
        return switch (op) {
            case ADD -> p + q;
            case SUB -> p - q;
            case MUL -> p * q;
            case DIV -> p / q;
            case POW -> pow(p, q);
            case MAX -> Math.max(p, q);
            case MIN -> Math.min(p, q);
        };
    }

    static float pow(float p, float q) {
        if (q == 2f) return p * p;
        if (q == 1f) return p;
        return (float) Math.pow(p, q);
    }

    /** r[ro..ro+len) = x[xo..] op y[yo..]; one loop per op so that the JIT vectorizes each. */
    private static void seg(ElementwiseKernels.Arith op, float[] x, int xo, float[] y, int yo, float[] r, int ro, int len) {
        switch (op) {
            case ADD -> { for (int i = 0; i < len; i++) r[ro + i] = x[xo + i] + y[yo + i]; }
            case SUB -> { for (int i = 0; i < len; i++) r[ro + i] = x[xo + i] - y[yo + i]; }
            case MUL -> { for (int i = 0; i < len; i++) r[ro + i] = x[xo + i] * y[yo + i]; }
            case DIV -> { for (int i = 0; i < len; i++) r[ro + i] = x[xo + i] / y[yo + i]; }
            case MAX -> { for (int i = 0; i < len; i++) r[ro + i] = Math.max(x[xo + i], y[yo + i]); }
            case MIN -> { for (int i = 0; i < len; i++) r[ro + i] = Math.min(x[xo + i], y[yo + i]); }
            case POW -> { for (int i = 0; i < len; i++) r[ro + i] = pow(x[xo + i], y[yo + i]); }
        }
    }

    /** r = x op s (x read at xo when {@code full}, else its single value broadcast). */
    private static void segScalarB(ElementwiseKernels.Arith op, float[] x, int xo, float s, float[] r, int ro, int len, boolean full) {
        if (!full) {
            java.util.Arrays.fill(r, ro, ro + len, apply(op, x[0], s));
            return;
        }
        switch (op) {
            case ADD -> { for (int i = 0; i < len; i++) r[ro + i] = x[xo + i] + s; }
            case SUB -> { for (int i = 0; i < len; i++) r[ro + i] = x[xo + i] - s; }
            case MUL -> { for (int i = 0; i < len; i++) r[ro + i] = x[xo + i] * s; }
            case DIV -> { for (int i = 0; i < len; i++) r[ro + i] = x[xo + i] / s; }
            case MAX -> { for (int i = 0; i < len; i++) r[ro + i] = Math.max(x[xo + i], s); }
            case MIN -> { for (int i = 0; i < len; i++) r[ro + i] = Math.min(x[xo + i], s); }
            case POW -> {
                if (s == 2f) {
                    for (int i = 0; i < len; i++) r[ro + i] = x[xo + i] * x[xo + i];
                } else if (s == 0.5f) {
                    for (int i = 0; i < len; i++) r[ro + i] = (float) Math.sqrt(x[xo + i]);
                } else if (s == 3f) {
                    for (int i = 0; i < len; i++) r[ro + i] = (float) ((double) x[xo + i] * x[xo + i] * x[xo + i]);
                } else {
                    for (int i = 0; i < len; i++) r[ro + i] = pow(x[xo + i], s);
                }
            }
        }
    }

    private static void segScalarA(ElementwiseKernels.Arith op, float s, float[] y, int yo, float[] r, int ro, int len) {
        switch (op) {
            case ADD -> { for (int i = 0; i < len; i++) r[ro + i] = s + y[yo + i]; }
            case SUB -> { for (int i = 0; i < len; i++) r[ro + i] = s - y[yo + i]; }
            case MUL -> { for (int i = 0; i < len; i++) r[ro + i] = s * y[yo + i]; }
            case DIV -> { for (int i = 0; i < len; i++) r[ro + i] = s / y[yo + i]; }
            default -> { for (int i = 0; i < len; i++) r[ro + i] = apply(op, s, y[yo + i]); }
        }
    }

    // ---------------------------------------------------------------- unary

    /** {@code f(a)} elementwise, or null when {@code a} is not a non-empty float32 array. */
    static INDArray unary(Unary f, INDArray a) {
        if (!usable(a)) return null;
        float[] v = read(a, 0);
        unary(f, v, (int) a.length());
        return write(v, a.shape().clone());
    }

    /** Applies {@code f} in place to v[0..n). */
    static void unary(Unary f, float[] v, int n) {
        switch (f) {
            case ERF -> { for (int i = 0; i < n; i++) v[i] = erf(v[i]); }
            case GELU -> {
                final float invSqrt2 = (float) (1.0 / Math.sqrt(2.0));
                for (int i = 0; i < n; i++) {
                    float x = v[i];
                    v[i] = x * 0.5f * (1f + erf(x * invSqrt2));
                }
            }
            case SQRT -> { for (int i = 0; i < n; i++) v[i] = (float) Math.sqrt(v[i]); }
            case RELU -> { for (int i = 0; i < n; i++) v[i] = Math.max(v[i], 0f); }
            case NEG -> { for (int i = 0; i < n; i++) v[i] = -v[i]; }
            case ABS -> { for (int i = 0; i < n; i++) v[i] = Math.abs(v[i]); }
            case RECIPROCAL -> { for (int i = 0; i < n; i++) v[i] = 1f / v[i]; }
        }
    }

    /**
     * float32 erf as a rational minimax approximation on [-4, 4] (Eigen's fast float erf; within a few ulp of the
     * exact value, like ONNX Runtime's MLAS kernel). Branch-free, so loops over it vectorize.
     */
    static float erf(float x) {
        float a = Math.max(-4f, Math.min(4f, x));
        float a2 = a * a;
        float p = a2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
        p = a2 * p + -2.10102402082508e-06f;
        p = a2 * p + -5.69250639462346e-05f;
        p = a2 * p + -7.34990630326855e-04f;
        p = a2 * p + -2.95459980854025e-03f;
        p = a2 * p + -1.60960333262415e-02f;
        float q = a2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
        q = a2 * q + -1.68282697438203e-03f;
        q = a2 * q + -7.37332916720468e-03f;
        q = a2 * q + -1.42647390514189e-02f;
        return a * p / q;
    }

    // ---------------------------------------------------------------- transpose, gather

    /**
     * Gather of float32 {@code a} along {@code axis} at the (checked, non-negative) indices into shape {@code os}:
     * blocks copied straight from a's buffer (an embedding table is not copied), or null when not float32.
     */
    static INDArray gather(INDArray a, int axis, long[] idx, long[] os) {
        if (!usable(a)) return null;
        INDArray d = ConvOps.dense(a);
        long[] s = d.shape();
        long dim = s[axis];
        long inner = 1;
        for (int i = axis + 1; i < s.length; i++) inner *= s[i];
        long outer = d.length() / (dim * inner);
        long total = outer * idx.length * inner;
        if (total > Integer.MAX_VALUE || d.offset() + d.length() > Integer.MAX_VALUE) return null;
        java.nio.FloatBuffer fb = d.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        int off = (int) d.offset(), in = (int) inner;
        float[] out = scratch(0, (int) total);
        int w = 0;
        for (long p = 0; p < outer; p++) {
            for (long j : idx) {
                fb.get((int) (off + (p * dim + j) * inner), out, w, in);
                w += in;
            }
        }
        return write(out, os);
    }

    /** {@code a} permuted by {@code perm} into a new dense array, or null when not float32. */
    static INDArray transpose(INDArray a, int[] perm) {
        if (!usable(a) || a.rank() < 2 || perm.length != a.rank()) return null;
        int r = perm.length;
        long[] s = a.shape();
        long[] os = new long[r];
        long[] inStride = new long[r];
        long st = 1;
        long[] cs = new long[r];
        for (int i = r - 1; i >= 0; i--) {
            cs[i] = st;
            st *= s[i];
        }
        for (int i = 0; i < r; i++) {
            os[i] = s[perm[i]];
            inStride[i] = cs[perm[i]];
        }
        float[] x = read(a, 0);
        int len = (int) a.length();
        float[] y = scratch(1, len);
        // the output is walked in C order; runs along its last axis copy as blocks when that axis is the input's last
        int inner = (int) os[r - 1];
        boolean block = inStride[r - 1] == 1;
        long[] outerShape = java.util.Arrays.copyOf(os, r - 1);
        long[] outerStride = java.util.Arrays.copyOf(inStride, r - 1);
        int outer = len / Math.max(1, inner);
        int[] base = Broadcast.walk(outerShape, outerStride, outer);
        int step = (int) inStride[r - 1];
        for (int k = 0, o = 0; k < outer; k++, o += inner) {
            int b = base[k];
            if (block) {
                System.arraycopy(x, b, y, o, inner);
            } else {
                for (int i = 0; i < inner; i++) y[o + i] = x[b + i * step];
            }
        }
        return write(y, os);
    }
}
