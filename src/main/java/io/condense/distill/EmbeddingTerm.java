package io.condense.distill;

import io.condense.ir.ModelException;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Map;

/**
 * Embedding loss for sentence-embedding students: pooled outputs ([N, D], or [N, L, D] mean-pooled over L)
 * compared by mean squared error or by mean (1 - cosine), times {@code weight}. Shapes must agree.
 */
public record EmbeddingTerm(String student, String teacher, Kind kind, double weight) implements LossTerm {
    public enum Kind { MSE, COSINE }

    @Override public String name() { return "embedding-" + kind.name().toLowerCase(); }

    @Override public List<String> studentTensors() { return List.of(student); }

    @Override public List<String> teacherTensors() { return List.of(teacher); }

    @Override public Value apply(Map<String, INDArray> s, Map<String, INDArray> t, int[] labels) {
        INDArray xs = s.get(student), xt = t.get(teacher).castTo(xs.dataType());
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
}
