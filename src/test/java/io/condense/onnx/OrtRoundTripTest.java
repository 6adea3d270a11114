package io.condense.onnx;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.condense.NodeTestCases;
import io.condense.OrtTestSupport;
import io.condense.TestData;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * import -> export must not change what a model computes: ONNX Runtime on the exported bytes gives
 * bitwise-identical outputs to ONNX Runtime on the original bytes, for a seeded input, with graph
 * optimizations off and (see below) with all of ORT's optimizations on.
 *
 * <p>An IR >= 4 model that also lists its initializers as graph inputs declares them overridable, so ORT
 * may not constant-fold or fuse them; the importer drops those input entries (weights are weights here),
 * after which ORT's optimizer is free to fuse and may round differently. For such models (super_resolution)
 * only the unoptimized comparison applies.
 */
class OrtRoundTripTest {
    static boolean overridableInitializers(byte[] model) throws IOException {
        ai.onnx.proto.OnnxMl.ModelProto m = ai.onnx.proto.OnnxMl.ModelProto.parseFrom(model);
        if (m.getIrVersion() < 4) return false;
        java.util.Set<String> inits = new java.util.HashSet<>();
        for (var t : m.getGraph().getInitializerList()) inits.add(t.getName());
        return m.getGraph().getInputList().stream().anyMatch(v -> inits.contains(v.getName()));
    }

    static void assertBitwiseSame(byte[] original, byte[] exported, Map<String, Tensor> feeds, String what) throws IOException {
        List<OptLevel> levels = overridableInitializers(original) ? List.of(OptLevel.NO_OPT) : List.of(OptLevel.NO_OPT, OptLevel.ALL_OPT);
        for (OptLevel level : levels) {
            Map<String, Tensor> a = OrtTestSupport.run(original, feeds, level);
            Map<String, Tensor> b = OrtTestSupport.run(exported, feeds, level);
            assertEquals(new ArrayList<>(a.keySet()), new ArrayList<>(b.keySet()), what + ": output names");
            for (String k : a.keySet()) {
                Tensor x = a.get(k), y = b.get(k);
                assertEquals(x.dtype(), y.dtype(), what + " " + k + ": dtype");
                assertArrayEquals(x.shape(), y.shape(), what + " " + k + ": shape");
                if (x.dtype() == DType.STRING) {
                    assertArrayEquals((String[]) x.data(), (String[]) y.data(), what + " " + k);
                } else {
                    assertArrayEquals(TensorCodec.rawBytes(x), TensorCodec.rawBytes(y),
                            what + " " + k + " (" + level + "): not bitwise identical, max abs diff "
                                    + io.condense.TensorAssert.maxAbsDiff(x, y));
                }
            }
        }
    }

    static void roundTrip(byte[] original, Map<String, Tensor> feeds, String what) throws IOException {
        Graph g = OnnxImporter.fromBytes(original);
        byte[] exported = OnnxExporter.toBytes(g);
        if (feeds == null) feeds = OrtTestSupport.randomInputs(g.inputs(), 1234, 3, 2);
        assertBitwiseSame(original, exported, feeds, what);
        // the file form (value_info from condense's shape inference) computes the same; ORT validates the
        // annotations against its own inference when it loads the model
        byte[] annotated = OnnxExporter.toFileBytes(g);
        Map<String, Tensor> a = OrtTestSupport.run(original, feeds, OptLevel.NO_OPT);
        Map<String, Tensor> b = OrtTestSupport.run(annotated, feeds, OptLevel.NO_OPT);
        for (String k : a.keySet()) {
            assertArrayEquals(TensorCodec.rawBytes(a.get(k)), TensorCodec.rawBytes(b.get(k)), what + " " + k + ": annotated export differs");
        }
        if (!overridableInitializers(original)) {
            Map<String, Tensor> c = OrtTestSupport.run(annotated, feeds, OptLevel.ALL_OPT);
            for (String k : a.keySet()) {
                if (a.get(k).dtype().isFloating()) {
                    io.condense.TensorAssert.assertClose(a.get(k), c.get(k), 1e-4, 1e-4, what + " " + k + ": annotated export, all ORT optimizations");
                }
            }
        }
        // and a second trip changes nothing further
        Graph again = OnnxImporter.fromBytes(exported);
        assertArrayEquals(exported, OnnxExporter.toBytes(again), what + ": export of the re-import differs");
    }

    @TestFactory
    Stream<DynamicTest> stagedModels() throws IOException {
        Path dir = TestData.require("onnx/models");
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(p -> p.toString().endsWith(".onnx")).sorted().toList();
        }
        return files.stream().map(f -> DynamicTest.dynamicTest(dir.relativize(f).toString(),
                () -> roundTrip(Files.readAllBytes(f), null, f.getFileName().toString())));
    }

    @TestFactory
    Stream<DynamicTest> nodeTestModels() throws IOException {
        return NodeTestCases.each(c -> {
            byte[] bytes = Files.readAllBytes(c.resolve("model.onnx"));
            Graph g = OnnxImporter.fromBytes(bytes);
            roundTrip(bytes, NodeTestCases.inputs(g, c.resolve("test_data_set_0")), c.getFileName().toString());
        });
    }

    @Test
    void miniLm() throws IOException {
        Path model = TestData.miniLm();
        assertNotNull(model, "all-minilm-l6-v2.onnx on the test classpath");
        byte[] bytes = Files.readAllBytes(model);
        Map<String, Tensor> feeds = TestData.bertFeeds(12, 99);
        roundTrip(bytes, feeds, "all-minilm-l6-v2");
    }
}
