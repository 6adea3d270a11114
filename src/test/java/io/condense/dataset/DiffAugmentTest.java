package io.condense.dataset;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** Every DSA transform is linear (affine for brightness): its backward must be the exact transpose, <Ax, y> = <x, A^T y>. */
class DiffAugmentTest {
    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    private static float[] rand(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextDouble() * 2 - 1);
        return x;
    }

    @Test void backwardIsTheTransposeOfForward() {
        SplittableRandom r = new SplittableRandom(3);
        for (long[] shape : new long[][] {{1, 9, 11}, {3, 8, 8}}) {
            int ss = (int) (shape[0] * shape[1] * shape[2]), n = 2;
            for (String op : new String[] {"color", "crop", "cutout", "flip", "scale", "rotate"}) {
                DiffAugment a = new DiffAugment(op);
                for (int trial = 0; trial < 5; trial++) {
                    DiffAugment.Applied t = a.draw(r);
                    float[] x = rand(r, n * ss), y = rand(r, n * ss);
                    float[] ax = t.forward(x, shape);
                    // brightness adds a constant: compare the linear part A x = f(x) - f(0)
                    float[] f0 = t.forward(new float[n * ss], shape);
                    for (int i = 0; i < ax.length; i++) ax[i] -= f0[i];
                    double lhs = dot(ax, y), rhs = dot(x, t.backward(y, shape));
                    assertEquals(lhs, rhs, 1e-4 * (1 + Math.abs(lhs)), op + " " + java.util.Arrays.toString(shape));
                }
            }
        }
    }

    @Test void transformsChangeTheImageAndShareParameters() {
        SplittableRandom r = new SplittableRandom(5);
        long[] shape = {1, 10, 10};
        float[] x = rand(r, 100);
        DiffAugment a = new DiffAugment("rotate");
        DiffAugment.Applied t = a.draw(r);
        float[] y1 = t.forward(x, shape), y2 = t.forward(x, shape);
        assertEquals(dot(y1, y1), dot(y2, y2), 0); // siamese: one draw, same result on every batch
        assertNotEquals(dot(x, x), dot(y1, y1));
    }

    @Test void unknownAugmentationIsOneLine() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(io.condense.ir.ModelException.class, () -> new DiffAugment("color_zoom"));
        assertEquals("unknown augmentation 'zoom' (color, crop, cutout, flip, scale, rotate)", e.getMessage());
    }
}
