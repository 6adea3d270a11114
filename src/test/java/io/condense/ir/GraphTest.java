package io.condense.ir;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GraphTest {
    private static Graph.Builder chain() {
        return Graph.builder()
                .addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, 2, 3)))
                .addOutput(new ValueInfo("z", TensorType.unknown()))
                .initializer("w", Tensor.of(new float[] {1, 2, 3}, 3));
    }

    @Test
    void sortsNodesTopologically() {
        Node second = new Node("b", "Relu", "", List.of("y"), List.of("z"), Map.of());
        Node first = new Node("a", "Add", "", List.of("x", "w"), List.of("y"), Map.of());
        Graph g = chain().addNode(second).addNode(first).build();
        assertEquals(List.of(first, second), g.topologicalOrder());
        GraphValidator.validate(g);
    }

    @Test
    void reportsCyclesAndUndefinedValuesByNode() {
        Node a = new Node("a", "Add", "", List.of("x", "z"), List.of("y"), Map.of());
        Node b = new Node("b", "Relu", "", List.of("y"), List.of("z"), Map.of());
        ModelException cycle = assertThrows(ModelException.class, () -> GraphValidator.validate(chain().addNode(a).addNode(b).build()));
        assertTrue(cycle.getMessage().contains("cycle"), cycle.getMessage());

        Node c = new Node("c", "Relu", "", List.of("nothing"), List.of("z"), Map.of());
        ModelException undef = assertThrows(ModelException.class, () -> GraphValidator.validate(chain().addNode(c).build()));
        assertTrue(undef.getMessage().contains("'c'") && undef.getMessage().contains("nothing"), undef.getMessage());
    }

    @Test
    void rejectsDoubleDefinitionsAndMissingOutputs() {
        Node a = new Node("a", "Relu", "", List.of("x"), List.of("z"), Map.of());
        Node b = new Node("b", "Relu", "", List.of("x"), List.of("z"), Map.of());
        assertThrows(ModelException.class, () -> GraphValidator.validate(chain().addNode(a).addNode(b).build()));
        Graph noProducer = chain().build();
        ModelException e = assertThrows(ModelException.class, () -> GraphValidator.validate(noProducer));
        assertTrue(e.getMessage().contains("'z'"), e.getMessage());
    }

    @Test
    void tensorRejectsAbsurdShapesAndWrongLengths() {
        ModelException big = assertThrows(ModelException.class, () -> Tensor.zeros(DType.FLOAT32, 1_000_000, 1_000_000));
        assertTrue(big.getMessage().contains("too large"), big.getMessage());
        assertThrows(ModelException.class, () -> Tensor.of(new float[5], 2, 3));
        assertThrows(ModelException.class, () -> Tensor.zeros(DType.FLOAT32, -1));
        assertEquals(0, Tensor.zeros(DType.INT64, 0, 7).size());
    }

    @Test
    void storageBytesPacksFourBitTypes() {
        assertEquals(3, Tensor.zeros(DType.INT4, 5).storageBytes());
        assertEquals(20, Tensor.zeros(DType.FLOAT32, 5).storageBytes());
        assertEquals(10, Tensor.zeros(DType.BFLOAT16, 5).storageBytes());
    }
}
