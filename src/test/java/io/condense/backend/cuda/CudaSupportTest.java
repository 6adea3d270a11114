package io.condense.backend.cuda;

import io.condense.NodeTestCases;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxImporter;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the CUDA backend accepts at open time (checked without a GPU), so a GPU run knows what must pass. */
class CudaSupportTest {
    /** The staged ONNX node tests that CudaOnnxNodeTest must pass on a GPU. */
    static final List<String> EXPECTED = List.of("test_add", "test_add_bcast", "test_basic_conv_with_padding",
            "test_conv_with_autopad_same", "test_conv_with_strides_padding", "test_div", "test_flatten_axis1",
            "test_gemm_all_attributes", "test_gemm_default_no_bias", "test_identity", "test_matmul_2d", "test_matmul_3d",
            "test_mul", "test_relu", "test_sigmoid", "test_sub", "test_tanh");

    @Test
    void acceptedNodeTests() throws Exception {
        TreeSet<String> accepted = new TreeSet<>();
        for (Path c : NodeTestCases.list()) {
            Graph g = OnnxImporter.load(c.resolve("model.onnx"));
            try {
                CudaSession.validate(g);
                accepted.add(c.getFileName().toString());
            } catch (ModelException e) {
                assertTrue(e.getMessage().contains("CUDA") || e.getMessage().contains("cuda"), e.getMessage());
            }
        }
        assertEquals(new TreeSet<>(EXPECTED), accepted);
    }

    @Test
    void refusalsNameTheNode() {
        Graph g = Graph.builder().opset("", 17)
                .addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, 1, 1, 4, 4, 4)))
                .addOutput(new ValueInfo("y", TensorType.unknown()))
                .initializer("w", io.condense.ir.Tensor.zeros(DType.FLOAT32, 1, 1, 2, 2, 2))
                .addNode(new Node("c3", "Conv", "", List.of("x", "w"), List.of("y"), Map.of()))
                .build();
        ModelException e = assertThrows(ModelException.class, () -> CudaSession.validate(g));
        assertTrue(e.getMessage().contains("'c3'") || e.getMessage().contains("c3"), e.getMessage());
        assertTrue(e.getMessage().contains("3D"), e.getMessage());
        Graph h = Graph.builder().opset("", 17)
                .addInput(new ValueInfo("x", TensorType.of(DType.INT64, 4)))
                .addOutput(new ValueInfo("y", TensorType.unknown()))
                .addNode(new Node("r", "Relu", "", List.of("x"), List.of("y"), Map.of()))
                .build();
        assertThrows(ModelException.class, () -> CudaSession.validate(h));
    }
}
