package io.condense.onnx;

import io.condense.NodeTestCases;
import io.condense.TensorAssert;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Runs every ONNX backend node test staged in {@code ../shared/data/onnx/node/} on the CPU backend and
 * compares with the expected outputs (rtol/atol 1e-4 for floats, exact for integers). Each case also
 * goes through an export/import round trip.
 */
class OnnxNodeTest {
    /** Cases that cannot pass yet, with the reason. Empty means every staged case runs. */
    static final Map<String, String> UNSUPPORTED = Map.of();

    @TestFactory
    Stream<DynamicTest> nodeTests() throws IOException {
        return NodeTestCases.each(OnnxNodeTest::runCase);
    }

    static void runCase(Path c) throws IOException {
        String name = c.getFileName().toString();
        Assumptions.assumeFalse(UNSUPPORTED.containsKey(name), () -> name + " unsupported: " + UNSUPPORTED.get(name));
        Graph g = OnnxImporter.load(c.resolve("model.onnx"));
        Graph roundTrip = OnnxImporter.fromBytes(OnnxExporter.toBytes(g));
        for (Path set : NodeTestCases.dataSets(c)) {
            Map<String, Tensor> feeds = NodeTestCases.inputs(g, set);
            List<Tensor> expected = NodeTestCases.outputs(set);
            for (Graph model : List.of(g, roundTrip)) {
                try (Session s = Backends.cpu().open(model)) {
                    Map<String, Tensor> out = s.run(feeds);
                    assertEquals(expected.size(), out.size(), name + ": output count");
                    int i = 0;
                    for (Tensor actual : out.values()) {
                        TensorAssert.assertClose(expected.get(i), actual, 1e-4, 1e-4, name + " output " + i);
                        i++;
                    }
                }
            }
        }
    }
}
