package io.condense.backend.cuda.ref;

/**
 * Reference semantics of cuda-kernels/quant.cu.
 * <pre>
 *   quantize:   q = clamp(rint(x / s) + z, qmin, qmax)      (float32 ops, rint = half to even; NaN -&gt; z)
 *   dequantize: y = (float) (q - z) * s
 * </pre>
 * Scales come per channel ({@link ChannelLayout}) or per block: a {@code rows x cols} matrix (row-major) with
 * {@code blocks = ceil(cols / block)} scales per row, element (r, k) using scale {@code [r * blocks + k / block]}.
 * INT4 packing: two values per byte, element {@code 2i} in the low nibble and {@code 2i+1} in the high nibble
 * (ONNX order), two's complement for signed; an odd count leaves the last high nibble 0.
 */
public final class QuantRef {
    private QuantRef() {}

    public static int quantize(float x, float s, int z, QRange r) {
        float v = FakeQuantRef.grid(x, s, z);
        if (Float.isNaN(v)) return z; // the kernels map NaN to the zero point (a quantized tensor cannot hold NaN)
        return (int) FakeQuantRef.clamp(v, r);
    }

    public static float dequantize(int q, float s, int z) { return (float) (q - z) * s; }

    public static byte[] quantizePerChannel(float[] x, ChannelLayout layout, float[] scale, int[] zeroPoint, QRange r) {
        byte[] q = new byte[x.length];
        for (int i = 0; i < x.length; i++) {
            int c = layout.channelOf(i);
            q[i] = (byte) quantize(x[i], scale[c], zeroPoint == null ? 0 : zeroPoint[c], r);
        }
        return q;
    }

    public static float[] dequantizePerChannel(byte[] q, ChannelLayout layout, float[] scale, int[] zeroPoint, boolean unsigned) {
        float[] y = new float[q.length];
        for (int i = 0; i < q.length; i++) {
            int c = layout.channelOf(i);
            int v = unsigned ? q[i] & 0xFF : q[i];
            y[i] = dequantize(v, scale[c], zeroPoint == null ? 0 : zeroPoint[c]);
        }
        return y;
    }

    public static int blocksPerRow(int cols, int block) { return (cols + block - 1) / block; }

    /** Blocked symmetric quantization (zero point 0) of a rows x cols matrix. */
    public static byte[] quantizeBlocked(float[] x, int rows, int cols, int block, float[] scale, QRange r) {
        int nb = blocksPerRow(cols, block);
        if (scale.length != rows * nb) throw new IllegalArgumentException("need " + rows * nb + " scales, got " + scale.length);
        byte[] q = new byte[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < cols; k++) q[i * cols + k] = (byte) quantize(x[i * cols + k], scale[i * nb + k / block], 0, r);
        }
        return q;
    }

    public static float[] dequantizeBlocked(byte[] q, int rows, int cols, int block, float[] scale) {
        int nb = blocksPerRow(cols, block);
        float[] y = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < cols; k++) y[i * cols + k] = dequantize(q[i * cols + k], scale[i * nb + k / block], 0);
        }
        return y;
    }

    /** Symmetric scale for a block/channel: absMax / qmax (1 when absMax is 0, so zeros stay zeros). */
    public static float symmetricScale(float absMax, QRange r) {
        return absMax > 0f ? absMax / (float) r.qmax() : 1f;
    }

    /** Packs 4-bit values (one per byte, signed or unsigned) two per byte, low nibble first. */
    public static byte[] packInt4(byte[] values) {
        byte[] p = new byte[(values.length + 1) / 2];
        for (int i = 0; i < values.length; i++) {
            int nib = values[i] & 0x0F;
            p[i >> 1] |= (byte) ((i & 1) == 0 ? nib : nib << 4);
        }
        return p;
    }

    /** Inverse of {@link #packInt4}; {@code signed} sign-extends each nibble. */
    public static byte[] unpackInt4(byte[] packed, int count, boolean signed) {
        if (packed.length < (count + 1) / 2) throw new IllegalArgumentException(count + " values need " + (count + 1) / 2 + " bytes");
        byte[] v = new byte[count];
        for (int i = 0; i < count; i++) {
            int nib = (packed[i >> 1] >> ((i & 1) * 4)) & 0x0F;
            v[i] = (byte) (signed && nib >= 8 ? nib - 16 : nib);
        }
        return v;
    }
}
