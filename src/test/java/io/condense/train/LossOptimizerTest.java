package io.condense.train;

import io.condense.ir.ModelException;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LossOptimizerTest {
    @org.junit.jupiter.api.BeforeAll
    static void threads() { Threads.auto(); }

    private static INDArray rand(long seed, long... shape) {
        Random r = new Random(seed);
        INDArray a = Nd4j.create(DataType.DOUBLE, shape);
        for (long i = 0; i < a.length(); i++) a.putScalar(i, r.nextGaussian());
        return a;
    }

    /** Central differences of a scalar loss against the analytic gradient. */
    private static void checkGrad(INDArray x, Function<INDArray, Losses.Loss> f) {
        INDArray g = f.apply(x).grad();
        double eps = 1e-6;
        for (long i = 0; i < x.length(); i++) {
            double o = x.getDouble(i);
            x.putScalar(i, o + eps);
            double lp = f.apply(x).value();
            x.putScalar(i, o - eps);
            double lm = f.apply(x).value();
            x.putScalar(i, o);
            double num = (lp - lm) / (2 * eps);
            assertEquals(num, g.getDouble(i), 1e-6 + 1e-4 * Math.abs(num), "element " + i);
        }
    }

    @Test void crossEntropyValueAndGradient() {
        INDArray z = Nd4j.create(new double[][] {{1, 2, 3}, {0, 0, 0}});
        Losses.Loss l = Losses.softmaxCrossEntropy(z, new int[] {2, 1}, 0);
        double ref = (-(3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3))) + Math.log(3)) / 2;
        assertEquals(ref, l.value(), 1e-12);
        checkGrad(rand(1, 4, 5), x -> Losses.softmaxCrossEntropy(x, new int[] {0, 4, 2, 2}, 0.1));
    }

    @Test void labelSmoothingValue() {
        INDArray z = Nd4j.create(new double[][] {{0.5, -1, 2}});
        double eps = 0.3;
        double[] ls = new double[3];
        double lse = Math.log(Math.exp(0.5) + Math.exp(-1) + Math.exp(2));
        ls[0] = 0.5 - lse; ls[1] = -1 - lse; ls[2] = 2 - lse;
        double ref = -((1 - eps + eps / 3) * ls[1] + eps / 3 * (ls[0] + ls[2]));
        assertEquals(ref, Losses.softmaxCrossEntropy(z, new int[] {1}, eps).value(), 1e-12);
    }

    @Test void klDivergenceWithTemperature() {
        INDArray t = rand(2, 3, 4);
        assertEquals(0, Losses.klDivergence(t.dup(), t, 4).value(), 1e-12);
        checkGrad(rand(3, 3, 4), x -> Losses.klDivergence(x, t, 3.0));
        // value against the definition
        INDArray s = rand(4, 1, 2);
        double T = 2;
        double[] ps = softmax(s.getDouble(0) / T, s.getDouble(1) / T), pt = softmax(t.getDouble(0, 0) / T, t.getDouble(0, 1) / T);
        double kl = pt[0] * Math.log(pt[0] / ps[0]) + pt[1] * Math.log(pt[1] / ps[1]);
        assertEquals(T * T * kl, Losses.klDivergence(s, t.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 1), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 2)), T).value(), 1e-12);
    }

    private static double[] softmax(double a, double b) {
        double m = Math.max(a, b), ea = Math.exp(a - m), eb = Math.exp(b - m);
        return new double[] {ea / (ea + eb), eb / (ea + eb)};
    }

    @Test void mse() {
        INDArray y = rand(5, 2, 3);
        assertEquals(y.mul(y).sumNumber().doubleValue() / 6, Losses.mse(y, Nd4j.zeros(DataType.DOUBLE, 2, 3)).value(), 1e-12);
        checkGrad(rand(6, 2, 3), x -> Losses.mse(x, y));
        assertThrows(ModelException.class, () -> Losses.mse(y, Nd4j.zeros(DataType.DOUBLE, 3, 2)));
    }

    private static Map<String, INDArray> one(String n, double... v) {
        Map<String, INDArray> m = new LinkedHashMap<>();
        m.put(n, Nd4j.createFromArray(v));
        return m;
    }

    @Test void sgdMomentumNesterovAndDecay() {
        double lr = 0.1, mu = 0.9, wd = 0.01;
        for (boolean nesterov : new boolean[] {false, true}) {
            Map<String, INDArray> p = one("w", 1.0, -2.0);
            Optimizer o = Optimizer.sgd(lr).momentum(mu).nesterov(nesterov).weightDecay(wd);
            double[] w = {1.0, -2.0}, v = new double[2];
            double[][] gs = {{0.5, -0.25}, {0.1, 0.3}, {-0.2, 0.05}};
            for (int s = 0; s < gs.length; s++) {
                o.step(p, one("w", gs[s]));
                for (int i = 0; i < 2; i++) {
                    double g = gs[s][i] + wd * w[i];
                    v[i] = s == 0 ? g : mu * v[i] + g;
                    w[i] -= lr * (nesterov ? g + mu * v[i] : v[i]);
                }
            }
            assertEquals(w[0], p.get("w").getDouble(0), 1e-12);
            assertEquals(w[1], p.get("w").getDouble(1), 1e-12);
        }
    }

    @Test void adamAndAdamW() {
        double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
        for (Optimizer.Kind k : new Optimizer.Kind[] {Optimizer.Kind.ADAM, Optimizer.Kind.ADAMW}) {
            Map<String, INDArray> p = one("w", 0.5);
            Optimizer o = (k == Optimizer.Kind.ADAM ? Optimizer.adam(lr) : Optimizer.adamW(lr)).weightDecay(wd);
            double w = 0.5, m = 0, v = 0;
            double[] gs = {0.3, -0.1, 0.7, 0.2};
            for (int s = 1; s <= gs.length; s++) {
                o.step(p, one("w", gs[s - 1]));
                double g = gs[s - 1];
                if (k == Optimizer.Kind.ADAM) g += wd * w;
                else w *= 1 - lr * wd;
                m = b1 * m + (1 - b1) * g;
                v = b2 * v + (1 - b2) * g * g;
                w -= lr * (m / (1 - Math.pow(b1, s))) / (Math.sqrt(v / (1 - Math.pow(b2, s))) + eps);
            }
            assertEquals(w, p.get("w").getDouble(0), 1e-12, k.name());
        }
    }

    @Test void schedules() {
        LrSchedule st = LrSchedule.step(10, 0.5);
        assertEquals(1, st.factor(9));
        assertEquals(0.25, st.factor(20));
        LrSchedule cos = LrSchedule.cosine(100, 0.0);
        assertEquals(1, cos.factor(0), 1e-12);
        assertEquals(0.5, cos.factor(50), 1e-12);
        assertEquals(0, cos.factor(100), 1e-12);
        LrSchedule wu = LrSchedule.warmup(4, LrSchedule.constant());
        assertEquals(0.25, wu.factor(0));
        assertEquals(1, wu.factor(3));
        assertEquals(1, wu.factor(50));
        Map<String, INDArray> p = one("w", 1.0);
        Optimizer o = Optimizer.sgd(1).schedule(LrSchedule.step(1, 0.5));
        o.step(p, one("w", 1.0)); // lr 1
        o.step(p, one("w", 1.0)); // lr 0.5
        assertEquals(-0.5, p.get("w").getDouble(0), 1e-12);
    }

    @Test void groupsFreezeAndPerGroupLr() {
        Map<String, INDArray> p = new LinkedHashMap<>();
        p.put("conv.w", Nd4j.createFromArray(1.0));
        p.put("fc.w", Nd4j.createFromArray(1.0));
        p.put("fc.b", Nd4j.createFromArray(1.0));
        Map<String, INDArray> g = new LinkedHashMap<>();
        for (String k : p.keySet()) g.put(k, Nd4j.createFromArray(1.0));
        Optimizer o = Optimizer.sgd(0.1).weightDecay(0.5)
                .group(ParamGroup.named("conv\\..*").freeze())
                .group(ParamGroup.named(".*\\.b").lr(0.01).weightDecay(0));
        o.step(p, g);
        assertEquals(1.0, p.get("conv.w").getDouble(0), 0);
        assertEquals(1 - 0.1 * (1 + 0.5), p.get("fc.w").getDouble(0), 1e-12);
        assertEquals(1 - 0.01, p.get("fc.b").getDouble(0), 1e-12);
    }

    @Test void pruningMaskKeepsZerosExactlyZero() {
        Random r = new Random(3);
        for (String kind : new String[] {"sgd", "nesterov", "adam", "adamw"}) {
            INDArray w = rand(7, 6, 5).castTo(DataType.FLOAT);
            INDArray mask = Nd4j.create(DataType.FLOAT, 6, 5);
            for (long i = 0; i < mask.length(); i++) mask.putScalar(i, r.nextBoolean() ? 1 : 0);
            Map<String, INDArray> p = new LinkedHashMap<>();
            p.put("w", w);
            Optimizer o = Optimizer.of(kind, 0.05).weightDecay(0.1).mask("w", mask);
            o.applyMasks(p);
            for (int s = 0; s < 20; s++) {
                Map<String, INDArray> g = new LinkedHashMap<>();
                g.put("w", rand(100 + s, 6, 5).castTo(DataType.FLOAT));
                o.step(p, g);
            }
            float[] wv = w.dup().data().asFloat(), mv = mask.data().asFloat();
            int kept = 0;
            for (int i = 0; i < wv.length; i++) {
                if (mv[i] == 0) assertEquals(0f, wv[i], 0f, kind + ": masked weight " + i + " moved");
                else if (wv[i] != 0) kept++;
            }
            assertTrue(kept > 0, kind + ": unmasked weights should train");
        }
    }
}
