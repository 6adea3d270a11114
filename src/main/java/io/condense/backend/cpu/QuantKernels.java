package io.condense.backend.cpu;

import java.util.Map;

import io.condense.ir.Node;

import io.condense.ir.DType;
import io.condense.ir.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/**
 * Quantization kernels: QuantizeLinear / DequantizeLinear (per-tensor, per-axis, blocked; 4/8/16-bit),
 * integer convolutions and matrix products (ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul) and the
 * com.microsoft quantized element-wise ops (QLinearAdd, QLinearMul, QLinearGlobalAveragePool, QLinearSigmoid).
 *
 * <p>Integer accumulation is exact (see {@link IntConv}); requantization follows ONNX Runtime: the real multiplier
 * is formed in float32, the int32 accumulator converted to float32 and multiplied, rounded half to even, offset by
 * the output zero point and saturated.
 */
final class QuantKernels implements KernelRegistry.Group {
    @Override
    public void register(KernelRegistry r) {
        r.add("QuantizeLinear", QuantKernels::quantizeLinear);
        r.add("DequantizeLinear", QuantKernels::dequantizeLinear);
        r.add("MatMulInteger", QuantKernels::matMulInteger);
        r.add("DynamicQuantizeLinear", QuantKernels::dynamicQuantizeLinear);
        r.add("com.microsoft", "MatMulNBits", QuantKernels::matMulNBits);
        r.add("QLinearMatMul", QuantKernels::qlinearMatMul);
        r.add("ConvInteger", QuantKernels::convInteger);
        r.add("QLinearConv", QuantKernels::qlinearConv);
        r.add("com.microsoft", "QLinearAdd", ctx -> qlinearBinary(ctx, false));
        r.add("com.microsoft", "QLinearMul", ctx -> qlinearBinary(ctx, true));
        r.add("com.microsoft", "QLinearGlobalAveragePool", QuantKernels::qlinearGlobalAveragePool);
        r.add("com.microsoft", "QLinearSigmoid", QuantKernels::qlinearSigmoid);
    }

    // ---------------------------------------------------------------- QuantizeLinear / DequantizeLinear

    /** How scale/zero-point values map onto the elements of x: per tensor, per axis or blocked along an axis. */
    private record Layout(int pre, int channels, int post, int block, int scaleChannels) {
        /** Index into the scale array of element {@code i} of x. */
        int scaleIndex(int i) {
            if (scaleChannels == 0) return 0;
            int q = i % post;
            int rest = i / post;
            int c = rest % channels;
            int p = rest / channels;
            if (block == 0) return c;
            return (p * scaleChannels + c / block) * post + q;
        }
    }

    private static Layout layout(OpContext ctx, INDArray x, INDArray scale) {
        long[] xs = x.shape();
        long sn = scale.length();
        long block = ctx.opset() >= 21 ? ctx.attrLong("block_size", 0) : 0;
        if (block < 0) throw ctx.error("block_size must be >= 0, got " + block);
        if (sn == 1 && block == 0 && scale.rank() <= 1) return new Layout(1, 1, 1, 0, 0);
        int rank = xs.length;
        long axisAttr = ctx.attrLong("axis", 1);
        int axis = (int) (axisAttr < 0 ? axisAttr + rank : axisAttr);
        if (axis < 0 || axis >= rank) throw ctx.error("axis " + axisAttr + " is out of range for input of rank " + rank);
        int pre = 1, post = 1;
        for (int i = 0; i < axis; i++) pre *= (int) xs[i];
        for (int i = axis + 1; i < rank; i++) post *= (int) xs[i];
        int c = (int) xs[axis];
        if (block == 0) {
            if (scale.rank() != 1 || sn != c) {
                throw ctx.error("scale of shape " + Arrays.toString(scale.shape()) + " must be a scalar or a 1-D tensor of "
                        + c + " values (axis " + axis + " of input " + Arrays.toString(xs) + ")");
            }
            return new Layout(pre, c, post, 0, c);
        }
        long cb = (c + block - 1) / block;
        long[] want = xs.clone();
        want[axis] = cb;
        if (!Arrays.equals(scale.shape(), want)) {
            throw ctx.error("blocked scale must have shape " + Arrays.toString(want) + " (block_size " + block + " on axis "
                    + axis + "), got " + Arrays.toString(scale.shape()));
        }
        return new Layout(pre, c, post, (int) block, (int) cb);
    }

    /** The quantized type of a zero point (INT4/UINT4 when declared so; else the array's type). */
    private static DType qtype(OpContext ctx, int input) {
        DType d = ctx.declaredType(input);
        if (d == DType.INT4 || d == DType.UINT4) return d;
        return Nd.fromNd(ctx.in(input).dataType());
    }

    private static INDArray[] quantizeLinear(OpContext ctx) {
        INDArray x = ctx.in(0);
        INDArray scale = ctx.in(1);
        INDArray zp = ctx.opt(2);
        DType out;
        if (zp != null) {
            out = qtype(ctx, 2);
        } else {
            long od = ctx.opset() >= 21 ? ctx.attrLong("output_dtype", 0) : 0;
            out = od == 0 ? DType.UINT8 : DType.fromOnnx((int) od);
        }
        checkQuantType(ctx, out);
        if (zp != null && zp.length() != scale.length()) throw ctx.error("zero point and scale must have the same shape");
        Layout l = layout(ctx, x, scale);
        float[] xv = Nd.floats(x);
        float[] sv = Nd.floats(scale);
        int[] zv = zp == null ? new int[sv.length] : ints(zp);
        long lo = out.minValue(), hi = out.maxValue();
        int n = xv.length;
        int[] q = new int[n];
        if (l.scaleChannels() == 0) {
            float s = sv[0];
            int z = zv[0];
            for (int i = 0; i < n; i++) q[i] = quantize(xv[i], s, z, lo, hi);
        } else if (l.block() == 0) {
            int post = l.post(), c = l.channels();
            for (int i = 0, p = 0; p < l.pre(); p++) {
                for (int ch = 0; ch < c; ch++) {
                    float s = sv[ch];
                    int z = zv[ch];
                    for (int k = 0; k < post; k++, i++) q[i] = quantize(xv[i], s, z, lo, hi);
                }
            }
        } else {
            for (int i = 0; i < n; i++) {
                int si = l.scaleIndex(i);
                q[i] = quantize(xv[i], sv[si], zv[si], lo, hi);
            }
        }
        return OpContext.one(intsOut(q, x.shape(), out));
    }

    /** saturate(round_half_even(x / s) + z), the division in float32 as ONNX Runtime does; NaN gives z. */
    static int quantize(float x, float s, int z, long lo, long hi) {
        float f = x / s;
        if (hi - lo <= (1 << 21)) return sat(f, z, lo - z, hi - z);
        double v = Math.rint(f) + z;
        if (v < lo) return (int) lo;
        if (v > hi) return (int) hi;
        if (Double.isNaN(v)) return z;
        return (int) v;
    }

    /**
     * round_half_even(clamp(f, fmin, fmax)) + z for bounds of magnitude below 2^22 (8- and 16-bit types): clamping
     * to the integer bounds before rounding gives the same result as saturating after, and lets the float rounding
     * trick apply. NaN gives z.
     */
    static int sat(float f, int z, float fmin, float fmax) {
        f = f < fmin ? fmin : f > fmax ? fmax : f;
        return (int) ((f + ROUND_MAGIC) - ROUND_MAGIC) + z;
    }

    private static void checkQuantType(OpContext ctx, DType t) {
        switch (t) {
            case INT8, UINT8, INT16, UINT16, INT4, UINT4, INT32 -> { }
            default -> throw ctx.error("quantized type " + t + " is not supported (int4/uint4/int8/uint8/int16/uint16)");
        }
    }

    private static INDArray[] dequantizeLinear(OpContext ctx) {
        INDArray x = ctx.in(0);
        INDArray scale = ctx.in(1);
        INDArray zp = ctx.opt(2);
        if (zp != null && zp.length() != scale.length()) throw ctx.error("zero point and scale must have the same shape");
        Layout l = layout(ctx, x, scale);
        int[] xv = ints(x);
        float[] sv = Nd.floats(scale);
        int[] zv = zp == null ? new int[sv.length] : ints(zp);
        int n = xv.length;
        float[] y = new float[n];
        if (l.scaleChannels() == 0) {
            float s = sv[0];
            int z = zv[0];
            for (int i = 0; i < n; i++) y[i] = (float) (xv[i] - z) * s;
        } else if (l.block() == 0) {
            int post = l.post(), c = l.channels();
            for (int i = 0, p = 0; p < l.pre(); p++) {
                for (int ch = 0; ch < c; ch++) {
                    float s = sv[ch];
                    int z = zv[ch];
                    for (int k = 0; k < post; k++, i++) y[i] = (float) (xv[i] - z) * s;
                }
            }
        } else {
            for (int i = 0; i < n; i++) {
                int si = l.scaleIndex(i);
                y[i] = (float) (xv[i] - zv[si]) * sv[si];
            }
        }
        INDArray r = Nd.of(y, x.shape());
        DataType st = scale.dataType();
        return OpContext.one(st == DataType.FLOAT ? r : r.castTo(st));
    }

    // ---------------------------------------------------------------- MatMulInteger / QLinearMatMul

    /**
     * DynamicQuantizeLinear: uint8 y, scalar scale = (max(0, max x) - min(0, min x)) / 255 (1 when that is 0, as ONNX
     * Runtime does) and zero point saturate(round(-min / scale)), rounding half to even.
     */
    private static INDArray[] dynamicQuantizeLinear(OpContext ctx) {
        INDArray in = ctx.in(0);
        int n = (int) in.length();
        Scratch sc = SCRATCH.get();
        float[] x = sc.floats(n);
        INDArray d = ConvOps.dense(in.dataType() == DataType.FLOAT ? in : in.castTo(DataType.FLOAT));
        java.nio.FloatBuffer fb = d.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        fb.position((int) d.offset());
        fb.get(x, 0, n);
        float lo = 0, hi = 0;
        for (int i = 0; i < n; i++) {
            float v = x[i];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        float scale = hi == lo ? 1f : (hi - lo) / 255f;
        float zf = (float) Math.rint(Math.max(0, Math.min(255, (0 - lo) / scale)));
        int z = (int) zf;
        // quantize(v, scale, z, 0, 255) in two loops that vectorize: clamp(v / scale) + ROUND_MAGIC (rounds half to
        // even; NaN stays NaN through Math.min/max as through the comparisons, and gives z), then - ROUND_MAGIC + z
        float fmin = -z, fmax = 255 - z;
        for (int i = 0; i < n; i++) x[i] = Math.min(Math.max(x[i] / scale, fmin), fmax) + ROUND_MAGIC;
        byte[] q = sc.bytes(n);
        for (int i = 0; i < n; i++) q[i] = (byte) ((int) (x[i] - ROUND_MAGIC) + z);
        INDArray y = n == 0 ? Nd4j.create(DataType.UBYTE, in.shape()) : Nd4j.createUninitialized(DataType.UBYTE, in.shape(), 'c');
        if (n > 0) y.data().asNio().put(q, 0, n);
        return new INDArray[] {y, Nd.of(new float[] {scale}, new long[0]), intsOut(new int[] {z}, new long[0], DType.UINT8)};
    }

    /** Per-thread scratch arrays of the Java loop kernels (grown, never shrunk). */
    private static final class Scratch {
        private float[] f = new float[0];
        private byte[] b = new byte[0];

        float[] floats(int n) { return f.length >= n ? f : (f = new float[n]); }

        byte[] bytes(int n) { return b.length >= n ? b : (b = new byte[n]); }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * com.microsoft MatMulNBits: Y = A x dequant(B)^T (+ bias), B uint8 [N, k_blocks, block_size * bits / 8] codes packed
     * low bits first along K, scales [N * k_blocks] (or [N, k_blocks]), zero points uint8 packed per row
     * [N * ceil(k_blocks * bits / 8)] or of A's type [N * k_blocks] (default 2^(bits-1)); bits 2, 4 or 8. The weight is
     * dequantized into a float32 [K, N] matrix on every run (a reference kernel, not a fast one).
     */
    private static INDArray[] matMulNBits(OpContext ctx) {
        int k = (int) ctx.attrLong("K", -1), n = (int) ctx.attrLong("N", -1), bits = (int) ctx.attrLong("bits", 4), bs = (int) ctx.attrLong("block_size", -1);
        if (k <= 0 || n <= 0 || bs <= 0) throw ctx.error("MatMulNBits needs positive K, N and block_size");
        if (bits != 2 && bits != 4 && bits != 8) throw ctx.error("MatMulNBits bits must be 2, 4 or 8, got " + bits);
        if (ctx.has(4) && ctx.in(4).length() > 0) throw ctx.error("MatMulNBits with g_idx is not supported");
        INDArray a = ctx.in(0);
        if (a.size(a.rank() - 1) != k) throw ctx.error("A's last dimension is " + a.size(a.rank() - 1) + ", K is " + k);
        INDArray w = dequantNBits(ctx, k, n, bits, bs);
        long[] as = a.shape();
        INDArray a2 = Nd.contiguous(a).reshape(a.length() / k, k);
        if (a2.dataType() != w.dataType()) a2 = a2.castTo(w.dataType());
        INDArray y = a2.mmul(w);
        if (ctx.has(5)) y.addiRowVector(ctx.in(5).reshape(1, n).castTo(y.dataType()));
        long[] os = as.clone();
        os[os.length - 1] = n;
        if (y.dataType() != a.dataType()) y = y.castTo(a.dataType());
        return OpContext.one(y.reshape(os));
    }

    private static INDArray dequantNBits(OpContext ctx, int k, int n, int bits, int bs) {
        int kb = (k + bs - 1) / bs, blob = bs * bits / 8, perByte = 8 / bits, mask = (1 << bits) - 1;
        INDArray bArr = ctx.in(1);
        if (bArr.length() != (long) n * kb * blob) throw ctx.error("B must have " + n + " x " + kb + " x " + blob + " bytes, has " + bArr.length());
        int[] b = ints(bArr);
        float[] sc = Nd.floats(ctx.in(2));
        if (sc.length != n * kb) throw ctx.error("scales must have " + (n * kb) + " values, have " + sc.length);
        float[] zf = new float[n * kb];
        java.util.Arrays.fill(zf, 1 << (bits - 1));
        if (ctx.has(3)) {
            INDArray z = ctx.in(3);
            if (z.dataType().isFPType()) {
                float[] v = Nd.floats(z);
                if (v.length != n * kb) throw ctx.error("float zero_points must have " + (n * kb) + " values");
                zf = v;
            } else {
                int[] zb = ints(z);
                int row = (kb * bits + 7) / 8;
                if (zb.length != n * row) throw ctx.error("packed zero_points must have " + (n * row) + " bytes, have " + zb.length);
                for (int r = 0; r < n; r++) {
                    for (int g = 0; g < kb; g++) zf[r * kb + g] = (zb[r * row + g / perByte] >> (bits * (g % perByte))) & mask;
                }
            }
        }
        float[] w = new float[k * n];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) {
                int g = c / bs, t = c % bs;
                int code = (b[(r * kb + g) * blob + t / perByte] >> (bits * (t % perByte))) & mask;
                w[c * n + r] = (code - zf[r * kb + g]) * sc[r * kb + g];
            }
        }
        DType at = Nd.fromNd(ctx.in(0).dataType());
        INDArray out = Nd.of(w, new long[] {k, n});
        return at == DType.FLOAT32 ? out : out.castTo(ctx.in(0).dataType());
    }

    private static INDArray[] matMulInteger(OpContext ctx) {
        return OpContext.one(IntMatMul.matmulArray(ctx, ctx.in(0), ctx.opt(2), ctx.in(1), ctx.opt(3)));
    }

    private static INDArray[] qlinearMatMul(OpContext ctx) {
        INDArray a = ctx.in(0), b = ctx.in(3);
        float as = scalar(ctx, ctx.in(1), "a_scale");
        float[] bs = Nd.floats(ctx.in(4));
        float ys = scalar(ctx, ctx.in(6), "y_scale");
        int yz = ints(ctx.in(7))[0];
        int[] acc = IntMatMul.matmul(ctx, a, ctx.in(2), b, ctx.in(5));
        long[] shape = IntMatMul.outShape(ctx, a.shape(), b.shape());
        int n = (int) shape[shape.length - 1];
        float[] mult = new float[bs.length];
        for (int i = 0; i < bs.length; i++) mult[i] = as * bs[i] / ys;
        if (mult.length != 1 && mult.length != n) throw ctx.error("b_scale must be a scalar or have " + n + " values");
        DType out = qtype(ctx, 7);
        long lo = out.minValue(), hi = out.maxValue();
        int[] q = new int[acc.length];
        if (mult.length == 1) requantRun(acc, 0, acc.length, 0, mult[0], yz, lo, hi, q);
        else for (int i = 0; i < acc.length; i++) q[i] = requant(acc[i], mult[i % n], yz, lo, hi);
        return OpContext.one(intsOut(q, shape, out));
    }

    /** saturate(round_half_even(float(acc) * m) + z), in float32 like MlasRequantizeOutput. */
    static int requant(int acc, float m, int z, long lo, long hi) {
        float f = (float) acc * m;
        double v = Math.rint(f) + z;
        return (int) (v < lo ? lo : v > hi ? hi : v);
    }

    /** 1.5 * 2^23: adding and subtracting it rounds a float of magnitude below 2^22 to an integer, half to even. */
    static final float ROUND_MAGIC = 12582912f;

    /**
     * {@link #requant} over a run of accumulators sharing one multiplier, writing {@code q[qOff..qOff+n)}: the
     * product is clamped to [lo - z, hi - z] first (as MLAS does; the result is the same) so that the rounding
     * trick applies.
     */
    static void requantRun(int[] acc, int off, int n, int bias, float m, int z, long lo, long hi, int[] q) {
        if (hi - lo > (1 << 21)) {
            for (int i = off; i < off + n; i++) q[i] = requant(acc[i] + bias, m, z, lo, hi);
            return;
        }
        float fmin = lo - z, fmax = hi - z;
        for (int i = off; i < off + n; i++) q[i] = sat((float) (acc[i] + bias) * m, z, fmin, fmax);
    }

    // ---------------------------------------------------------------- ConvInteger / QLinearConv

    private static INDArray[] convInteger(OpContext ctx) {
        INDArray x = ctx.in(0), w = ctx.in(1);
        IntConv.Result r = IntConv.conv(ctx, x, ctx.opt(2), w, ctx.opt(3));
        return OpContext.one(intsOut(r.acc(), r.shape(), DType.INT32));
    }

    private static INDArray[] qlinearConv(OpContext ctx) {
        INDArray x = ctx.in(0), w = ctx.in(3);
        float xs = scalar(ctx, ctx.in(1), "x_scale");
        float[] ws = Nd.floats(ctx.in(4));
        float ys = scalar(ctx, ctx.in(6), "y_scale");
        int yz = ints(ctx.in(7))[0];
        long[] ws0 = w.shape();
        int m = (int) ws0[0];
        if (ws.length != 1 && ws.length != m) throw ctx.error("w_scale must be a scalar or have " + m + " values, got " + ws.length);
        int[] bias = ctx.has(8) ? ints(ctx.in(8)) : null;
        if (bias != null && bias.length != m) throw ctx.error("bias must have " + m + " values, got " + bias.length);
        DType out = qtype(ctx, 7);
        if (out != DType.UINT8 && out != DType.INT8) throw ctx.error("y must be uint8 or int8, got " + out);
        long lo = out.minValue(), hi = out.maxValue();
        float[] mult = new float[m];
        for (int c = 0; c < m; c++) mult[c] = xs * ws[ws.length == 1 ? 0 : c] / ys;
        IntConv.Requant rq = new IntConv.Requant(mult, bias, yz, lo - yz, hi - yz);
        IntConv.Result r = IntConv.conv(ctx, x, ctx.in(2), w, ctx.in(5), rq);
        return OpContext.one(Nd.toNd(Tensor.of(out, r.shape(), r.q())));
    }

    // ---------------------------------------------------------------- com.microsoft element-wise ops

    /**
     * QLinearAdd / QLinearMul, computed as ONNX Runtime's MLAS kernels do on x86 so that results match bit for bit:
     * the broadcast decides per innermost span whether one operand is a scalar (ORT then swaps the operands so the
     * scalar comes second), and the float expression, including its fused multiply-adds, follows the kernel.
     */
    private static INDArray[] qlinearBinary(OpContext ctx, boolean mul) {
        INDArray a = ctx.in(0), b = ctx.in(3);
        float as = scalar(ctx, ctx.in(1), "A_scale");
        int az = ctx.has(2) ? ints(ctx.in(2))[0] : 0;
        float bs = scalar(ctx, ctx.in(4), "B_scale");
        int bz = ctx.has(5) ? ints(ctx.in(5))[0] : 0;
        float cs = scalar(ctx, ctx.in(6), "C_scale");
        int cz = ctx.has(7) ? ints(ctx.in(7))[0] : 0;
        DType out = Nd.fromNd(a.dataType());
        if (Nd.fromNd(b.dataType()) != out) throw ctx.error("A and B must have the same type");
        long lo = out.minValue(), hi = out.maxValue();
        long[] shape = Broadcast.shape(ctx, a.shape(), b.shape());
        int[] av = ints(a), bv = ints(b);
        int[] ai = Broadcast.index(a.shape(), shape), bi = Broadcast.index(b.shape(), shape);
        int n = ai.length;
        int[] q = new int[n];
        int scalarSide = scalarSide(a.shape(), b.shape(), shape);
        float fmin = lo, fmax = hi;
        if (mul) {
            // MlasQLinearMul (SSE2): float(int32 product) * ratio + float(zc), rounded half to even, saturated
            float ratio = as * bs / cs;
            float zc = cz;
            for (int i = 0; i < n; i++) q[i] = sat((float) ((av[ai[i]] - az) * (bv[bi[i]] - bz)) * ratio + zc, 0, fmin, fmax);
        } else if (scalarSide == 0) {
            float rac = as / cs, rbc = bs / cs;
            float fixed = addFixedPart(rac, az, rbc, bz, cz);
            for (int i = 0; i < n; i++) q[i] = sat(Math.fma((float) av[ai[i]], rac, Math.fma((float) bv[bi[i]], rbc, fixed)), 0, fmin, fmax);
        } else {
            // the span operand plays MLAS's A, the scalar one B
            boolean aScalar = scalarSide == 1;
            float sSpan = aScalar ? bs : as, sScalar = aScalar ? as : bs;
            int zSpan = aScalar ? bz : az, zScalar = aScalar ? az : bz;
            int[] vSpan = aScalar ? bv : av, iSpan = aScalar ? bi : ai, vScalar = aScalar ? av : bv, iScalar = aScalar ? ai : bi;
            float rac = sSpan / cs, rbc = sScalar / cs;
            float fixed = addFixedPart(rac, zSpan, rbc, zScalar, cz);
            for (int i = 0; i < n; i++) {
                float withScalar = fixed + (float) vScalar[iScalar[i]] * rbc;
                q[i] = sat(Math.fma((float) vSpan[iSpan[i]], rac, withScalar), 0, fmin, fmax);
            }
        }
        return OpContext.one(intsOut(q, shape, out));
    }

    /**
     * MLAS's constant term float(zc) - (rac * za + rbc * zb). (Whether the C++ compiler fuses one product into an
     * FMA does not change any result over the full uint8 x uint8 input range in our tests.)
     */
    static float addFixedPart(float rac, int za, float rbc, int zb, int zc) {
        return (float) zc - (rac * za + rbc * zb);
    }

    /**
     * Which operand ORT's broadcaster treats as a scalar over each innermost span: 1 for A, 2 for B, 0 for neither.
     * That is decided by the innermost output axis longer than 1: an operand broadcast along it is the scalar.
     */
    static int scalarSide(long[] a, long[] b, long[] out) {
        long na = 1, nb = 1;
        for (long d : a) na *= d;
        for (long d : b) nb *= d;
        if (na == 1) return 1;
        if (nb == 1) return 2;
        int r = out.length;
        for (int d = r - 1; d >= 0; d--) {
            if (out[d] == 1) continue;
            long da = d - (r - a.length) >= 0 ? a[d - (r - a.length)] : 1;
            long db = d - (r - b.length) >= 0 ? b[d - (r - b.length)] : 1;
            return da == 1 ? 1 : db == 1 ? 2 : 0;
        }
        return 0;
    }

    private static INDArray[] qlinearGlobalAveragePool(OpContext ctx) {
        INDArray x = ctx.in(0);
        float xs = scalar(ctx, ctx.in(1), "x_scale");
        int xz = ctx.has(2) ? ints(ctx.in(2))[0] : 0;
        float ys = scalar(ctx, ctx.in(3), "y_scale");
        int yz = ctx.has(4) ? ints(ctx.in(4))[0] : 0;
        boolean last = ctx.attrLong("channels_last", 0) != 0;
        long[] s = x.shape();
        if (s.length < 3) throw ctx.error("input must have rank >= 3, got " + Arrays.toString(s));
        int batch = (int) s[0];
        int ch = (int) (last ? s[s.length - 1] : s[1]);
        int image = 1;
        for (int i = last ? 1 : 2; i < (last ? s.length - 1 : s.length); i++) image *= (int) s[i];
        long[] os = new long[s.length];
        Arrays.fill(os, 1);
        os[0] = batch;
        os[last ? s.length - 1 : 1] = ch;
        DType out = Nd.fromNd(x.dataType());
        long lo = out.minValue(), hi = out.maxValue();
        float scale = xs / (ys * (float) image);
        int bias = -xz * image;
        int[] v = ints(x);
        int[] q = new int[batch * ch];
        int[] sum = new int[ch];
        for (int b = 0; b < batch; b++) {
            Arrays.fill(sum, 0);
            int base = b * ch * image;
            if (last) {
                for (int p = 0; p < image; p++) for (int c = 0; c < ch; c++) sum[c] += v[base + p * ch + c];
            } else {
                for (int c = 0; c < ch; c++) {
                    int t = 0;
                    for (int p = 0, o = base + c * image; p < image; p++) t += v[o + p];
                    sum[c] = t;
                }
            }
            for (int c = 0; c < ch; c++) q[b * ch + c] = sat((float) (sum[c] + bias) * scale, yz, lo - yz, hi - yz);
        }
        return OpContext.one(intsOut(q, os, out));
    }

    private static INDArray[] qlinearSigmoid(OpContext ctx) {
        INDArray x = ctx.in(0);
        float xs = scalar(ctx, ctx.in(1), "X_scale");
        int xz = ctx.has(2) ? ints(ctx.in(2))[0] : 0;
        float ys = scalar(ctx, ctx.in(3), "Y_scale");
        int yz = ctx.has(4) ? ints(ctx.in(4))[0] : 0;
        DType out = Nd.fromNd(x.dataType());
        long lo = out.minValue(), hi = out.maxValue();
        // ONNX Runtime builds a 256-entry table: dequantize, sigmoid in float, quantize.
        int[] table = new int[256];
        int base = out == DType.INT8 ? -128 : 0;
        for (int i = 0; i < 256; i++) {
            float f = (float) (i + base - xz) * xs;
            float sg = (float) (1.0 / (1.0 + Math.exp(-f)));
            table[i] = quantize(sg, ys, yz, lo, hi);
        }
        int[] v = ints(x);
        int[] q = new int[v.length];
        for (int i = 0; i < v.length; i++) q[i] = table[v[i] - base];
        return OpContext.one(intsOut(q, x.shape(), out));
    }

    // ---------------------------------------------------------------- helpers

    private static float scalar(OpContext ctx, INDArray a, String what) {
        if (a.length() != 1) throw ctx.error(what + " must be a scalar, got shape " + Arrays.toString(a.shape()));
        return Nd.floats(a)[0];
    }

    /** The values of an integer array (int8/uint8/int16/uint16/int32/int64 and 4-bit held in bytes) as ints. */
    static int[] ints(INDArray a) { return ints(a, 0); }

    /** {@link #ints(INDArray)} minus {@code z}, in the same pass. */
    static int[] ints(INDArray a, int z) { return ints(Nd.toTensor(a, null), z); }

    static int[] ints(Tensor t, int z) {
        int n = t.size();
        int[] r = new int[n];
        switch (t.dtype()) {
            case INT8 -> { byte[] b = (byte[]) t.data(); for (int i = 0; i < n; i++) r[i] = b[i] - z; }
            case UINT8, BOOL -> { byte[] b = (byte[]) t.data(); for (int i = 0; i < n; i++) r[i] = (b[i] & 0xFF) - z; }
            case INT16 -> { short[] b = (short[]) t.data(); for (int i = 0; i < n; i++) r[i] = b[i] - z; }
            case UINT16 -> { short[] b = (short[]) t.data(); for (int i = 0; i < n; i++) r[i] = (b[i] & 0xFFFF) - z; }
            case INT32 -> { int[] b = (int[]) t.data(); for (int i = 0; i < n; i++) r[i] = b[i] - z; }
            case INT64, UINT32, UINT64 -> { long[] b = (long[]) t.data(); for (int i = 0; i < n; i++) r[i] = (int) b[i] - z; }
            default -> throw new io.condense.ir.ModelException("expected an integer tensor, got " + t.dtype());
        }
        return r;
    }

    /** A new array of type {@code t} (4-bit types held one value per byte) with the given (already saturated) values. */
    static INDArray intsOut(int[] v, long[] shape, DType t) {
        int n = v.length;
        Object d;
        DType st = t == DType.INT4 ? DType.INT8 : t == DType.UINT4 ? DType.UINT8 : t;
        switch (st) {
            case INT8, UINT8 -> { byte[] b = new byte[n]; for (int i = 0; i < n; i++) b[i] = (byte) v[i]; d = b; }
            case INT16, UINT16 -> { short[] b = new short[n]; for (int i = 0; i < n; i++) b[i] = (short) v[i]; d = b; }
            case INT32 -> d = v;
            default -> throw new IllegalArgumentException("not a quantized type: " + t);
        }
        return Nd.toNd(Tensor.of(st, shape, d));
    }
}
