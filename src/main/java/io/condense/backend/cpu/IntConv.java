package io.condense.backend.cpu;

import io.condense.ir.DType;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.lang.ref.WeakReference;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Exact integer convolution (1-D and 2-D, NCHW) of (x - x_zero_point) with (w - w_zero_point), int32 accumulation,
 * with ONNX Conv's attributes (auto_pad, pads, strides, dilations, group).
 *
 * <p>Groups with one input channel each (depthwise) run as direct Java integer loops. Other groups run as an
 * integer im2col followed by an ND4J GEMM in float32 when the largest possible partial sum is below 2^24, else in
 * float64, so the int32 result is exact either way. Zero-point-adjusted weights are cached per node while the
 * weight array stays the same object (initializers do).
 */
final class IntConv {
    private IntConv() {}

    /** The accumulators (ConvInteger) or, when a {@link Requant} was given, the requantized 8-bit output. */
    record Result(int[] acc, byte[] q, long[] shape) {}

    /**
     * Requantization applied while the accumulators are produced (QLinearConv): per output channel,
     * saturate(round_half_even(float(acc + bias) * mult) + zero) for an 8-bit output with bounds [fmin, fmax] - zero.
     */
    record Requant(float[] mult, int[] bias, int zero, float fmin, float fmax) {}

    static Result conv(OpContext ctx, INDArray x, INDArray xz, INDArray w, INDArray wz) {
        return conv(ctx, x, xz, w, wz, null);
    }

    /** Weights prepared for one node: adjusted integer values, per-channel absolute sums and GEMM matrices. */
    private static final class Prepared {
        final WeakReference<INDArray> w;
        final WeakReference<INDArray> wz;
        final int[] wv;
        final long maxAbsSum;
        INDArray[] floatMats, doubleMats;

        Prepared(INDArray w, INDArray wz, int[] wv, long maxAbsSum) {
            this.w = new WeakReference<>(w);
            this.wz = wz == null ? null : new WeakReference<>(wz);
            this.wv = wv;
            this.maxAbsSum = maxAbsSum;
        }

        boolean matches(INDArray w2, INDArray wz2) {
            return w.get() == w2 && (wz == null ? wz2 == null : wz.get() == wz2);
        }
    }

    /** Work (elements) below which loops stay on the calling thread. */
    static final long PARALLEL_MIN = 1 << 16;

    /** Runs body(0..count-1), on the common fork-join pool when {@code parallel}. */
    static void forEach(int count, boolean parallel, java.util.function.IntConsumer body) {
        if (parallel && count > 1) java.util.stream.IntStream.range(0, count).parallel().forEach(body);
        else for (int i = 0; i < count; i++) body.accept(i);
    }

    private static final Map<Node, Prepared> CACHE = Collections.synchronizedMap(new WeakHashMap<>());

    static Result conv(OpContext ctx, INDArray x, INDArray xz, INDArray w, INDArray wz, Requant rq) {
        long[] xs = x.shape(), wsh = w.shape();
        int sp = xs.length - 2;
        if (sp < 1 || sp > 2) throw ctx.error("only 1-D and 2-D integer convolutions are supported, input shape " + Arrays.toString(xs));
        if (wsh.length != xs.length) throw ctx.error("weight rank " + wsh.length + " does not match input rank " + xs.length);
        int n = (int) xs[0], c = (int) xs[1];
        int h = sp == 2 ? (int) xs[2] : 1, wd = (int) xs[xs.length - 1];
        int m = (int) wsh[0], cg = (int) wsh[1];
        int kh = sp == 2 ? (int) wsh[2] : 1, kw = (int) wsh[wsh.length - 1];
        int group = (int) ctx.attrLong("group", 1);
        if (group < 1 || c != cg * group || m % group != 0) {
            throw ctx.error("input channels " + c + ", weight shape " + Arrays.toString(wsh) + " and group " + group + " do not agree");
        }
        long[] ks = ctx.attrLongs("kernel_shape", null);
        if (ks != null && (ks.length != sp || ks[0] != (sp == 2 ? kh : kw) || ks[sp - 1] != kw)) {
            throw ctx.error("kernel_shape " + Arrays.toString(ks) + " does not match weight shape " + Arrays.toString(wsh));
        }
        long[] strides = ctx.attrLongs("strides", null), dil = ctx.attrLongs("dilations", null), pads = ctx.attrLongs("pads", null);
        int sh = sp == 2 && strides != null ? (int) strides[0] : 1, sw = strides != null ? (int) strides[sp - 1] : 1;
        int dh = sp == 2 && dil != null ? (int) dil[0] : 1, dw = dil != null ? (int) dil[sp - 1] : 1;
        if (sh < 1 || sw < 1 || dh < 1 || dw < 1) throw ctx.error("strides and dilations must be positive");
        int pt = 0, pl = 0, pb = 0, pr = 0;
        String autoPad = ctx.attrString("auto_pad", "NOTSET");
        int oh, ow;
        if (autoPad.equals("SAME_UPPER") || autoPad.equals("SAME_LOWER")) {
            boolean upper = autoPad.equals("SAME_UPPER");
            oh = (h + sh - 1) / sh;
            ow = (wd + sw - 1) / sw;
            int th = Math.max(0, (oh - 1) * sh + (kh - 1) * dh + 1 - h);
            int tw = Math.max(0, (ow - 1) * sw + (kw - 1) * dw + 1 - wd);
            pt = upper ? th / 2 : th - th / 2;
            pb = th - pt;
            pl = upper ? tw / 2 : tw - tw / 2;
            pr = tw - pl;
        } else {
            if (!autoPad.equals("VALID") && pads != null) {
                if (pads.length != 2 * sp) throw ctx.error("pads must have " + 2 * sp + " values, got " + pads.length);
                if (sp == 2) { pt = (int) pads[0]; pl = (int) pads[1]; pb = (int) pads[2]; pr = (int) pads[3]; }
                else { pl = (int) pads[0]; pr = (int) pads[1]; }
            }
            oh = (h + pt + pb - ((kh - 1) * dh + 1)) / sh + 1;
            ow = (wd + pl + pr - ((kw - 1) * dw + 1)) / sw + 1;
        }
        if (oh < 1 || ow < 1) throw ctx.error("kernel larger than padded input " + Arrays.toString(xs));
        long[] outShape = sp == 2 ? new long[] {n, m, oh, ow} : new long[] {n, m, ow};

        int[] xzv = xz == null ? new int[] {0} : QuantKernels.ints(xz);
        if (xzv.length != 1) throw ctx.error("x_zero_point must be a scalar (per-tensor)");
        int zx = xzv[0];
        Prepared p = prepare(ctx, w, wz, m);
        int mg = m / group;
        int hw = h * wd, ohw = oh * ow;
        final int padT = pt, padL = pl;
        Tensor xt = Nd.toTensor(x, null);
        boolean bytes = xt.dtype() == DType.UINT8 || xt.dtype() == DType.INT8;
        boolean pointwise = kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && pb == 0 && pr == 0;
        // |x - zx| bounded by the input type, or (when that bound is too loose for float32) by the data
        long maxX = bytes ? Math.max(Math.abs(xt.dtype().minValue() - zx), Math.abs(xt.dtype().maxValue() - zx)) : Long.MAX_VALUE;
        int[] xv = null;
        if (cg == 1) {
            xv = QuantKernels.ints(xt, zx); // direct int32 accumulation: no bound needed
        } else if (!pointwise || !bytes || maxX * p.maxAbsSum >= IntMatMul.FLOAT_EXACT) {
            xv = QuantKernels.ints(xt, zx);
            int xmin = 0, xmax = 0;
            for (int v : xv) {
                xmin = Math.min(xmin, v);
                xmax = Math.max(xmax, v);
            }
            maxX = Math.max(-(long) xmin, xmax);
        }
        int[] out = rq == null ? new int[n * m * ohw] : null;
        byte[] q = rq == null ? null : new byte[n * m * ohw];
        if (cg == 1) {
            final int[] xs0 = xv;
            forEach(n * m, (long) n * m * ohw * kh * kw >= PARALLEL_MIN, t -> {
                int b = t / m, oc = t % m;
                int[] acc = out != null ? out : new int[ohw];
                int off = out != null ? t * ohw : 0;
                depthwise(xs0, (b * c + oc / mg) * hw, h, wd, p.wv, oc * kh * kw, kh, kw, acc, off, oh, ow, sh, sw, dh, dw, padT, padL);
                if (rq != null) requantRow(acc, 0, q, t * ohw, ohw, rq, oc);
            });
            return new Result(out, q, outShape);
        }
        int kg = cg * kh * kw;
        boolean useFloat = maxX * p.maxAbsSum < IntMatMul.FLOAT_EXACT;
        INDArray[] mats = matrices(p, group, mg, kg, useFloat);
        // one GEMM per group over the whole batch: cols is [kg, n * ohw], image b in columns [b*ohw, (b+1)*ohw)
        int ld = n * ohw;
        boolean par = (long) kg * ld >= PARALLEL_MIN;
        final int[] xs1 = xv;
        final byte[] xb = bytes ? (byte[]) xt.data() : null;
        final int mask = xt.dtype() == DType.UINT8 ? 0xFF : -1;
        for (int g = 0; g < group; g++) {
            final int gg = g;
            INDArray cols;
            if (useFloat) {
                float[] f = new float[kg * ld];
                forEach(n * cg, par, t -> {
                    int b = t / cg, ci = t % cg;
                    int base = (b * c + gg * cg + ci) * hw;
                    if (pointwise) {
                        int r = ci * ld + b * ohw;
                        if (xs1 != null) for (int i = 0; i < hw; i++) f[r + i] = xs1[base + i];
                        else for (int i = 0; i < hw; i++) f[r + i] = (xb[base + i] & mask) - zx;
                    } else {
                        im2colFloat(xs1, base, ci, h, wd, kh, kw, oh, ow, sh, sw, dh, dw, padT, padL, f, b * ohw, ld);
                    }
                });
                cols = IntMatMul.wrap(f, kg, ld);
            } else {
                double[] f = new double[kg * ld];
                forEach(n * cg, par, t -> {
                    int b = t / cg, ci = t % cg;
                    int base = (b * c + gg * cg + ci) * hw;
                    if (pointwise) {
                        int r = ci * ld + b * ohw;
                        for (int i = 0; i < hw; i++) f[r + i] = xs1[base + i];
                    } else {
                        im2colDouble(xs1, base, ci, h, wd, kh, kw, oh, ow, sh, sw, dh, dw, padT, padL, f, b * ohw, ld);
                    }
                });
                cols = IntMatMul.wrap(f, kg, ld);
            }
            INDArray prod = IntMatMul.product(mats[g], cols);
            if (rq == null) {
                IntMatMul.copyInts(prod, mg, n, ohw, out, g * mg * ohw, m * ohw);
            } else {
                requantGemm(prod, useFloat, mg, n, ohw, g * mg, m, rq, q, (long) mg * ld >= PARALLEL_MIN);
            }
        }
        return new Result(out, q, outShape);
    }

    /** Requantizes a [mg, n * ohw] GEMM result of output channels oc0.. straight into the [n, m, ohw] byte output. */
    private static void requantGemm(INDArray prod, boolean useFloat, int mg, int n, int ohw, int oc0, int m, Requant rq,
                                    byte[] q, boolean parallel) {
        java.nio.ByteBuffer bb = prod.data().asNio().order(java.nio.ByteOrder.nativeOrder());
        java.nio.FloatBuffer fb = useFloat ? bb.asFloatBuffer() : null;
        java.nio.DoubleBuffer db = useFloat ? null : bb.asDoubleBuffer();
        int ld = n * ohw;
        forEach(mg * n, parallel, t -> {
            int row = t / n, b = t % n, oc = oc0 + row;
            int src = row * ld + b * ohw, dst = (b * m + oc) * ohw;
            int bias = rq.bias() == null ? 0 : rq.bias()[oc];
            float mult = rq.mult()[oc], fmin = rq.fmin(), fmax = rq.fmax();
            int z = rq.zero();
            if (fb != null) {
                float[] a = new float[ohw];
                fb.get(src, a, 0, ohw);
                for (int i = 0; i < ohw; i++) q[dst + i] = (byte) QuantKernels.sat((float) ((int) a[i] + bias) * mult, z, fmin, fmax);
            } else {
                double[] a = new double[ohw];
                db.get(src, a, 0, ohw);
                for (int i = 0; i < ohw; i++) q[dst + i] = (byte) QuantKernels.sat((float) ((int) a[i] + bias) * mult, z, fmin, fmax);
            }
        });
    }

    /** q[qOff .. qOff+len) = requantized acc[off ..] of output channel oc. */
    private static void requantRow(int[] acc, int off, byte[] q, int qOff, int len, Requant rq, int oc) {
        int bias = rq.bias() == null ? 0 : rq.bias()[oc];
        float mult = rq.mult()[oc], fmin = rq.fmin(), fmax = rq.fmax();
        int z = rq.zero();
        for (int i = 0; i < len; i++) q[qOff + i] = (byte) QuantKernels.sat((float) (acc[off + i] + bias) * mult, z, fmin, fmax);
    }

    private static Prepared prepare(OpContext ctx, INDArray w, INDArray wz, int m) {
        Node node = ctx.node();
        Prepared p = CACHE.get(node);
        if (p != null && p.matches(w, wz)) return p;
        int[] wzv = wz == null ? new int[] {0} : QuantKernels.ints(wz);
        if (wzv.length != 1 && wzv.length != m) throw ctx.error("w_zero_point must be a scalar or have " + m + " values, got " + wzv.length);
        int[] wv = QuantKernels.ints(w);
        int per = wv.length / m;
        long maxSum = 0;
        for (int oc = 0; oc < m; oc++) {
            int z = wzv[wzv.length == 1 ? 0 : oc];
            long s = 0;
            for (int i = oc * per; i < (oc + 1) * per; i++) {
                wv[i] -= z;
                s += Math.abs(wv[i]);
            }
            maxSum = Math.max(maxSum, s);
        }
        p = new Prepared(w, wz, wv, maxSum);
        CACHE.put(node, p);
        return p;
    }

    private static synchronized INDArray[] matrices(Prepared p, int group, int mg, int kg, boolean useFloat) {
        INDArray[] mats = useFloat ? p.floatMats : p.doubleMats;
        if (mats != null) return mats;
        mats = new INDArray[group];
        for (int g = 0; g < group; g++) {
            int off = g * mg * kg;
            if (useFloat) {
                float[] f = new float[mg * kg];
                for (int i = 0; i < f.length; i++) f[i] = p.wv[off + i];
                mats[g] = Nd4j.create(f, new long[] {mg, kg}, 'c');
            } else {
                double[] f = new double[mg * kg];
                for (int i = 0; i < f.length; i++) f[i] = p.wv[off + i];
                mats[g] = Nd4j.create(f, new long[] {mg, kg}, 'c');
            }
        }
        if (useFloat) p.floatMats = mats; else p.doubleMats = mats;
        return mats;
    }

    /**
     * One output channel reading one input channel: out[oh, ow] = sum over taps of w[tap] * x[ih, iw]. With a
     * horizontal stride the channel is first split into its {@code sw} column phases, so that every tap reads a
     * contiguous run (the inner loops then vectorize).
     */
    private static void depthwise(int[] x, int xOff, int h, int wd, int[] w, int wOff, int kh, int kw, int[] out, int oOff,
                                  int oh, int ow, int sh, int sw, int dh, int dw, int pt, int pl) {
        int[] src = x;
        int srcOff = xOff, rowLen = wd, wp = wd;
        if (sw > 1) {
            wp = (wd + sw - 1) / sw; // columns per phase
            rowLen = wp * sw;
            src = new int[h * rowLen];
            srcOff = 0;
            for (int ih = 0; ih < h; ih++) {
                for (int ph = 0; ph < sw; ph++) {
                    int dst = ih * rowLen + ph * wp, from = xOff + ih * wd + ph;
                    for (int j = 0; ph + j * sw < wd; j++) src[dst + j] = x[from + j * sw];
                }
            }
        }
        // per kernel column: where column o*sw + kj*dw - pl of a row starts in src, and the o range it is inside x
        int[] colBase = new int[kw], o0 = new int[kw], o1 = new int[kw];
        int lo = 0, hi = ow;
        for (int kj = 0; kj < kw; kj++) {
            int colOff = kj * dw - pl;
            o0[kj] = colOff >= 0 ? 0 : (-colOff + sw - 1) / sw;
            o1[kj] = wd - 1 - colOff < 0 ? 0 : Math.min(ow, (wd - 1 - colOff) / sw + 1);
            int ph = Math.floorMod(colOff, sw), shift = Math.floorDiv(colOff, sw);
            colBase[kj] = sw == 1 ? srcOff + colOff : srcOff + ph * wp + shift;
            lo = Math.max(lo, o0[kj]);
            hi = Math.min(hi, o1[kj]);
        }
        int taps = kh * kw;
        int[] tb = new int[taps], tw = new int[taps], tj = new int[taps];
        for (int y = 0; y < oh; y++) {
            int nt = 0;
            for (int ki = 0; ki < kh; ki++) {
                int ih = y * sh + ki * dh - pt;
                if (ih < 0 || ih >= h) continue;
                for (int kj = 0; kj < kw; kj++) {
                    tb[nt] = colBase[kj] + ih * rowLen;
                    tw[nt] = w[wOff + ki * kw + kj];
                    tj[nt++] = kj;
                }
            }
            int orow = oOff + y * ow;
            if (nt == 9 && lo < hi) {
                // all nine taps inside x for o in [lo, hi): one pass, nine products per output
                int b0 = tb[0], b1 = tb[1], b2 = tb[2], b3 = tb[3], b4 = tb[4], b5 = tb[5], b6 = tb[6], b7 = tb[7], b8 = tb[8];
                int w0 = tw[0], w1 = tw[1], w2 = tw[2], w3 = tw[3], w4 = tw[4], w5 = tw[5], w6 = tw[6], w7 = tw[7], w8 = tw[8];
                for (int o = lo; o < hi; o++) {
                    out[orow + o] += w0 * src[b0 + o] + w1 * src[b1 + o] + w2 * src[b2 + o] + w3 * src[b3 + o] + w4 * src[b4 + o]
                            + w5 * src[b5 + o] + w6 * src[b6 + o] + w7 * src[b7 + o] + w8 * src[b8 + o];
                }
                for (int t = 0; t < nt; t++) {
                    int kj = tj[t], wv = tw[t], bt = tb[t];
                    for (int o = o0[kj]; o < Math.min(lo, o1[kj]); o++) out[orow + o] += wv * src[bt + o];
                    for (int o = Math.max(hi, o0[kj]); o < o1[kj]; o++) out[orow + o] += wv * src[bt + o];
                }
            } else {
                for (int t = 0; t < nt; t++) {
                    int kj = tj[t], wv = tw[t], bt = tb[t];
                    if (wv == 0) continue;
                    for (int o = o0[kj]; o < o1[kj]; o++) out[orow + o] += wv * src[bt + o];
                }
            }
        }
    }

    /** Rows of channel {@code ci} (x starting at {@code base}) of the im2col matrix, row stride ld, from column off. */
    private static void im2colFloat(int[] x, int base, int ci, int h, int wd, int kh, int kw, int oh, int ow, int sh, int sw,
                                    int dh, int dw, int pt, int pl, float[] cols, int off, int ld) {
        for (int ki = 0; ki < kh; ki++) {
            for (int kj = 0; kj < kw; kj++) {
                int row = ((ci * kh + ki) * kw + kj) * ld + off;
                int colOff = kj * dw - pl;
                int o0 = colOff >= 0 ? 0 : (-colOff + sw - 1) / sw;
                int o1 = wd - 1 - colOff < 0 ? 0 : Math.min(ow, (wd - 1 - colOff) / sw + 1);
                for (int y = 0; y < oh; y++) {
                    int ih = y * sh + ki * dh - pt;
                    if (ih < 0 || ih >= h) continue;
                    int src = base + ih * wd + colOff;
                    int r = row + y * ow;
                    if (sw == 1) {
                        for (int o = o0; o < o1; o++) cols[r + o] = x[src + o];
                    } else {
                        for (int o = o0; o < o1; o++) cols[r + o] = x[src + o * sw];
                    }
                }
            }
        }
    }

    /** Rows of channel {@code ci} (x starting at {@code base}) of the im2col matrix, row stride ld, from column off. */
    private static void im2colDouble(int[] x, int base, int ci, int h, int wd, int kh, int kw, int oh, int ow, int sh, int sw,
                                    int dh, int dw, int pt, int pl, double[] cols, int off, int ld) {
        for (int ki = 0; ki < kh; ki++) {
            for (int kj = 0; kj < kw; kj++) {
                int row = ((ci * kh + ki) * kw + kj) * ld + off;
                int colOff = kj * dw - pl;
                int o0 = colOff >= 0 ? 0 : (-colOff + sw - 1) / sw;
                int o1 = wd - 1 - colOff < 0 ? 0 : Math.min(ow, (wd - 1 - colOff) / sw + 1);
                for (int y = 0; y < oh; y++) {
                    int ih = y * sh + ki * dh - pt;
                    if (ih < 0 || ih >= h) continue;
                    int src = base + ih * wd + colOff;
                    int r = row + y * ow;
                    if (sw == 1) {
                        for (int o = o0; o < o1; o++) cols[r + o] = x[src + o];
                    } else {
                        for (int o = o0; o < o1; o++) cols[r + o] = x[src + o * sw];
                    }
                }
            }
        }
    }
}
