package io.condense.distill;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Map;

/**
 * One weighted term of a distillation loss. A term reads student values (graph outputs or intermediate tensors,
 * by name), teacher values and the hard labels of a batch, and returns its (weighted) value with gradients with
 * respect to the student values it read and to its own parameters (e.g. a hint projection).
 */
public interface LossTerm {
    String name();

    /** Student tensors this term reads. */
    List<String> studentTensors();

    /** Teacher tensors this term reads (empty for hard-label terms). */
    List<String> teacherTensors();

    /** Trainable parameters owned by the term (live arrays; empty by default). */
    default Map<String, INDArray> parameters() { return Map.of(); }

    /** A term's weighted value and its gradients. */
    record Value(double value, Map<String, INDArray> studentGrads, Map<String, INDArray> paramGrads) {}

    Value apply(Map<String, INDArray> student, Map<String, INDArray> teacher, int[] labels);
}
