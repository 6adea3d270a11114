package io.condense.distill;

import io.condense.ir.ModelException;
import io.condense.train.Losses;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Map;

/** Hinton et al.'s soft-target term: weight * T^2 * KL(softmax(teacher / T) || softmax(student / T)). */
public record KdTerm(String student, String teacher, double temperature, double weight) implements LossTerm {
    public KdTerm {
        if (!(temperature > 0)) throw new ModelException("--temperature must be positive, got " + temperature);
        if (!(weight >= 0)) throw new ModelException("KD weight must be >= 0, got " + weight);
    }

    @Override public String name() { return "kd"; }

    @Override public List<String> studentTensors() { return List.of(student); }

    @Override public List<String> teacherTensors() { return List.of(teacher); }

    @Override public Value apply(Map<String, INDArray> s, Map<String, INDArray> t, int[] labels) {
        INDArray z = s.get(student), zt = t.get(teacher);
        if (!java.util.Arrays.equals(z.shape(), zt.shape())) {
            throw new ModelException("teacher output '" + teacher + "' " + java.util.Arrays.toString(zt.shape()) + " and student output '" + student + "' "
                    + java.util.Arrays.toString(z.shape()) + " are incompatible");
        }
        Losses.Loss l = Losses.klDivergence(z, zt, temperature); // includes T^2
        return new Value(weight * l.value(), Map.of(student, l.grad().muli(weight)), Map.of());
    }
}
