package io.condense.backend.cpu;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Window geometry (ONNX auto_pad/pads/strides/dilations/ceil_mode) and the generic N-D convolution, transposed
 * convolution and pooling loops of the CPU backend. Arrays here are float32 or float64, C-ordered.
 */
final class ConvOps {
    private ConvOps() {}

    /** Sliding-window geometry over the spatial dims. */
    static final class Geo {
        final int nd;
        final int[] in, k, s, d, pb, pe, out;

        Geo(int nd) {
            this.nd = nd;
            in = new int[nd]; k = new int[nd]; s = new int[nd]; d = new int[nd];
            pb = new int[nd]; pe = new int[nd]; out = new int[nd];
        }

        int inSize() { return prod(in); }

        int outSize() { return prod(out); }

        int kSize() { return prod(k); }

        boolean symmetricPads() { return Arrays.equals(pb, pe); }

        /** 1x1 kernel, stride 1, no padding: the convolution is a plain matrix product. */
        boolean pointwise() {
            for (int i = 0; i < nd; i++) if (k[i] != 1 || s[i] != 1 || pb[i] != 0 || pe[i] != 0) return false;
            return true;
        }

        @Override
        public String toString() {
            return "in=" + Arrays.toString(in) + " kernel=" + Arrays.toString(k) + " strides=" + Arrays.toString(s)
                    + " dilations=" + Arrays.toString(d) + " pads=" + Arrays.toString(pb) + Arrays.toString(pe)
                    + " out=" + Arrays.toString(out);
        }
    }

    // ---------------------------------------------------------------- fast copies between Java arrays and ND4J

    /** Dense C-ordered float values (bulk copy; Nd4j.create(float[]) and data().asFloat() copy element by element). */
    static float[] floatsOf(INDArray a) {
        if (a.dataType() != DataType.FLOAT) a = a.castTo(DataType.FLOAT);
        INDArray c = dense(a);
        float[] out = new float[(int) c.length()];
        java.nio.FloatBuffer fb = c.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        fb.position((int) c.offset());
        fb.get(out);
        return out;
    }

    static double[] doublesOf(INDArray a) {
        if (a.dataType() != DataType.DOUBLE) a = a.castTo(DataType.DOUBLE);
        INDArray c = dense(a);
        double[] out = new double[(int) c.length()];
        java.nio.DoubleBuffer db = c.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asDoubleBuffer();
        db.position((int) c.offset());
        db.get(out);
        return out;
    }

    /** {@code a} when its elements are laid out densely in C order from its offset, else a C-ordered copy. */
    static INDArray dense(INDArray a) {
        long[] sh = a.shape(), st = a.stride();
        long expect = 1;
        boolean ok = true;
        for (int i = sh.length - 1; i >= 0 && ok; i--) {
            if (sh[i] != 1 && st[i] != expect) ok = false;
            expect *= sh[i];
        }
        return ok ? a : a.dup('c');
    }

    static INDArray wrap(float[] data, long... shape) {
        INDArray a = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
        a.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().put(data, 0, (int) a.length());
        return a;
    }

    static INDArray wrap(double[] data, long... shape) {
        INDArray a = Nd4j.createUninitialized(DataType.DOUBLE, shape, 'c');
        a.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asDoubleBuffer().put(data, 0, (int) a.length());
        return a;
    }

    /** a x b as a C-ordered array (Nd4j.gemm is several times faster than INDArray.mmul here). */
    static INDArray matmul(INDArray a, INDArray b) {
        return Nd4j.gemm(Nd.contiguous(a), Nd.contiguous(b), false, false);
    }

    /** Below this many element operations in all, loops run on the calling thread. */
    private static final long PARALLEL_MIN = 1L << 21;
    private static final boolean SINGLE = Integer.getInteger("condense.cpu.threads", 0) == 1;

    /**
     * body(0..n-1), in parallel when the work is large: fork/join stalls badly when a worker is descheduled on a
     * busy machine, so small loops (and all loops under condense.cpu.threads=1) stay sequential.
     */
    static void par(int n, long workPerItem, java.util.function.IntConsumer body) {
        if (SINGLE || n < 2 || n * workPerItem < PARALLEL_MIN) {
            for (int i = 0; i < n; i++) body.accept(i);
        } else {
            IntStream.range(0, n).parallel().forEach(body);
        }
    }

    static int prod(int[] a) {
        long p = 1;
        for (int v : a) p *= v;
        if (p > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("size too large: " + Arrays.toString(a));
        return (int) p;
    }

    /** Geometry of a Conv or pooling node over input shape {@code xs} [N, C, spatial...] with kernel {@code kernel}. */
    static Geo forward(OpContext c, long[] xs, long[] kernel, boolean ceil) {
        int nd = xs.length - 2;
        if (nd < 1) throw c.error("input must have rank >= 3 ([N, C, spatial...]), got " + Arrays.toString(xs));
        if (kernel.length != nd) throw c.error("kernel has " + kernel.length + " spatial dims, input has " + nd);
        Geo g = new Geo(nd);
        long[] s = c.attrLongs("strides", null), d = c.attrLongs("dilations", null), p = c.attrLongs("pads", null);
        if (s != null && s.length != nd) throw c.error("strides must have " + nd + " values");
        if (d != null && d.length != nd) throw c.error("dilations must have " + nd + " values");
        if (p != null && p.length != 2 * nd) throw c.error("pads must have " + 2 * nd + " values");
        String auto = c.attrString("auto_pad", "NOTSET");
        for (int i = 0; i < nd; i++) {
            g.in[i] = toInt(c, xs[i + 2]);
            g.k[i] = toInt(c, kernel[i]);
            g.s[i] = s == null ? 1 : toInt(c, s[i]);
            g.d[i] = d == null ? 1 : toInt(c, d[i]);
            if (g.k[i] < 1 || g.s[i] < 1 || g.d[i] < 1) throw c.error("kernel, strides and dilations must be positive");
            int ek = (g.k[i] - 1) * g.d[i] + 1;
            switch (auto) {
                case "NOTSET" -> {
                    g.pb[i] = p == null ? 0 : toInt(c, p[i]);
                    g.pe[i] = p == null ? 0 : toInt(c, p[i + nd]);
                    if (g.pb[i] < 0 || g.pe[i] < 0) throw c.error("negative pads are not supported");
                    long span = (long) g.in[i] + g.pb[i] + g.pe[i] - ek;
                    if (span < 0) throw c.error("kernel larger than padded input (" + g + ")");
                    long o = ceil ? Math.floorDiv(span + g.s[i] - 1, g.s[i]) + 1 : span / g.s[i] + 1;
                    // the last window must start inside the input or the leading padding
                    if (ceil && (o - 1) * g.s[i] >= (long) g.in[i] + g.pb[i]) o--;
                    g.out[i] = (int) o;
                }
                case "VALID" -> {
                    long span = (long) g.in[i] - ek;
                    if (span < 0) throw c.error("kernel larger than input (" + g + ")");
                    g.out[i] = (int) (span / g.s[i] + 1);
                }
                case "SAME_UPPER", "SAME_LOWER" -> {
                    int o = (g.in[i] + g.s[i] - 1) / g.s[i];
                    int total = Math.max(0, (o - 1) * g.s[i] + ek - g.in[i]);
                    g.pb[i] = auto.equals("SAME_UPPER") ? total / 2 : total - total / 2;
                    g.pe[i] = total - g.pb[i];
                    g.out[i] = o;
                }
                default -> throw c.error("unknown auto_pad '" + auto + "'");
            }
        }
        return g;
    }

    static int toInt(OpContext c, long v) {
        if (v < 0 || v > Integer.MAX_VALUE / 2) throw c.error("value out of range: " + v);
        return (int) v;
    }

    /**
     * For each kernel offset kk and output position o, the flat input position read, or -1 in padding:
     * {@code map[kk * OUT + o]}.
     */
    static int[] windowMap(Geo g) {
        int nd = g.nd, K = g.kSize(), OUT = g.outSize();
        int[] map = new int[K * OUT];
        int[] kk = new int[nd];
        int[] oo = new int[nd];
        for (int ki = 0; ki < K; ki++) {
            unravel(ki, g.k, kk);
            Arrays.fill(oo, 0);
            for (int o = 0; o < OUT; o++) {
                int idx = 0;
                boolean ok = true;
                for (int i = 0; i < nd; i++) {
                    int pos = oo[i] * g.s[i] - g.pb[i] + kk[i] * g.d[i];
                    if (pos < 0 || pos >= g.in[i]) { ok = false; break; }
                    idx = idx * g.in[i] + pos;
                }
                map[ki * OUT + o] = ok ? idx : -1;
                for (int i = nd - 1; i >= 0; i--) { if (++oo[i] < g.out[i]) break; oo[i] = 0; }
            }
        }
        return map;
    }

    static void unravel(int flat, int[] dims, int[] out) {
        for (int i = dims.length - 1; i >= 0; i--) { out[i] = flat % dims[i]; flat /= dims[i]; }
    }

    // ---------------------------------------------------------------- convolution (im2col + GEMM)

    /** Conv of x [N, C, in...] with w [M, C/group, k...] and optional bias b [M]; any number of spatial dims. */
    static INDArray conv(INDArray x, INDArray w, INDArray b, Geo g, int group) {
        long[] xs = x.shape();
        int N = (int) xs[0], C = (int) xs[1], M = (int) w.size(0);
        int Cg = C / group, Mg = M / group, K = g.kSize(), IN = g.inSize(), OUT = g.outSize();
        DataType t = x.dataType();
        boolean dbl = t == DataType.DOUBLE;
        boolean pointwise = g.pointwise();
        int[] map = pointwise ? null : windowMap(g);
        INDArray xc = Nd.contiguous(x);
        INDArray w2 = Nd.contiguous(w).reshape('c', M, (long) Cg * K);
        long[] os = new long[xs.length];
        os[0] = N; os[1] = M;
        for (int i = 0; i < g.nd; i++) os[i + 2] = g.out[i];
        if (Cg == 1 && group > 1 && !pointwise) { // depthwise; a single-channel group=1 conv is better as one GEMM
            INDArray y = depthwise(xc, w2, N, C, M, IN, OUT, K, map, os);
            if (b != null) addChannelBias(y, b);
            return y;
        }
        INDArray y = Nd4j.createUninitialized(t, os, 'c');
        INDArray y3 = y.reshape('c', N, M, OUT);
        INDArray x3 = xc.reshape('c', N, C, IN);
        int colLen = Cg * K * OUT;
        float[] xf = pointwise || dbl ? null : floatsOf(xc);
        double[] xd = pointwise || !dbl ? null : doublesOf(xc);
        float[] cf = pointwise || dbl ? null : new float[colLen];
        double[] cd = pointwise || !dbl ? null : new double[colLen];
        INDArray col = pointwise ? null : scratch(t, (long) Cg * K, OUT);
        for (int n = 0; n < N; n++) {
            for (int gi = 0; gi < group; gi++) {
                INDArray src;
                if (pointwise) {
                    src = rows(x3, n, (long) gi * Cg, Cg);
                } else if (dbl) {
                    im2col(xd, (n * C + gi * Cg) * IN, Cg, IN, map, K, OUT, cd);
                    col.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asDoubleBuffer().put(cd, 0, colLen);
                    src = col;
                } else {
                    im2col(xf, (n * C + gi * Cg) * IN, Cg, IN, map, K, OUT, cf);
                    col.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().put(cf, 0, colLen);
                    src = col;
                }
                INDArray wg = group == 1 ? w2 : dense(w2.get(NDArrayIndex.interval((long) gi * Mg, (long) (gi + 1) * Mg), NDArrayIndex.all()));
                gemmInto(wg, src, rows(y3, n, (long) gi * Mg, Mg));
            }
        }
        if (b != null) addChannelBias(y, b);
        return y;
    }

    /**
     * Depthwise (one input channel per group) 1-D/2-D convolution by rows: for each output row and kernel tap the
     * inner loop runs over a contiguous range of output columns (vectorized by the JIT for stride 1), with the
     * padding handled by clipping that range. Bias is added on the way.
     */
    static INDArray depthwise2d(INDArray x, INDArray w, INDArray b, Geo g) {
        boolean oneD = g.nd == 1;
        long[] xs = x.shape();
        int N = (int) xs[0], C = (int) xs[1], M = (int) w.size(0), mult = M / C;
        int H = oneD ? 1 : g.in[0], W = g.in[g.nd - 1], OH = oneD ? 1 : g.out[0], OW = g.out[g.nd - 1];
        int kH = oneD ? 1 : g.k[0], kW = g.k[g.nd - 1], sH = oneD ? 1 : g.s[0], sW = g.s[g.nd - 1];
        int dH = oneD ? 1 : g.d[0], dW = g.d[g.nd - 1], pT = oneD ? 0 : g.pb[0], pL = g.pb[g.nd - 1];
        long[] os = xs.clone();
        os[1] = M;
        for (int i = 0; i < g.nd; i++) os[i + 2] = g.out[i];
        int plane = OH * OW, inPlane = H * W, K = kH * kW;
        // valid output-column range per kernel column
        int[] lo = new int[kW], hi = new int[kW], off = new int[kW];
        for (int kw = 0; kw < kW; kw++) {
            off[kw] = kw * dW - pL;
            lo[kw] = off[kw] >= 0 ? 0 : (-off[kw] + sW - 1) / sW;
            hi[kw] = W - 1 - off[kw] < 0 ? -1 : Math.min(OW - 1, (W - 1 - off[kw]) / sW);
        }
        if (x.dataType() == DataType.DOUBLE) {
            double[] xd = doublesOf(x), wd = doublesOf(w), bd = b == null ? null : doublesOf(b), yd = new double[N * M * plane];
            par(N * M, (long) plane * K, nm -> {
                int n = nm / M, m = nm % M, xb = (n * C + m / mult) * inPlane, yb = nm * plane;
                if (bd != null) Arrays.fill(yd, yb, yb + plane, bd[m]);
                for (int oh = 0; oh < OH; oh++) {
                    int yr = yb + oh * OW;
                    for (int kh = 0; kh < kH; kh++) {
                        int ih = oh * sH - pT + kh * dH;
                        if (ih < 0 || ih >= H) continue;
                        int xr = xb + ih * W;
                        for (int kw = 0; kw < kW; kw++) {
                            double wv = wd[m * K + kh * kW + kw];
                            int o = off[kw];
                            if (sW == 1) for (int ow = lo[kw]; ow <= hi[kw]; ow++) yd[yr + ow] += wv * xd[xr + ow + o];
                            else for (int ow = lo[kw]; ow <= hi[kw]; ow++) yd[yr + ow] += wv * xd[xr + ow * sW + o];
                        }
                    }
                }
            });
            return wrap(yd, os);
        }
        float[] xf = floatsOf(x), wf = floatsOf(w), bf = b == null ? null : floatsOf(b), yf = new float[N * M * plane];
        par(N * M, (long) plane * K, nm -> {
            int n = nm / M, m = nm % M, xb = (n * C + m / mult) * inPlane, yb = nm * plane;
            if (bf != null) Arrays.fill(yf, yb, yb + plane, bf[m]);
            for (int oh = 0; oh < OH; oh++) {
                int yr = yb + oh * OW;
                for (int kh = 0; kh < kH; kh++) {
                    int ih = oh * sH - pT + kh * dH;
                    if (ih < 0 || ih >= H) continue;
                    int xr = xb + ih * W;
                    for (int kw = 0; kw < kW; kw++) {
                        float wv = wf[m * K + kh * kW + kw];
                        int o = off[kw];
                        if (sW == 1) for (int ow = lo[kw]; ow <= hi[kw]; ow++) yf[yr + ow] += wv * xf[xr + ow + o];
                        else for (int ow = lo[kw]; ow <= hi[kw]; ow++) yf[yr + ow] += wv * xf[xr + ow * sW + o];
                    }
                }
            }
        });
        return wrap(yf, os);
    }

    /** One input channel per group (depthwise): direct loops, output channel m reads input channel m / (M / C). */
    private static INDArray depthwise(INDArray x, INDArray w2, int N, int C, int M, int IN, int OUT, int K, int[] map, long[] os) {
        int mult = M / C;
        if (x.dataType() == DataType.DOUBLE) {
            double[] xd = doublesOf(x), wd = doublesOf(w2), yd = new double[N * M * OUT];
            par(N * M, (long) OUT * K, nm -> {
                int n = nm / M, m = nm % M, xb = (n * C + m / mult) * IN, yb = nm * OUT;
                for (int ki = 0; ki < K; ki++) {
                    double wv = wd[m * K + ki];
                    int mb = ki * OUT;
                    for (int o = 0; o < OUT; o++) {
                        int i = map[mb + o];
                        if (i >= 0) yd[yb + o] += wv * xd[xb + i];
                    }
                }
            });
            return wrap(yd, os);
        }
        float[] xf = floatsOf(x), wf = floatsOf(w2), yf = new float[N * M * OUT];
        par(N * M, (long) OUT * K, nm -> {
            int n = nm / M, m = nm % M, xb = (n * C + m / mult) * IN, yb = nm * OUT;
            for (int ki = 0; ki < K; ki++) {
                float wv = wf[m * K + ki];
                int mb = ki * OUT;
                for (int o = 0; o < OUT; o++) {
                    int i = map[mb + o];
                    if (i >= 0) yf[yb + o] += wv * xf[xb + i];
                }
            }
        });
        return wrap(yf, os);
    }

    /** Rows [from, from + count) of batch n of a C-ordered [N, R, L] array, as a dense [count, L] view. */
    static INDArray rows(INDArray a3, int n, long from, long count) {
        if (a3.size(0) == 1 && from == 0 && count == a3.size(1)) return a3.reshape('c', count, a3.size(2));
        return a3.get(NDArrayIndex.point(n), NDArrayIndex.interval(from, from + count), NDArrayIndex.all());
    }

    /** c = a x b, written into {@code c} (a dense C-ordered array or view). */
    static void gemmInto(INDArray a, INDArray b, INDArray c) {
        INDArray r = Nd4j.gemm(dense(a), dense(b), c, false, false, 1.0, 0.0);
        if (r != c) c.assign(r);
    }

    private static final ThreadLocal<INDArray[]> SCRATCH = ThreadLocal.withInitial(() -> new INDArray[2]);
    private static final long SCRATCH_MAX = 32L << 20;

    /** A reusable [r, c] work array of type t (contents undefined), private to the calling thread. */
    static INDArray scratch(DataType t, long r, long c) {
        long n = r * c;
        int slot = t == DataType.DOUBLE ? 1 : 0;
        if (n > SCRATCH_MAX) return Nd4j.createUninitialized(t, new long[] {r, c}, 'c');
        INDArray[] cache = SCRATCH.get();
        INDArray a = cache[slot];
        if (a == null || a.length() != n || a.dataType() != t) {
            a = Nd4j.createUninitialized(t, new long[] {r, c}, 'c');
            cache[slot] = a;
        }
        return a.shape()[0] == r ? a : a.reshape('c', r, c);
    }

    private static void im2col(float[] x, int base, int Cg, int IN, int[] map, int K, int OUT, float[] col) {
        par(Cg, (long) K * OUT, c -> {
            int xb = base + c * IN;
            for (int ki = 0; ki < K; ki++) {
                int cb = (c * K + ki) * OUT, mb = ki * OUT;
                for (int o = 0; o < OUT; o++) {
                    int idx = map[mb + o];
                    col[cb + o] = idx < 0 ? 0f : x[xb + idx];
                }
            }
        });
    }

    private static void im2col(double[] x, int base, int Cg, int IN, int[] map, int K, int OUT, double[] col) {
        par(Cg, (long) K * OUT, c -> {
            int xb = base + c * IN;
            for (int ki = 0; ki < K; ki++) {
                int cb = (c * K + ki) * OUT, mb = ki * OUT;
                for (int o = 0; o < OUT; o++) {
                    int idx = map[mb + o];
                    col[cb + o] = idx < 0 ? 0.0 : x[xb + idx];
                }
            }
        });
    }

    /** y[n, c, ...] += b[c], as a rank-1 GEMM update per batch item (several times faster than a broadcast add). */
    static void addChannelBias(INDArray y, INDArray b) {
        long[] ys = y.shape();
        long N = ys[0], M = ys[1], S = y.length() / Math.max(1, N * M);
        if (N * M * S == 0) return;
        INDArray bc = dense(b.castTo(y.dataType()).reshape('c', M, 1));
        INDArray ones = ones(y.dataType(), S);
        INDArray y3 = y.reshape('c', N, M, S);
        for (int n = 0; n < N; n++) {
            INDArray yn = N == 1 ? y3.reshape('c', M, S) : y3.get(NDArrayIndex.point(n), NDArrayIndex.all(), NDArrayIndex.all());
            INDArray r = Nd4j.gemm(bc, ones, yn, false, false, 1.0, 1.0);
            if (r != yn) yn.assign(r);
        }
    }

    private static final ThreadLocal<INDArray[]> ONES = ThreadLocal.withInitial(() -> new INDArray[2]);

    /** A cached [1, n] row of ones (read-only). */
    static INDArray ones(DataType t, long n) {
        int slot = t == DataType.DOUBLE ? 1 : 0;
        INDArray[] cache = ONES.get();
        INDArray a = cache[slot];
        if (a == null || a.length() != n) {
            a = Nd4j.ones(t, 1, n);
            if (n <= (1 << 22)) cache[slot] = a;
        }
        return a;
    }

    // ---------------------------------------------------------------- transposed convolution (GEMM + col2im)

    /**
     * ConvTranspose of x [N, C, in...] with w [C, M/group, k...]: {@code g} holds the output geometry as a
     * forward conv would see it, i.e. g.in = output spatial size and g.out = x's spatial size.
     */
    static INDArray convTranspose(INDArray x, INDArray w, INDArray b, Geo g, int group) {
        long[] xs = x.shape();
        int N = (int) xs[0], C = (int) xs[1], Cg = C / group, Mg = (int) w.size(1), M = Mg * group;
        int K = g.kSize(), XIN = g.outSize(), YOUT = g.inSize();
        boolean dbl = x.dataType() == DataType.DOUBLE;
        int[] map = windowMap(g); // map[kk * XIN + i] = output position fed by x position i through offset kk
        INDArray x3 = Nd.contiguous(x).reshape('c', N, C, XIN);
        INDArray w2 = Nd.contiguous(w).reshape('c', C, (long) Mg * K);
        long[] os = new long[xs.length];
        os[0] = N; os[1] = M;
        for (int i = 0; i < g.nd; i++) os[i + 2] = g.in[i];
        int total = N * M * YOUT;
        float[] yf = dbl ? null : new float[total];
        double[] yd = dbl ? new double[total] : null;
        for (int n = 0; n < N; n++) {
            for (int gi = 0; gi < group; gi++) {
                INDArray xg = x3.get(NDArrayIndex.point(n), NDArrayIndex.interval((long) gi * Cg, (long) (gi + 1) * Cg), NDArrayIndex.all());
                INDArray wg = group == 1 ? w2 : w2.get(NDArrayIndex.interval((long) gi * Cg, (long) (gi + 1) * Cg), NDArrayIndex.all());
                INDArray cols = Nd4j.gemm(wg, xg, true, false); // [Mg*K, XIN]
                int base = (n * M + gi * Mg) * YOUT;
                if (dbl) col2im(doublesOf(cols), Mg, K, XIN, YOUT, map, yd, base);
                else col2im(floatsOf(cols), Mg, K, XIN, YOUT, map, yf, base);
            }
        }
        INDArray y = dbl ? wrap(yd, os) : wrap(yf, os);
        if (b != null) addChannelBias(y, b);
        return y;
    }

    private static void col2im(float[] cols, int Mg, int K, int XIN, int YOUT, int[] map, float[] y, int base) {
        par(Mg, (long) K * XIN, m -> {
            int yb = base + m * YOUT;
            for (int ki = 0; ki < K; ki++) {
                int cb = (m * K + ki) * XIN, mb = ki * XIN;
                for (int i = 0; i < XIN; i++) {
                    int o = map[mb + i];
                    if (o >= 0) y[yb + o] += cols[cb + i];
                }
            }
        });
    }

    private static void col2im(double[] cols, int Mg, int K, int XIN, int YOUT, int[] map, double[] y, int base) {
        par(Mg, (long) K * XIN, m -> {
            int yb = base + m * YOUT;
            for (int ki = 0; ki < K; ki++) {
                int cb = (m * K + ki) * XIN, mb = ki * XIN;
                for (int i = 0; i < XIN; i++) {
                    int o = map[mb + i];
                    if (o >= 0) y[yb + o] += cols[cb + i];
                }
            }
        });
    }

    // ---------------------------------------------------------------- pooling

    /** Result of a max pool: values, and flat input indices when requested. */
    record PoolResult(INDArray y, INDArray indices) {}

    /**
     * Max or average pooling of x [N, C, in...]. For average pooling {@code countIncludePad} counts the explicit
     * padding (not the extra positions ceil_mode adds) in the divisor.
     */
    static PoolResult pool(INDArray x, Geo g, boolean max, boolean countIncludePad, boolean wantIndices, int storageOrder) {
        long[] xs = x.shape();
        int P = (int) (xs[0] * xs[1]), IN = g.inSize(), OUT = g.outSize(), K = g.kSize();
        boolean dbl = x.dataType() == DataType.DOUBLE;
        int[] map = windowMap(g);
        long[] os = xs.clone();
        for (int i = 0; i < g.nd; i++) os[i + 2] = g.out[i];
        double[] div = max ? null : divisors(g, map, countIncludePad);
        long[] idx = wantIndices ? new long[P * OUT] : null;
        INDArray y;
        if (dbl) {
            double[] xd = doublesOf(x);
            double[] yd = new double[P * OUT];
            par(P, (long) K * OUT, p -> poolPlane(xd, p, IN, OUT, K, map, max, div, yd, idx));
            y = wrap(yd, os);
        } else {
            float[] xf = floatsOf(x);
            float[] yf = new float[P * OUT];
            par(P, (long) K * OUT, p -> poolPlane(xf, p, IN, OUT, K, map, max, div, yf, idx));
            y = wrap(yf, os);
        }
        INDArray ind = null;
        if (wantIndices) {
            if (storageOrder == 1) {
                int[] pos = new int[g.nd];
                for (int i = 0; i < idx.length; i++) {
                    long plane = idx[i] / IN;
                    unravel((int) (idx[i] % IN), g.in, pos);
                    long cm = 0;
                    for (int j = g.nd - 1; j >= 0; j--) cm = cm * g.in[j] + pos[j];
                    idx[i] = plane * IN + cm;
                }
            }
            ind = Nd.ofLongs(idx, os);
        }
        return new PoolResult(y, ind);
    }

    private static double[] divisors(Geo g, int[] map, boolean countIncludePad) {
        int OUT = g.outSize(), K = g.kSize();
        double[] div = new double[OUT];
        if (!countIncludePad) {
            for (int ki = 0; ki < K; ki++) for (int o = 0; o < OUT; o++) if (map[ki * OUT + o] >= 0) div[o]++;
            return div;
        }
        // positions inside [-pb, in + pe) count, positions past the end padding (ceil_mode) do not
        int nd = g.nd;
        int[] oo = new int[nd];
        for (int o = 0; o < OUT; o++) {
            unravel(o, g.out, oo);
            double n = 1;
            for (int i = 0; i < nd; i++) {
                int c = 0;
                for (int k = 0; k < g.k[i]; k++) {
                    int pos = oo[i] * g.s[i] - g.pb[i] + k * g.d[i];
                    if (pos >= -g.pb[i] && pos < g.in[i] + g.pe[i]) c++;
                }
                n *= c;
            }
            div[o] = n;
        }
        return div;
    }

    private static void poolPlane(float[] x, int p, int IN, int OUT, int K, int[] map, boolean max, double[] div,
                                  float[] y, long[] idx) {
        int xb = p * IN, yb = p * OUT;
        if (max) {
            Arrays.fill(y, yb, yb + OUT, Float.NEGATIVE_INFINITY);
            for (int ki = 0; ki < K; ki++) {
                int mb = ki * OUT;
                for (int o = 0; o < OUT; o++) {
                    int i = map[mb + o];
                    if (i >= 0 && x[xb + i] > y[yb + o]) {
                        y[yb + o] = x[xb + i];
                        if (idx != null) idx[yb + o] = (long) xb + i;
                    }
                }
            }
        } else {
            float[] acc = new float[OUT];
            for (int ki = 0; ki < K; ki++) {
                int mb = ki * OUT;
                for (int o = 0; o < OUT; o++) {
                    int i = map[mb + o];
                    if (i >= 0) acc[o] += x[xb + i];
                }
            }
            for (int o = 0; o < OUT; o++) y[yb + o] = (float) (acc[o] / div[o]);
        }
    }

    private static void poolPlane(double[] x, int p, int IN, int OUT, int K, int[] map, boolean max, double[] div,
                                  double[] y, long[] idx) {
        int xb = p * IN, yb = p * OUT;
        if (max) {
            Arrays.fill(y, yb, yb + OUT, Double.NEGATIVE_INFINITY);
            for (int ki = 0; ki < K; ki++) {
                int mb = ki * OUT;
                for (int o = 0; o < OUT; o++) {
                    int i = map[mb + o];
                    if (i >= 0 && x[xb + i] > y[yb + o]) {
                        y[yb + o] = x[xb + i];
                        if (idx != null) idx[yb + o] = (long) xb + i;
                    }
                }
            }
        } else {
            double[] acc = new double[OUT];
            for (int ki = 0; ki < K; ki++) {
                int mb = ki * OUT;
                for (int o = 0; o < OUT; o++) {
                    int i = map[mb + o];
                    if (i >= 0) acc[o] += x[xb + i];
                }
            }
            for (int o = 0; o < OUT; o++) y[yb + o] = acc[o] / div[o];
        }
    }
}
