package io.condense;

import io.condense.ir.Tensor;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Comparisons of tensors for tests: exact for integers, |a-b| <= atol + rtol*|b| for floats. */
public final class TensorAssert {
    private TensorAssert() {}

    public static void assertClose(Tensor expected, Tensor actual, double rtol, double atol, String what) {
        assertEquals(expected.dtype(), actual.dtype(), what + ": dtype");
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape " + Arrays.toString(actual.shape())
                + " vs expected " + Arrays.toString(expected.shape()));
        boolean exact = !expected.dtype().isFloating();
        for (int i = 0; i < expected.size(); i++) {
            double e = expected.getDouble(i);
            double a = actual.getDouble(i);
            if (Double.isNaN(e) && Double.isNaN(a)) continue;
            boolean ok = exact ? e == a : Math.abs(a - e) <= atol + rtol * Math.abs(e);
            if (!ok) fail(what + ": element " + i + " is " + a + ", expected " + e + " (max abs diff " + maxAbsDiff(expected, actual) + ")");
        }
    }

    public static double maxAbsDiff(Tensor a, Tensor b) {
        double m = 0;
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) m = Math.max(m, Math.abs(a.getDouble(i) - b.getDouble(i)));
        return m;
    }
}
