package io.condense.backend.cpu;

import io.condense.ir.Node;
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

    record Result(int[] acc, long[] shape) {}

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

    static Result conv(OpContext ctx, INDArray x, INDArray xz, INDArray w, INDArray wz) {
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
        int[] xv = QuantKernels.ints(x, xzv[0]);
        int xmin = 0, xmax = 0;
        for (int v : xv) {
            xmin = Math.min(xmin, v);
            xmax = Math.max(xmax, v);
        }
        long maxX = Math.max(-(long) xmin, xmax);
        Prepared p = prepare(ctx, w, wz, m);
        int mg = m / group;
        int hw = h * wd, ohw = oh * ow;
        int[] out = new int[n * m * ohw];
        if (cg == 1) {
            final int padT = pt, padL = pl;
            forEach(n * m, (long) n * m * ohw * kh * kw >= PARALLEL_MIN, t -> {
                int b = t / m, oc = t % m;
                depthwise(xv, (b * c + oc / mg) * hw, h, wd, p.wv, oc * kh * kw, kh, kw, out, (b * m + oc) * ohw, oh, ow,
                        sh, sw, dh, dw, padT, padL);
            });
            return new Result(out, outShape);
        }
        int kg = cg * kh * kw;
        boolean useFloat = maxX * p.maxAbsSum < IntMatMul.FLOAT_EXACT;
        INDArray[] mats = matrices(p, group, mg, kg, useFloat);
        boolean pointwise = kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && pb == 0 && pr == 0;
        // one GEMM per group over the whole batch: cols is [kg, n * ohw], image b in columns [b*ohw, (b+1)*ohw)
        int ld = n * ohw;
        boolean par = (long) kg * ld >= PARALLEL_MIN;
        final int padT = pt, padL = pl;
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
                        for (int i = 0; i < hw; i++) f[r + i] = xv[base + i];
                    } else {
                        im2colFloat(xv, base, ci, h, wd, kh, kw, oh, ow, sh, sw, dh, dw, padT, padL, f, b * ohw, ld);
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
                        for (int i = 0; i < hw; i++) f[r + i] = xv[base + i];
                    } else {
                        im2colDouble(xv, base, ci, h, wd, kh, kw, oh, ow, sh, sw, dh, dw, padT, padL, f, b * ohw, ld);
                    }
                });
                cols = IntMatMul.wrap(f, kg, ld);
            }
            INDArray prod = IntMatMul.product(mats[g], cols);
            IntMatMul.copyInts(prod, mg, n, ohw, out, g * mg * ohw, m * ohw);
        }
        return new Result(out, outShape);
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
        for (int ki = 0; ki < kh; ki++) {
            for (int kj = 0; kj < kw; kj++) {
                int wv = w[wOff + ki * kw + kj];
                if (wv == 0) continue;
                int colOff = kj * dw - pl;
                // ow range with 0 <= ow*sw + colOff < wd
                int o0 = colOff >= 0 ? 0 : (-colOff + sw - 1) / sw;
                int o1 = wd - 1 - colOff < 0 ? 0 : Math.min(ow, (wd - 1 - colOff) / sw + 1);
                if (o0 >= o1) continue;
                // input column o*sw + colOff lives in phase ph at index o + shift
                int ph = Math.floorMod(colOff, sw), shift = Math.floorDiv(colOff, sw);
                int base = sw == 1 ? srcOff + colOff : srcOff + ph * wp + shift;
                for (int y = 0; y < oh; y++) {
                    int ih = y * sh + ki * dh - pt;
                    if (ih < 0 || ih >= h) continue;
                    int xr = base + ih * rowLen;
                    int orow = oOff + y * ow;
                    for (int o = o0; o < o1; o++) out[orow + o] += wv * src[xr + o];
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
