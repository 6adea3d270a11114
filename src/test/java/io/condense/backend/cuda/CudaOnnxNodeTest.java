package io.condense.backend.cuda;

import io.condense.NodeTestCases;
import io.condense.TensorAssert;
import io.condense.backend.Session;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxImporter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The staged ONNX backend node tests on the CUDA backend against ONNX's expected outputs (rtol/atol 1e-4). Cases
 * the CUDA backend refuses at open time (op or dtype not supported) are skipped with the reason. Needs no ND4J,
 * so it runs from the slim GPU payload (ci/gpu-run.sh).
 */
@Tag("gpu")
class CudaOnnxNodeTest {
    @TestFactory
    Stream<DynamicTest> nodeTestsOnCuda() throws IOException {
        return NodeTestCases.each(CudaOnnxNodeTest::runCase);
    }

    static void runCase(Path c) throws IOException {
        Gpu.requireKernels();
        String name = c.getFileName().toString();
        Graph g = OnnxImporter.load(c.resolve("model.onnx"));
        Session s;
        try {
            s = new CudaBackend().open(g);
        } catch (ModelException e) {
            Assumptions.abort(name + " not supported on CUDA: " + e.getMessage());
            return;
        }
        try (s) {
            for (Path set : NodeTestCases.dataSets(c)) {
                Map<String, Tensor> feeds = NodeTestCases.inputs(g, set);
                List<Tensor> expected = NodeTestCases.outputs(set);
                Map<String, Tensor> out = s.run(feeds);
                assertEquals(expected.size(), out.size(), name + ": output count");
                int i = 0;
                for (Tensor actual : out.values()) TensorAssert.assertClose(expected.get(i), actual, 1e-4, 1e-4, name + " output " + i++);
            }
        }
    }
}
