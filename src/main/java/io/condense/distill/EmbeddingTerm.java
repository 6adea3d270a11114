package io.condense.distill;

import io.condense.ir.ModelException;
import io.condense.train.Losses;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Map;

/**
 * Embedding loss for sentence-embedding students: pooled outputs ([N, D], or [N, L, D] mean-pooled over L)
 * compared by mean squared error or by mean (1 - cosine), times {@code weight}.
 *
 * <p>Without {@code mask}, shapes must agree and [N, L, D] values are averaged over every position. With
 * {@code mask} (the name under which the caller passes the batch's attention mask [N, L] among the student values),
 * token vectors are mean-pooled over the unmasked tokens only ({@link Losses#pooledEmbedding}), as sentence-transformers
 * pool; the teacher value may then be its own [N, L, D] output (pooled with the same mask) or an already pooled
 * [N, D] embedding. The mask gets no gradient.
 */
public record EmbeddingTerm(String student, String teacher, Kind kind, double weight, String mask) implements LossTerm {
    public enum Kind { MSE, COSINE }

    public EmbeddingTerm(String student, String teacher, Kind kind, double weight) { this(student, teacher, kind, weight, null); }

    @Override public String name() { return "embedding-" + kind.name().toLowerCase(java.util.Locale.ROOT); }

    @Override public List<String> studentTensors() { return mask == null ? List.of(student) : List.of(student, mask); }

    @Override public List<String> teacherTensors() { return List.of(teacher); }

    @Override public Value apply(Map<String, INDArray> s, Map<String, INDArray> t, int[] labels) {
        INDArray xs = s.get(student), xt = t.get(teacher).castTo(xs.dataType());
        if (mask != null && xs.rank() == 3) return masked(xs, xt, s.get(mask));
        if (!java.util.Arrays.equals(xs.shape(), xt.shape()) || xs.rank() < 2 || xs.rank() > 3) {
            throw new ModelException("embedding loss: student '" + student + "' " + java.util.Arrays.toString(xs.shape()) + " and teacher '" + teacher + "' "
                    + java.util.Arrays.toString(xt.shape()) + " are incompatible (need equal [N, D] or [N, L, D])");
        }
        long len = xs.rank() == 3 ? xs.size(1) : 1;
        INDArray a = xs.rank() == 3 ? xs.mean(1) : xs, b = xt.rank() == 3 ? xt.mean(1) : xt;
        long n = a.size(0);
        INDArray dA;
        double value;
        if (kind == Kind.MSE) {
            INDArray diff = a.sub(b);
            value = diff.mul(diff).sumNumber().doubleValue() / diff.length();
            dA = diff.mul(2.0 / diff.length());
        } else {
            INDArray na = a.norm2(true, 1).addi(1e-8), nb = b.norm2(true, 1).addi(1e-8);
            INDArray cos = a.mul(b).sum(true, 1).divi(na.mul(nb));
            value = (n - cos.sumNumber().doubleValue()) / n;
            // d(1 - cos)/da = -(b / (|a||b|) - cos * a / |a|^2), averaged over the batch
            dA = b.divColumnVector(na.mul(nb)).subi(a.mulColumnVector(cos.div(na.mul(na)))).negi().divi(n);
        }
        dA.muli(weight);
        INDArray g = xs.rank() == 3 ? Nd4j.zeros(xs.dataType(), xs.shape()).addi(dA.reshape(n, 1, a.size(1)).div(len).broadcast(xs.shape())) : dA;
        return new Value(weight * value, Map.of(student, g), Map.of());
    }

    /** Mask-aware pooling of the student's [N, L, D] tokens against the teacher's pooled (or [N, L, D]) embedding. */
    private Value masked(INDArray xs, INDArray xt, INDArray m) {
        if (m == null) throw new ModelException("embedding loss: no attention mask '" + mask + "' given with the student values");
        INDArray target = xt.rank() == 3 ? Losses.meanPool(xt, m) : xt;
        if (target.rank() != 2 || target.size(0) != xs.size(0) || target.size(1) != xs.size(2)) {
            throw new ModelException("embedding loss: student '" + student + "' " + java.util.Arrays.toString(xs.shape()) + " and teacher '" + teacher + "' "
                    + java.util.Arrays.toString(xt.shape()) + " are incompatible (need [N, L, D] and [N, D] or [N, L, D] of the same width)");
        }
        Losses.Loss l = Losses.pooledEmbedding(xs, m, target, kind == Kind.COSINE);
        return new Value(weight * l.value(), Map.of(student, l.grad().muli(weight)), Map.of());
    }
}
