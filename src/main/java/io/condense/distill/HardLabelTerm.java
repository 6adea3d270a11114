package io.condense.distill;

import io.condense.train.Losses;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Map;

/** Cross-entropy of the student's logits on the hard labels, times {@code weight} (1 - alpha in Hinton's loss). */
public record HardLabelTerm(String student, double weight) implements LossTerm {
    @Override public String name() { return "ce"; }

    @Override public List<String> studentTensors() { return List.of(student); }

    @Override public List<String> teacherTensors() { return List.of(); }

    @Override public Value apply(Map<String, INDArray> s, Map<String, INDArray> t, int[] labels) {
        Losses.Loss l = Losses.softmaxCrossEntropy(s.get(student), labels, 0);
        return new Value(weight * l.value(), Map.of(student, l.grad().muli(weight)), Map.of());
    }
}
