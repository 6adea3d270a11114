package io.condense.export.trt;

import io.condense.ir.Tensor;

/**
 * Whether a weight satisfies NVIDIA's 2:4 structured sparsity (at least two zeros in every group of four consecutive
 * elements along the reduction axis), the pattern TensorRT's sparse tactics need. A reduction length that is not a
 * multiple of four fails (TensorRT would pad; the tail group is not checked by it either, so we stay strict).
 */
public final class Sparsity24 {
    private Sparsity24() {}

    /** True when every group of 4 along {@code axis} of {@code w} has at least 2 zeros. */
    public static boolean is24(Tensor w, int axis) {
        long[] s = w.shape();
        if (axis < 0 || axis >= s.length) return false;
        long k = s[axis];
        if (k < 4 || k % 4 != 0) return false;
        long inner = 1;
        for (int i = axis + 1; i < s.length; i++) inner *= s[i];
        long outer = w.size() / (k * inner);
        for (long o = 0; o < outer; o++) {
            for (long in = 0; in < inner; in++) {
                for (long g = 0; g < k; g += 4) {
                    int zeros = 0;
                    for (int j = 0; j < 4; j++) {
                        long idx = (o * k + g + j) * inner + in;
                        if (w.getDouble((int) idx) == 0) zeros++;
                    }
                    if (zeros < 2) return false;
                }
            }
        }
        return true;
    }
}
