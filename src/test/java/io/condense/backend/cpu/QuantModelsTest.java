package io.condense.backend.cpu;

import io.condense.OrtReference;
import io.condense.TensorAssert;
import io.condense.TestData;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pretrained quantized models on the CPU executor against ONNX Runtime Java on a seeded random input.
 *
 * <p>The integer bodies of the models (everything up to the last integer value that only needs quantization
 * kernels) must match ORT exactly. Whole models, which also need shape/elementwise/pool kernels from other op
 * families, must agree within one quantization step of the output; they are skipped (naming the missing ops)
 * while the CPU backend lacks any op they use. Latency is measured by {@code io.condense.tools.QuantBench}, not here.
 */
class QuantModelsTest {
    static Path model(String rel) { return TestData.require("onnx/models/" + rel); }

    // ------------------------------------------------------------------ integer bodies (quantization ops only)

    @Test
    void mobilenetV2Int8BodyMatchesOrtExactly() throws Exception {
        Graph g = OnnxImporter.load(model("mobilenetv2-12-int8/mobilenetv2-12-int8.onnx"));
        // output of QLinearGlobalAveragePool: 1 QuantizeLinear, 52 QLinearConv, 10 QLinearAdd, the pool
        Graph body = truncate(g, "464_quantized", DType.UINT8);
        compareExact("mobilenetv2-12-int8 body", body, feeds(g, 1, 7));
    }

    @Test
    void resnet8Int8BodyMatchesOrtExactly() throws Exception {
        Graph g = OnnxImporter.load(model("mlperftiny-ic-resnet8-int8/ic_quantized_int8.onnx"));
        Graph body = truncate(g, "/features/features.2/Add_output_0_quantized", DType.UINT8);
        compareExact("resnet8 body", body, feeds(g, 1, 8));
    }

    @Test
    void mnistQuantizedFirstConvMatchesOrtExactly() throws Exception {
        Graph g = OnnxImporter.load(model("mnist-8-quantized-integer/model_quantized.onnx"));
        Graph body = truncate(g, "Convolution28_Output_0_quantized", DType.INT32);
        compareExact("mnist-8-quantized ConvInteger", body, feeds(g, 255, 9));
    }

    // ------------------------------------------------------------------ whole models

    @Test
    void mobilenetV2Int8Whole() throws Exception {
        Graph g = OnnxImporter.load(model("mobilenetv2-12-int8/mobilenetv2-12-int8.onnx"));
        compareWhole("mobilenetv2-12-int8", g, feeds(g, 1, 7), outputStep(g));
    }

    @Test
    void resnet8Int8Whole() throws Exception {
        Graph g = OnnxImporter.load(model("mlperftiny-ic-resnet8-int8/ic_quantized_int8.onnx"));
        compareWhole("mlperftiny-ic-resnet8-int8", g, feeds(g, 1, 8), outputStep(g));
    }

    @Test
    void mnistQuantizedIntegerWhole() throws Exception {
        Graph g = OnnxImporter.load(model("mnist-8-quantized-integer/model_quantized.onnx"));
        // the output is float: MatMulInteger's int32 result times (input scale x weight scale), plus a float bias
        Map<String, Tensor> init = g.initializers();
        double step = init.get("Pooling160_Output_0_reshape0_scale").getDouble(0) * init.get("Parameter193_reshape1_scale").getDouble(0);
        compareWhole("mnist-8-quantized-integer", g, feeds(g, 255, 9), step);
    }

    // ------------------------------------------------------------------ helpers

    /** The scale of the DequantizeLinear that produces the graph's (first) output. */
    static double outputStep(Graph g) {
        String out = g.outputs().get(0).name();
        Node dq = g.producers().get(out);
        assertEquals("DequantizeLinear", dq.opType(), "output producer");
        return g.initializers().get(dq.input(1)).getDouble(0);
    }

    /** Seeded random input: uniform in [0, scale), batch dimension 1 where symbolic. */
    static Map<String, Tensor> feeds(Graph g, double scale, long seed) {
        Random r = new Random(seed);
        Map<String, Tensor> f = new LinkedHashMap<>();
        for (ValueInfo in : g.inputs()) {
            List<Dim> dims = in.type().dims();
            long[] s = new long[dims.size()];
            for (int i = 0; i < s.length; i++) s[i] = dims.get(i).isKnown() ? dims.get(i).value() : 1;
            float[] v = new float[(int) Tensor.checkedSize(s)];
            for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * scale);
            f.put(in.name(), Tensor.of(v, s));
        }
        return f;
    }

    /** The part of {@code g} that computes {@code value}, with that value as the only output. */
    static Graph truncate(Graph g, String value, DType type) {
        Map<String, Node> producers = g.producers();
        Set<Node> keep = new HashSet<>();
        Deque<String> todo = new ArrayDeque<>(List.of(value));
        Set<String> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            String v = todo.pop();
            if (!seen.add(v)) continue;
            Node p = producers.get(v);
            if (p == null || !keep.add(p)) continue;
            for (String i : p.inputs()) if (!i.isEmpty()) todo.push(i);
        }
        List<Node> nodes = new ArrayList<>();
        for (Node n : g.nodes()) if (keep.contains(n)) nodes.add(n);
        Map<String, Tensor> inits = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : g.initializers().entrySet()) if (seen.contains(e.getKey())) inits.put(e.getKey(), e.getValue());
        return g.toBuilder().nodes(nodes).initializers(inits)
                .outputs(List.of(new ValueInfo(value, new TensorType(type, null)))).build();
    }

    static void compareExact(String name, Graph g, Map<String, Tensor> feeds) throws Exception {
        List<Map<String, Tensor>> both = ortAndCpu(g, feeds);
        Map<String, Tensor> want = both.get(0), got = both.get(1);
        assertEquals(want.keySet(), got.keySet(), name);
        for (String k : want.keySet()) {
            Tensor w = want.get(k), a = got.get(k);
            int diff = 0;
            for (int i = 0; i < w.size(); i++) if (w.getDouble(i) != a.getDouble(i)) diff++;
            System.out.printf("quant-model %-32s %s: %d of %d elements differ from ORT (max-abs %.3g)%n",
                    name, k, diff, w.size(), TensorAssert.maxAbsDiff(w, a));
            TensorAssert.assertClose(w, a, 0, 0, name + " " + k);
        }
    }

    static void compareWhole(String name, Graph g, Map<String, Tensor> feeds, double step) throws Exception {
        Set<String> missing = new TreeSet<>();
        KernelRegistry reg = KernelRegistry.standard();
        for (Node n : g.nodes()) if (reg.get(n.domain(), n.opType()) == null) missing.add((n.domain().isEmpty() ? "" : n.domain() + ".") + n.opType());
        Assumptions.assumeTrue(missing.isEmpty(), () -> name + " needs ops the CPU backend lacks so far: " + missing + ": skipping");
        List<Map<String, Tensor>> both = ortAndCpu(g, feeds);
        Map<String, Tensor> want = both.get(0), got = both.get(1);
        assertEquals(want.keySet(), got.keySet(), name);
        for (String k : want.keySet()) {
            Tensor w = want.get(k), a = got.get(k);
            assertEquals(w.dtype(), a.dtype(), name);
            assertArrayEquals(w.shape(), a.shape(), name);
            double d = TensorAssert.maxAbsDiff(w, a);
            System.out.printf("quant-model %-32s %s: max-abs vs ORT %.4g = %.2f output steps (step %.4g)%n", name, k, d, d / step, step);
            assertTrue(d <= step * 1.0001 + 1e-6, name + " " + k + ": max-abs diff " + d + " exceeds one quantization step " + step);
        }
    }

    /** ORT's outputs (all cores, default optimizations) and the CPU backend's for g on feeds, in that order. */
    static List<Map<String, Tensor>> ortAndCpu(Graph g, Map<String, Tensor> feeds) throws Exception {
        try (Session s = Backends.cpu().open(g); OrtReference ort = new OrtReference(OnnxExporter.toBytes(g))) {
            Map<String, Tensor> want = ort.run(feeds);
            return List.of(want, s.run(feeds));
        }
    }
}
