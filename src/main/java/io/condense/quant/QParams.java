package io.condense.quant;

import io.condense.ir.DType;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;

import java.util.Arrays;

/**
 * Quantization parameters in ONNX QuantizeLinear/DequantizeLinear form: {@code q = saturate(rint(x / scale) + zp)},
 * {@code x' = (q - zp) * scale}.
 *
 * <ul>
 *   <li>per tensor: {@code scale} and {@code zeroPoint} are scalars, {@code axis} is ignored ({@link #PER_TENSOR});</li>
 *   <li>per axis (opset 13): 1-D of the size of {@code axis};</li>
 *   <li>blocked (opset 21): the shape of x with {@code axis} divided (rounded up) by {@code blockSize}.</li>
 * </ul>
 *
 * @param type      the integer type: INT8, UINT8, INT16, UINT16, INT4, UINT4
 * @param scale     FLOAT32 scales (all > 0)
 * @param zeroPoint zero points of {@code type}, same shape as {@code scale}
 * @param axis      quantization axis (>= 0) or {@link #PER_TENSOR}
 * @param blockSize 0 unless blocked
 */
public record QParams(DType type, Tensor scale, Tensor zeroPoint, int axis, int blockSize) {
    public static final int PER_TENSOR = -1;

    public QParams {
        if (!type.isInteger() || type.bits() > 16) throw new IllegalArgumentException("quantized type must be an integer of <= 16 bits, got " + type);
        if (scale.dtype() != DType.FLOAT32) throw new IllegalArgumentException("scale must be FLOAT32");
        if (zeroPoint.dtype() != type || !Arrays.equals(zeroPoint.shape(), scale.shape())) {
            throw new IllegalArgumentException("zero point must be " + type + " of the scale's shape");
        }
        for (int i = 0; i < scale.size(); i++) {
            double s = scale.getDouble(i);
            if (!(s > 0) || !Double.isFinite(s)) throw new IllegalArgumentException("scale " + s + " must be positive and finite");
        }
    }

    public boolean perTensor() { return axis == PER_TENSOR; }

    /** Largest positive level used by symmetric quantization: 127 for INT8 (narrow range: -127..127), 7 for INT4. */
    public static long symmetricMax(DType t) {
        return t.isSigned() ? t.maxValue() : t.maxValue() / 2;
    }

    private static float scaleOf(double v) {
        float s = (float) v;
        return s > 0 && Float.isFinite(s) ? s : 1f;
    }

    /** Per-tensor symmetric: scale amax / qmax (1 when amax is 0), zero point 0 (mid-range for unsigned types). */
    public static QParams symmetric(double amax, DType t) {
        long zp = t.isSigned() ? 0 : (t.maxValue() + 1) / 2;
        Tensor z = Tensor.zeros(t);
        z.setDouble(0, zp);
        return new QParams(t, Tensor.of(new float[] {scaleOf(amax / symmetricMax(t))}), z, PER_TENSOR, 0);
    }

    /** Per-tensor asymmetric over [lo, hi] widened to include 0: scale (hi - lo) / (qmax - qmin), zp = qmin - rint(lo / scale). */
    public static QParams asymmetric(double lo, double hi, DType t) {
        lo = Math.min(lo, 0);
        hi = Math.max(hi, 0);
        long qmin = t.minValue(), qmax = t.maxValue();
        float s = scaleOf((hi - lo) / (qmax - qmin));
        long zp = Math.max(qmin, Math.min(qmax, qmin - Math.round(Math.rint(lo / s))));
        Tensor z = Tensor.zeros(t);
        z.setDouble(0, zp);
        return new QParams(t, Tensor.of(new float[] {s}), z, PER_TENSOR, 0);
    }

    /** Per-axis symmetric: scale[c] = amax[c] / qmax, zero points 0. */
    public static QParams perChannelSymmetric(double[] amax, int axis, DType t) {
        float[] s = new float[amax.length];
        for (int i = 0; i < s.length; i++) s[i] = scaleOf(amax[i] / symmetricMax(t));
        Tensor z = Tensor.zeros(t, s.length);
        if (!t.isSigned()) for (int i = 0; i < s.length; i++) z.setDouble(i, (t.maxValue() + 1) / 2);
        return new QParams(t, Tensor.of(s, s.length), z, axis, 0);
    }

    /** max |w| per index of {@code axis} (per-channel weight statistics). */
    public static double[] channelAbsMax(Tensor w, int axis) {
        long[] sh = w.shape();
        if (axis < 0 || axis >= sh.length) throw new ModelException("axis " + axis + " out of range for weight of shape " + Arrays.toString(sh));
        return io.condense.stats.ChannelStats.of(w, axis).absMax();
    }

    /** max |w| over the whole tensor. */
    public static double absMax(Tensor w) {
        double m = 0;
        for (int i = 0; i < w.size(); i++) m = Math.max(m, Math.abs(w.getDouble(i)));
        return m;
    }

    /** Index into scale/zeroPoint of element {@code i} of a tensor of shape {@code xs}. */
    private int paramIndex(long[] xs, int i) {
        if (perTensor()) return 0;
        int post = 1;
        for (int k = axis + 1; k < xs.length; k++) post *= (int) xs[k];
        int c = (int) xs[axis];
        int q = i % post, rest = i / post, ch = rest % c, p = rest / c;
        if (blockSize == 0) return ch;
        int cb = (c + blockSize - 1) / blockSize;
        return (p * cb + ch / blockSize) * post + q;
    }

    private void checkShape(long[] xs) {
        if (perTensor()) {
            if (scale.size() != 1) throw new ModelException("per-tensor scale must have one value");
            return;
        }
        if (axis >= xs.length) throw new ModelException("axis " + axis + " out of range for shape " + Arrays.toString(xs));
        if (blockSize == 0 && scale.size() != xs[axis]) {
            throw new ModelException("per-axis scale has " + scale.size() + " values for axis " + axis + " of " + Arrays.toString(xs));
        }
    }

    /** QuantizeLinear: {@code saturate(rint(x / scale) + zp)} with the division in float32, as ONNX Runtime does. */
    public Tensor quantize(Tensor x) {
        long[] xs = x.shape();
        checkShape(xs);
        Tensor q = Tensor.zeros(type, xs);
        long lo = type.minValue(), hi = type.maxValue();
        float[] s = (float[]) scale.data();
        int n = x.size();
        for (int i = 0; i < n; i++) {
            int k = paramIndex(xs, i);
            float v = (float) x.getDouble(i) / s[k];
            long r = (long) Math.rint(v) + zeroPoint.getLong(k);
            q.setDouble(i, Math.max(lo, Math.min(hi, r)));
        }
        return q;
    }

    /** DequantizeLinear to FLOAT32: {@code (q - zp) * scale}. */
    public Tensor dequantize(Tensor q) {
        long[] xs = q.shape();
        checkShape(xs);
        float[] out = new float[q.size()];
        float[] s = (float[]) scale.data();
        for (int i = 0; i < out.length; i++) {
            int k = paramIndex(xs, i);
            out[i] = (float) (q.getLong(i) - zeroPoint.getLong(k)) * s[k];
        }
        return Tensor.of(out, xs);
    }

    /** Quantize then dequantize (fake quantization). */
    public Tensor fakeQuantize(Tensor x) { return dequantize(quantize(x)); }

    /** Scale of element 0 (per-tensor). */
    public float scalarScale() { return ((float[]) scale.data())[0]; }

    @Override
    public String toString() {
        return "QParams(" + type + (perTensor() ? ", per-tensor" : ", axis " + axis) + (blockSize > 0 ? ", block " + blockSize : "")
                + ", scale[" + scale.size() + "]" + (scale.size() == 1 ? "=" + scalarScale() : "") + ")";
    }
}
