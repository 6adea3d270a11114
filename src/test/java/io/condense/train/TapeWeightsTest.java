package io.condense.train;

import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One-element operands of elementwise ops (an epsilon, an exponent) are not trained; layer weights are, whatever their size. */
class TapeWeightsTest {
    @Test
    void scalarConstantsOfElementwiseOpsDoNotTrain() {
        Graph g = Graph.builder()
                .addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, 2, 3)))
                .initializer("W", Tensor.of(new float[] {1, 2, 3}, 3, 1))
                .initializer("b", Tensor.of(new float[] {0.5f}, 1))
                .initializer("eps", Tensor.scalar(1e-12f))
                .initializer("two", Tensor.scalar(2f))
                .addNode(new Node("g", "Gemm", "", List.of("x", "W", "b"), List.of("y"), Map.of()))
                .addNode(new Node("p", "Pow", "", List.of("y", "two"), List.of("y2"), Map.of()))
                .addNode(new Node("a", "Add", "", List.of("y2", "eps"), List.of("z"), Map.of()))
                .addOutput(new ValueInfo("z", TensorType.of(DType.FLOAT32, 2, 1)))
                .opset("", 13).build();
        Predicate<String> w = Tape.weights(g);
        assertTrue(w.test("W"));
        assertTrue(w.test("b"), "a one-output Gemm's bias is a weight");
        assertFalse(w.test("eps"));
        assertFalse(w.test("two"));
        Tape t = new Tape(g, w, org.nd4j.linalg.api.buffer.DataType.FLOAT, 0);
        assertTrue(t.parameters().containsKey("W") && t.parameters().containsKey("b"));
        assertFalse(t.parameters().containsKey("eps") || t.parameters().containsKey("two"));
    }
}
