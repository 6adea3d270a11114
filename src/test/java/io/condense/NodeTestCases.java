package io.condense;

import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.onnx.TensorCodec;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.function.ThrowingConsumer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The staged ONNX backend node tests ({@code onnx/node}): one folder per case holding {@code model.onnx} and
 * {@code test_data_set_N/} folders of {@code input_i.pb} / {@code output_i.pb}. Needs no ND4J (the GPU payload uses it).
 */
public final class NodeTestCases {
    private NodeTestCases() {}

    /** Every case folder, sorted by name (the calling test is skipped when the data is not staged). */
    public static List<Path> list() throws IOException {
        Path dir = TestData.require("onnx/node");
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).sorted().toList();
        }
    }

    /** One dynamic test per case, named after its folder. */
    public static Stream<DynamicTest> each(ThrowingConsumer<Path> body) throws IOException {
        return list().stream().map(c -> DynamicTest.dynamicTest(c.getFileName().toString(), () -> body.accept(c)));
    }

    /** The case's {@code test_data_set_*} folders, sorted. */
    public static List<Path> dataSets(Path c) throws IOException {
        try (Stream<Path> sets = Files.list(c)) {
            return sets.filter(p -> p.getFileName().toString().startsWith("test_data_set")).sorted().toList();
        }
    }

    /** The set's inputs keyed by g's input names; a missing {@code input_i.pb} (omitted optional input) is left out. */
    public static Map<String, Tensor> inputs(Graph g, Path set) throws IOException {
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        List<ValueInfo> ins = g.inputs();
        for (int i = 0; i < ins.size(); i++) {
            Path f = set.resolve("input_" + i + ".pb");
            if (Files.exists(f)) feeds.put(ins.get(i).name(), TensorCodec.readPb(f));
        }
        return feeds;
    }

    /** The set's expected outputs {@code output_0.pb, output_1.pb, ...} in order. */
    public static List<Tensor> outputs(Path set) throws IOException {
        List<Tensor> expected = new ArrayList<>();
        for (int i = 0; Files.exists(set.resolve("output_" + i + ".pb")); i++) {
            expected.add(TensorCodec.readPb(set.resolve("output_" + i + ".pb")));
        }
        return expected;
    }
}
