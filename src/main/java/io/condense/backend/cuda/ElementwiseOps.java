package io.condense.backend.cuda;

import java.util.Map;

/** Op codes of cuda-kernels/elementwise.cu (keep the two in sync). */
public final class ElementwiseOps {
    private ElementwiseOps() {}

    public static final Map<String, Integer> UNARY = Map.ofEntries(
            Map.entry("Relu", 0), Map.entry("Sigmoid", 1), Map.entry("Tanh", 2), Map.entry("Exp", 3), Map.entry("Log", 4),
            Map.entry("Sqrt", 5), Map.entry("Neg", 6), Map.entry("Abs", 7), Map.entry("LeakyRelu", 8), Map.entry("Clip", 9),
            Map.entry("Identity", 10), Map.entry("Erf", 11), Map.entry("Gelu", 12), Map.entry("Reciprocal", 13));

    public static final Map<String, Integer> BINARY = Map.of(
            "Add", 0, "Sub", 1, "Mul", 2, "Div", 3, "Max", 4, "Min", 5, "Pow", 6);

    /**
     * NumPy broadcasting of two shapes: returns {outShape, aStrides, bStrides} (element strides of the row-major
     * operands, 0 along broadcast dimensions), all of the output's rank. Plain Java so it is tested without a GPU.
     */
    public static long[][] broadcast(long[] a, long[] b) {
        int r = Math.max(a.length, b.length);
        long[] out = new long[r], sa = new long[r], sb = new long[r];
        for (int i = 0; i < r; i++) {
            long da = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
            long db = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException("shapes " + java.util.Arrays.toString(a) + " and "
                        + java.util.Arrays.toString(b) + " do not broadcast");
            }
            out[i] = da == 1 ? db : da;
        }
        long ka = 1, kb = 1;
        for (int i = r - 1; i >= 0; i--) {
            long da = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
            long db = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            sa[i] = da == 1 ? 0 : ka;
            sb[i] = db == 1 ? 0 : kb;
            ka *= da;
            kb *= db;
        }
        return new long[][] {out, sa, sb};
    }
}
