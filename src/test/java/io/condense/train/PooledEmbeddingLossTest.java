package io.condense.train;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Losses#pooledEmbedding}: values from first principles, gradients by central differences (float64). */
class PooledEmbeddingLossTest {
    private static INDArray random(Random r, long... shape) {
        double[] d = new double[(int) (shape[0] * shape[1] * (shape.length > 2 ? shape[2] : 1))];
        for (int i = 0; i < d.length; i++) d[i] = r.nextDouble() * 2 - 1;
        return Nd4j.create(d, shape, 'c');
    }

    private static final INDArray MASK = Nd4j.create(new double[] {1, 1, 1, 0, 1, 1, 0, 0}, new long[] {2, 4}, 'c');

    @Test void meanPoolIgnoresPaddedTokens() {
        INDArray h = random(new Random(1), 2, 4, 3);
        INDArray p = Losses.meanPool(h, MASK);
        for (int j = 0; j < 3; j++) {
            double want0 = (h.getDouble(0, 0, j) + h.getDouble(0, 1, j) + h.getDouble(0, 2, j)) / 3;
            double want1 = (h.getDouble(1, 0, j) + h.getDouble(1, 1, j)) / 2;
            assertEquals(want0, p.getDouble(0, j), 1e-12);
            assertEquals(want1, p.getDouble(1, j), 1e-12);
        }
    }

    @Test void cosineLossOfTheTargetItselfIsZero() {
        INDArray h = random(new Random(2), 2, 4, 3);
        assertEquals(0, Losses.pooledEmbedding(h, MASK, Losses.meanPool(h, MASK).mul(3), true).value(), 1e-12);
    }

    @Test void gradientsMatchFiniteDifferences() {
        for (boolean cosine : new boolean[] {false, true}) {
            Random r = new Random(cosine ? 3 : 4);
            INDArray h = random(r, 2, 4, 3), t = random(r, 2, 3);
            INDArray g = Losses.pooledEmbedding(h, MASK, t, cosine).grad();
            INDArray flat = h.reshape(h.length());
            double eps = 1e-6, worst = 0;
            for (int i = 0; i < flat.length(); i++) {
                double o = flat.getDouble(i);
                flat.putScalar(i, o + eps);
                double lp = Losses.pooledEmbedding(h, MASK, t, cosine).value();
                flat.putScalar(i, o - eps);
                double lm = Losses.pooledEmbedding(h, MASK, t, cosine).value();
                flat.putScalar(i, o);
                worst = Math.max(worst, Math.abs((lp - lm) / (2 * eps) - g.reshape(g.length()).getDouble(i)));
            }
            assertTrue(worst < 1e-8, (cosine ? "cosine" : "mse") + ": worst gradient error " + worst);
            // padded tokens get no gradient
            assertEquals(0, g.getDouble(0, 3, 1), 0);
            assertEquals(DataType.DOUBLE, g.dataType());
        }
    }
}
