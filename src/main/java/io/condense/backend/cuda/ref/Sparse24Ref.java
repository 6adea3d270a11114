package io.condense.backend.cuda.ref;

/**
 * Reference semantics of cuda-kernels/sparse24.cu: 2:4 structured sparsity along the last axis of a
 * {@code rows x cols} row-major matrix ({@code cols % 4 == 0}).
 * <p>Selection: in each group of 4 consecutive elements keep the 2 with the largest key, key = |x| (NaN counts
 * as +Inf), ties going to the lower index; i.e. element i is kept when fewer than 2 elements j of its group have
 * {@code key[j] > key[i]} or {@code key[j] == key[i] && j < i}. Exactly 2 elements are kept per group.
 * <p>Compressed form: {@code values[rows][cols/2]} (kept elements in index order) and metadata
 * {@code meta[rows][ceil(cols/16)]} of 16-bit words: group g of a row has the nibble {@code i0 | i1 << 2}
 * (i0 &lt; i1, the kept positions 0..3) at bits {@code 4 * (g % 4)} of word {@code g / 4}. This is the logical
 * layout of the 2-bit indices; the tensor-core mma.sp fragment order is a permutation of it done at load time.
 */
public final class Sparse24Ref {
    private Sparse24Ref() {}

    static float key(float v) { return Float.isNaN(v) ? Float.POSITIVE_INFINITY : Math.abs(v); }

    /** The 4-bit keep mask of one group (bit p set = element p kept). */
    public static int groupMask(float a, float b, float c, float d) {
        float[] k = {key(a), key(b), key(c), key(d)};
        int mask = 0;
        for (int i = 0; i < 4; i++) {
            int beaten = 0;
            for (int j = 0; j < 4; j++) {
                if (j != i && (k[j] > k[i] || (k[j] == k[i] && j < i))) beaten++;
            }
            if (beaten < 2) mask |= 1 << i;
        }
        return mask;
    }

    private static void checkCols(int cols) {
        if (cols % 4 != 0) throw new IllegalArgumentException("2:4 sparsity needs the last dimension divisible by 4, got " + cols);
    }

    /** 1 for kept, 0 for pruned, same layout as x. */
    public static byte[] mask(float[] x, int rows, int cols) {
        checkCols(cols);
        byte[] m = new byte[rows * cols];
        for (int i = 0; i < rows * cols; i += 4) {
            int g = groupMask(x[i], x[i + 1], x[i + 2], x[i + 3]);
            for (int p = 0; p < 4; p++) m[i + p] = (byte) ((g >> p) & 1);
        }
        return m;
    }

    /** x with the pruned elements set to 0. */
    public static float[] prune(float[] x, int rows, int cols) {
        byte[] m = mask(x, rows, cols);
        float[] y = new float[x.length];
        for (int i = 0; i < y.length; i++) y[i] = m[i] != 0 ? x[i] : 0f;
        return y;
    }

    public static int metaWordsPerRow(int cols) { return (cols / 4 + 3) / 4; }

    /** Compressed pair: values (float) and metadata (16-bit words in a short[]). */
    public record Compressed(float[] values, short[] meta, int rows, int cols) {}

    public static Compressed compress(float[] x, int rows, int cols) {
        checkCols(cols);
        int half = cols / 2, mw = metaWordsPerRow(cols);
        float[] vals = new float[rows * half];
        short[] meta = new short[rows * mw];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < cols / 4; g++) {
                int base = r * cols + 4 * g;
                int m = groupMask(x[base], x[base + 1], x[base + 2], x[base + 3]);
                int i0 = Integer.numberOfTrailingZeros(m);
                int i1 = 31 - Integer.numberOfLeadingZeros(m);
                vals[r * half + 2 * g] = x[base + i0];
                vals[r * half + 2 * g + 1] = x[base + i1];
                int nib = i0 | (i1 << 2);
                meta[r * mw + g / 4] |= (short) (nib << (4 * (g % 4)));
            }
        }
        return new Compressed(vals, meta, rows, cols);
    }

    public static float[] decompress(Compressed c) {
        int half = c.cols() / 2, mw = metaWordsPerRow(c.cols());
        float[] y = new float[c.rows() * c.cols()];
        for (int r = 0; r < c.rows(); r++) {
            for (int g = 0; g < c.cols() / 4; g++) {
                int nib = (c.meta()[r * mw + g / 4] >> (4 * (g % 4))) & 0xF;
                y[r * c.cols() + 4 * g + (nib & 3)] = c.values()[r * half + 2 * g];
                y[r * c.cols() + 4 * g + (nib >> 2)] = c.values()[r * half + 2 * g + 1];
            }
        }
        return y;
    }

    /** The same compression for int8 data (the weights of the sparse INT8 GEMM): values byte[rows][cols/2]. */
    public static byte[] compressValues(byte[] q, short[] meta, int rows, int cols) {
        int half = cols / 2, mw = metaWordsPerRow(cols);
        byte[] v = new byte[rows * half];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < cols / 4; g++) {
                int nib = (meta[r * mw + g / 4] >> (4 * (g % 4))) & 0xF;
                v[r * half + 2 * g] = q[r * cols + 4 * g + (nib & 3)];
                v[r * half + 2 * g + 1] = q[r * cols + 4 * g + (nib >> 2)];
            }
        }
        return v;
    }
}
