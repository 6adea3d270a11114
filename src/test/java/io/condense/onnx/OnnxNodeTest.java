package io.condense.onnx;

import io.condense.TensorAssert;
import io.condense.TestData;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
        Path dir = TestData.require("onnx/node");
        List<Path> cases;
        try (Stream<Path> s = Files.list(dir)) {
            cases = s.filter(Files::isDirectory).sorted().toList();
        }
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.getFileName().toString(), () -> runCase(c)));
    }

    static void runCase(Path c) throws IOException {
        String name = c.getFileName().toString();
        Assumptions.assumeFalse(UNSUPPORTED.containsKey(name), () -> name + " unsupported: " + UNSUPPORTED.get(name));
        Graph g = OnnxImporter.load(c.resolve("model.onnx"));
        Graph roundTrip = OnnxImporter.fromBytes(OnnxExporter.toBytes(g));
        try (Stream<Path> sets = Files.list(c)) {
            for (Path set : sets.filter(p -> p.getFileName().toString().startsWith("test_data_set")).sorted().toList()) {
                Map<String, Tensor> feeds = new LinkedHashMap<>();
                List<ValueInfo> ins = g.inputs();
                for (int i = 0; i < ins.size(); i++) {
                    Path f = set.resolve("input_" + i + ".pb");
                    if (Files.exists(f)) feeds.put(ins.get(i).name(), TensorCodec.readPb(f));
                }
                List<Tensor> expected = new ArrayList<>();
                for (int i = 0; Files.exists(set.resolve("output_" + i + ".pb")); i++) {
                    expected.add(TensorCodec.readPb(set.resolve("output_" + i + ".pb")));
                }
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
}
