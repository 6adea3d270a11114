package io.condense.train;

import io.condense.ir.ModelException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/** Loss functions returning the mean loss over the batch and its gradient with respect to the prediction. */
public final class Losses {
    private Losses() {}

    private static final Nd4jArrayOps O = Nd4jArrayOps.INSTANCE;

    /** A loss value and d loss / d prediction (same shape and type as the prediction). */
    public record Loss(double value, INDArray grad) {}

    private static INDArray logSoftmax(INDArray z) {
        INDArray sh = z.sub(z.max(true, 1));
        return sh.subi(Transforms.log(Transforms.exp(sh, true).sum(true, 1), false));
    }

    private static void check2d(INDArray logits, String what) {
        if (logits.rank() != 2) throw new ModelException(what + " needs [batch, classes] logits, got shape " + java.util.Arrays.toString(logits.shape()));
    }

    /**
     * Softmax cross-entropy from logits [N, K] and integer labels, with label smoothing {@code eps}: the target
     * is (1 - eps) on the label plus eps / K on every class.
     */
    public static Loss softmaxCrossEntropy(INDArray logits, int[] labels, double smoothing) {
        check2d(logits, "cross-entropy");
        int n = (int) logits.size(0), k = (int) logits.size(1);
        if (labels.length != n) throw new ModelException("cross-entropy: " + labels.length + " labels for a batch of " + n);
        if (smoothing < 0 || smoothing >= 1) throw new ModelException("label smoothing must be in [0, 1), got " + smoothing);
        for (int label : labels) if (label < 0 || label >= k) throw new ModelException("label " + label + " out of range for " + k + " classes");
        if (logits.dataType() != DataType.FLOAT && logits.dataType() != DataType.DOUBLE) {
            double[] t = new double[n * k];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < k; j++) t[i * k + j] = smoothing / k;
                t[i * k + labels[i]] += 1 - smoothing;
            }
            return crossEntropy(logits, Nd4j.create(t, new long[] {n, k}, 'c').castTo(logits.dataType()));
        }
        // plain loops over one copy of the [N, K] logits (in double): a handful of ND4J ops on 640 values cost more
        // in dispatch than the arithmetic
        double[] z = rowMajor(logits);
        double[] grad = new double[n * k];
        double off = smoothing / k, value = 0;
        for (int i = 0; i < n; i++) {
            int o = i * k;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) max = Math.max(max, z[o + j]);
            double sum = 0;
            for (int j = 0; j < k; j++) sum += Math.exp(z[o + j] - max);
            double logSum = Math.log(sum);
            for (int j = 0; j < k; j++) {
                double ls = z[o + j] - max - logSum;
                double t = off + (j == labels[i] ? 1 - smoothing : 0);
                value -= t * ls;
                grad[o + j] = (Math.exp(ls) - t) / n;
            }
        }
        INDArray g;
        if (logits.dataType() == DataType.FLOAT) {
            float[] f = new float[grad.length];
            for (int i = 0; i < f.length; i++) f[i] = (float) grad[i];
            g = Nd4j.create(f, new long[] {n, k}, 'c');
        } else {
            g = Nd4j.create(grad, new long[] {n, k}, 'c');
        }
        return new Loss(value / n, g);
    }

    /** Values of a 2-D array in C order, as doubles (one bulk copy). */
    private static double[] rowMajor(INDArray a) {
        boolean dense = a.ordering() == 'c' && a.elementWiseStride() == 1 && a.offset() == 0 && a.data().length() == a.length();
        return (dense ? a : a.dup('c')).data().asDouble();
    }

    /** Cross-entropy of logits [N, K] against a target distribution [N, K] (rows summing to 1). */
    public static Loss crossEntropy(INDArray logits, INDArray target) {
        check2d(logits, "cross-entropy");
        int n = (int) logits.size(0);
        INDArray ls = logSoftmax(logits);
        double value = -ls.mul(target).sumNumber().doubleValue() / n;
        INDArray grad = Transforms.exp(ls, true).subi(target).divi(n);
        return new Loss(value, grad);
    }

    /**
     * Distillation loss: T^2 * KL(softmax(teacher / T) || softmax(student / T)), averaged over the batch. The T^2
     * factor keeps gradient magnitudes comparable across temperatures (Hinton et al.). Gradient is w.r.t. the student.
     */
    public static Loss klDivergence(INDArray studentLogits, INDArray teacherLogits, double temperature) {
        check2d(studentLogits, "KL divergence");
        if (!java.util.Arrays.equals(studentLogits.shape(), teacherLogits.shape())) {
            throw new ModelException("KL divergence: student " + java.util.Arrays.toString(studentLogits.shape()) + " and teacher "
                    + java.util.Arrays.toString(teacherLogits.shape()) + " logits differ in shape");
        }
        if (!(temperature > 0)) throw new ModelException("temperature must be positive, got " + temperature);
        int n = (int) studentLogits.size(0);
        INDArray t = teacherLogits.castTo(studentLogits.dataType());
        INDArray ls = logSoftmax(studentLogits.div(temperature));
        INDArray lt = logSoftmax(t.div(temperature));
        INDArray pt = Transforms.exp(lt, true);
        double t2 = temperature * temperature;
        double value = t2 * pt.mul(lt.sub(ls)).sumNumber().doubleValue() / n;
        // d/dz_s = T^2 * (p_s - p_t) / T / N
        INDArray grad = Transforms.exp(ls, true).subi(pt).muli(temperature / n);
        return new Loss(value, grad);
    }

    /** Mean squared error over all elements. */
    public static Loss mse(INDArray prediction, INDArray target) {
        if (!java.util.Arrays.equals(prediction.shape(), target.shape())) {
            throw new ModelException("MSE: prediction " + java.util.Arrays.toString(prediction.shape()) + " and target "
                    + java.util.Arrays.toString(target.shape()) + " differ in shape");
        }
        INDArray d = prediction.sub(target.castTo(prediction.dataType()));
        long n = prediction.length();
        double value = d.mul(d).sumNumber().doubleValue() / n;
        return new Loss(value, d.muli(2.0 / n));
    }

    /**
     * Masked mean pooling of token vectors {@code hidden} [batch, seq, dim] over the tokens whose {@code mask}
     * [batch, seq] is nonzero: the sentence embedding of mean-pooling models (sentence-transformers).
     */
    public static INDArray meanPool(INDArray hidden, INDArray mask) {
        INDArray m = poolWeights(hidden, mask);
        return O.mul(hidden, m.reshape(m.size(0), m.size(1), 1)).sum(1);
    }

    /** mask / (tokens per row), as [batch, seq] in hidden's type. */
    private static INDArray poolWeights(INDArray hidden, INDArray mask) {
        if (hidden.rank() != 3 || mask.rank() != 2 || hidden.size(0) != mask.size(0) || hidden.size(1) != mask.size(1)) {
            throw new ModelException("pooling needs hidden [batch, seq, dim] and mask [batch, seq], got "
                    + java.util.Arrays.toString(hidden.shape()) + " and " + java.util.Arrays.toString(mask.shape()));
        }
        INDArray m = mask.castTo(hidden.dataType());
        INDArray count = m.sum(true, 1);
        return O.div(m, Transforms.max(count, 1.0, false));
    }

    /**
     * Embedding distillation loss on mean-pooled sentence embeddings: {@code cosine} ? mean over rows of
     * (1 - cos(pool(hidden), target)) : mean squared error over all pooled elements. {@code target} is the
     * teacher's pooled embedding [batch, dim]; the gradient is with respect to {@code hidden}.
     */
    public static Loss pooledEmbedding(INDArray hidden, INDArray mask, INDArray target, boolean cosine) {
        INDArray w = poolWeights(hidden, mask);
        INDArray p = O.mul(hidden, w.reshape(w.size(0), w.size(1), 1)).sum(1);
        INDArray t = target.castTo(p.dataType());
        if (!java.util.Arrays.equals(p.shape(), t.shape())) {
            throw new ModelException("pooled embedding " + java.util.Arrays.toString(p.shape()) + " and target "
                    + java.util.Arrays.toString(t.shape()) + " differ in shape");
        }
        long b = p.size(0);
        INDArray dp;
        double value;
        if (cosine) {
            INDArray ns = p.norm2(true, 1), nt = t.norm2(true, 1);
            INDArray nsc = Transforms.max(ns, 1e-12, false), ntc = Transforms.max(nt, 1e-12, false);
            INDArray cos = p.mul(t).sum(true, 1).divi(nsc.mul(ntc));
            value = cos.rsub(1).sumNumber().doubleValue() / b;
            // d cos / d p = t / (|p||t|) - cos * p / |p|^2
            dp = O.div(t, nsc.mul(ntc)).subi(O.div(O.mul(p, cos), nsc.mul(nsc))).muli(-1.0 / b);
        } else {
            INDArray d = p.sub(t);
            long n = p.length();
            value = d.mul(d).sumNumber().doubleValue() / n;
            dp = d.muli(2.0 / n);
        }
        // d pool[b, :] / d hidden[b, s, :] = w[b, s]
        INDArray grad = O.mul(dp.reshape(b, 1, p.size(1)), w.reshape(w.size(0), w.size(1), 1));
        return new Loss(value, grad);
    }

    /** Number of rows whose arg-max equals the label. */
    public static int correct(INDArray logits, int[] labels) {
        if (logits.rank() != 2 || logits.size(0) != labels.length) {
            long[] am = Arrays2.longs(logits.argMax(1));
            int c = 0;
            for (int i = 0; i < labels.length; i++) if (am[i] == labels[i]) c++;
            return c;
        }
        // first maximum per row, as argMax
        int k = (int) logits.size(1), c = 0;
        double[] z = rowMajor(logits);
        for (int i = 0; i < labels.length; i++) {
            int best = 0;
            for (int j = 1; j < k; j++) if (z[i * k + j] > z[i * k + best]) best = j;
            if (best == labels[i]) c++;
        }
        return c;
    }
}
