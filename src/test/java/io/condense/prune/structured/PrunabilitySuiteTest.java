package io.condense.prune.structured;

import io.condense.OrtTestSupport;
import io.condense.TestData;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.GraphValidator;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every float model of ../shared/data/onnx/models and ../shared/data/onnx/light loses 50% of the channels of
 * every prunable group; the result validates, runs in ONNX Runtime and keeps its output shapes. Integer and
 * fp16 models are skipped (listed). Prints prunable / total groups per model.
 */
class PrunabilitySuiteTest {

    static List<Path> models(Path root) throws IOException {
        List<Path> out = new ArrayList<>();
        for (String dir : List.of("onnx/models", "onnx/light")) {
            Path d = root.resolve(dir);
            if (!Files.isDirectory(d)) continue;
            try (Stream<Path> s = Files.walk(d, 2)) {
                s.filter(p -> p.toString().endsWith(".onnx")).sorted().forEach(out::add);
            }
        }
        return out;
    }

    /** Why a model is not a float model, or null. */
    static String notFloat(Graph g) {
        for (Node n : g.nodes()) {
            if (n.opType().startsWith("QLinear") || n.opType().endsWith("Integer") || n.opType().equals("QuantizeLinear")) return "quantized (" + n.opType() + ")";
        }
        for (Tensor t : g.initializers().values()) if (t.dtype() == DType.FLOAT16) return "fp16 weights";
        for (ValueInfo v : g.inputs()) if (v.type().dtype() == DType.FLOAT16) return "fp16 input";
        return null;
    }

    /** The light models with large weights take ORT tens of seconds on a busy machine. */
    static final java.util.Set<String> HEAVY = java.util.Set.of("light_vgg19.onnx", "light_zfnet512.onnx", "light_bvlc_alexnet.onnx", "light_resnet50.onnx", "light_inception_v1.onnx");

    @Test
    void everyFloatModelPrunesHalfItsChannels() throws Exception { suite(false); }

    @Test
    @org.junit.jupiter.api.Tag("slow")
    void heavyLightModelsPruneHalfTheirChannels() throws Exception { suite(true); }

    void suite(boolean heavy) throws Exception {
        Path root = TestData.require("onnx");
        List<String> lines = new ArrayList<>(), failures = new ArrayList<>();
        for (Path p : models(root.getParent())) {
            String name = root.relativize(p).toString();
            if (HEAVY.contains(p.getFileName().toString()) != heavy) continue;
            Graph g = OnnxImporter.load(p);
            String skip = notFloat(g);
            if (skip != null) { lines.add(String.format("%-60s skipped: %s", name, skip)); continue; }
            long t0 = System.nanoTime();
            try {
                ChannelPruning.Result r = new ChannelPruning(new ChannelPruning.Config(0.5, "l1")).run(g);
                Graph out = r.graph();
                GraphValidator.validate(out);
                Map<String, Tensor> feeds = OrtTestSupport.randomInputs(g.inputs(), 1, 1, 2);
                Map<String, Tensor> after = OrtTestSupport.run(OnnxExporter.toBytes(out), feeds);
                Map<String, long[]> want = new java.util.LinkedHashMap<>();
                for (ValueInfo o : g.outputs()) if (o.type().hasRank() && o.type().isStatic()) want.put(o.name(), o.type().shape());
                if (want.size() != g.outputs().size()) {
                    want.clear();
                    OrtTestSupport.run(OnnxExporter.toBytes(g), feeds).forEach((k, v) -> want.put(k, v.shape()));
                }
                for (String k : want.keySet()) {
                    assertArrayEquals(want.get(k), after.get(k).shape(), name + " output " + k);
                    for (float v : after.get(k).toFloatArray()) assertTrue(Float.isFinite(v), name + ": non-finite output");
                }
                lines.add(String.format("%-50s %3d/%3d groups prunable, weights %,d -> %,d%s (%.1f s)", name, r.report().prunable(), r.report().groups(),
                        r.report().paramsBefore(), r.report().paramsAfter(), r.report().warnings().isEmpty() ? "" : "  (" + r.report().warnings().size() + " inexact folds)",
                        (System.nanoTime() - t0) / 1e9));
                for (String u : r.report().unprunable().stream().map(s -> s.replaceAll("^\\[[^]]*]: ", "")).distinct().toList()) {
                    lines.add("      unprunable: " + u);
                }
            } catch (Throwable e) {
                failures.add(name + ": " + e);
                lines.add(String.format("%-60s FAILED: %s", name, e));
            }
        }
        lines.forEach(System.out::println);
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }
}
