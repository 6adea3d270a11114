package io.condense.backend.cuda;

import io.condense.TensorAssert;
import io.condense.TestData;
import io.condense.backend.Session;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.TensorCodec;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
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
 * The staged ONNX backend node tests on the CUDA backend against ONNX's expected outputs (rtol/atol 1e-4). Cases
 * the CUDA backend refuses at open time (op or dtype not supported) are skipped with the reason. Needs no ND4J,
 * so it runs from the slim GPU payload (ci/gpu-run.sh).
 */
@Tag("gpu")
class CudaOnnxNodeTest {
    @TestFactory
    Stream<DynamicTest> nodeTestsOnCuda() throws IOException {
        Path dir = TestData.require("onnx/node");
        List<Path> cases;
        try (Stream<Path> s = Files.list(dir)) {
            cases = s.filter(Files::isDirectory).sorted().toList();
        }
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.getFileName().toString(), () -> runCase(c)));
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
        try (s; Stream<Path> sets = Files.list(c)) {
            for (Path set : sets.filter(p -> p.getFileName().toString().startsWith("test_data_set")).sorted().toList()) {
                Map<String, Tensor> feeds = new LinkedHashMap<>();
                List<ValueInfo> ins = g.inputs();
                for (int i = 0; i < ins.size(); i++) {
                    Path f = set.resolve("input_" + i + ".pb");
                    if (Files.exists(f)) feeds.put(ins.get(i).name(), TensorCodec.readPb(f));
                }
                List<Tensor> expected = new ArrayList<>();
                for (int i = 0; Files.exists(set.resolve("output_" + i + ".pb")); i++) expected.add(TensorCodec.readPb(set.resolve("output_" + i + ".pb")));
                Map<String, Tensor> out = s.run(feeds);
                assertEquals(expected.size(), out.size(), name + ": output count");
                int i = 0;
                for (Tensor actual : out.values()) TensorAssert.assertClose(expected.get(i), actual, 1e-4, 1e-4, name + " output " + i++);
            }
        }
    }
}
