package io.condense.backend.cpu;

import io.condense.OrtTestSupport;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sparse MatMul/Gemm/1x1-Conv kernels agree with ONNX Runtime and are chosen only for sparse weights. */
class SparseKernelsTest {

    static Tensor sparse(Random r, double density, long... shape) {
        float[] d = new float[(int) Tensor.checkedSize(shape)];
        for (int i = 0; i < d.length; i++) if (r.nextDouble() < density) d[i] = (float) r.nextGaussian();
        return Tensor.of(d, shape);
    }

    static Graph graph(List<Node> nodes, Map<String, Tensor> inits, long[] in, long[] out) {
        Graph.Builder b = Graph.builder().name("sparse").opset("", 17);
        List<Dim> di = new ArrayList<>(), dout = new ArrayList<>();
        for (long s : in) di.add(Dim.of(s));
        for (long s : out) dout.add(Dim.of(s));
        b.addInput(new ValueInfo("x", new TensorType(DType.FLOAT32, di)));
        b.addOutput(new ValueInfo("y", new TensorType(DType.FLOAT32, dout)));
        inits.forEach(b::initializer);
        nodes.forEach(b::addNode);
        return b.build();
    }

    static void compare(Graph g, long[] in, String what) {
        Map<String, Tensor> feeds = Map.of("x", SparseKernelsTest.sparse(new Random(9), 1.0, in));
        Map<String, Tensor> want = OrtTestSupport.run(OnnxExporter.toBytes(g), feeds);
        Map<String, Tensor> got;
        try (Session s = Backends.cpu().open(g)) {
            got = s.run(feeds);
        }
        float[] w = want.get("y").toFloatArray(), o = got.get("y").toFloatArray();
        double scale = 0, diff = 0;
        for (int i = 0; i < w.length; i++) { scale = Math.max(scale, Math.abs(w[i])); diff = Math.max(diff, Math.abs(w[i] - o[i])); }
        System.out.printf("%s: max |condense sparse - ORT| = %.3g (scale %.3g)%n", what, diff, scale);
        assertTrue(diff <= 1e-5 * scale, what + ": " + diff);
    }

    @Test
    void matMulAndFusedMatMul() {
        Random r = new Random(1);
        for (long batch : new long[] {1, 32}) {
            Map<String, Tensor> inits = Map.of("w", sparse(r, 0.1, 96, 80), "b", sparse(r, 1, 80));
            List<Node> plain = List.of(new Node("mm", "MatMul", "", List.of("x", "w"), List.of("y"), Map.of()));
            Graph g = graph(plain, inits, new long[] {batch, 3, 96}, new long[] {batch, 3, 80});
            assertTrue(SparseKernels.plan(g.nodes().get(0), g, c -> null) instanceof SparseKernels.MatMulK);
            compare(g, new long[] {batch, 3, 96}, "MatMul batch " + batch);
            List<Node> fused = List.of(new Node("mm", "MatMul", "", List.of("x", "w"), List.of("t"), Map.of()),
                    new Node("add", "Add", "", List.of("t", "b"), List.of("u"), Map.of()),
                    new Node("relu", "Relu", "", List.of("u"), List.of("y"), Map.of()));
            compare(graph(fused, inits, new long[] {batch, 96}, new long[] {batch, 80}), new long[] {batch, 96}, "MatMul+Add+Relu batch " + batch);
        }
    }

    @Test
    void gemmBothLayouts() {
        Random r = new Random(2);
        for (long transB : new long[] {0, 1}) {
            for (long batch : new long[] {1, 32}) {
                Tensor w = transB == 1 ? sparse(r, 0.05, 70, 128) : sparse(r, 0.05, 128, 70);
                Map<String, Tensor> inits = Map.of("w", w, "c", sparse(r, 1, 70));
                List<Node> n = List.of(new Node("g", "Gemm", "", List.of("x", "w", "c"), List.of("y"),
                        Map.of("transB", Attribute.of(transB), "alpha", Attribute.of(0.5f), "beta", Attribute.of(2f))));
                Graph g = graph(n, inits, new long[] {batch, 128}, new long[] {batch, 70});
                assertTrue(SparseKernels.plan(g.nodes().get(0), g, c -> null) instanceof SparseKernels.MatMulK);
                compare(g, new long[] {batch, 128}, "Gemm transB=" + transB + " batch " + batch);
            }
        }
    }

    @Test
    void pointwiseConv() {
        Random r = new Random(3);
        Map<String, Tensor> inits = Map.of("w", sparse(r, 0.2, 64, 96, 1, 1), "b", sparse(r, 1, 64));
        List<Node> n = List.of(new Node("c", "Conv", "", List.of("x", "w", "b"), List.of("t"), Map.of("kernel_shape", Attribute.of(1L, 1L))),
                new Node("relu", "Relu", "", List.of("t"), List.of("y"), Map.of()));
        Graph g = graph(n, inits, new long[] {2, 96, 5, 7}, new long[] {2, 64, 5, 7});
        assertTrue(SparseKernels.plan(g.nodes().get(0), g, c -> null) instanceof SparseKernels.ConvK);
        compare(g, new long[] {2, 96, 5, 7}, "1x1 Conv + Relu");
    }

    @Test
    void denseWeightsKeepTheDenseKernel() {
        Random r = new Random(4);
        Map<String, Tensor> inits = Map.of("w", sparse(r, 0.9, 96, 80));
        Graph g = graph(List.of(new Node("mm", "MatMul", "", List.of("x", "w"), List.of("y"), Map.of())), inits, new long[] {1, 96}, new long[] {1, 80});
        Kernel dense = c -> null;
        assertFalse(SparseKernels.plan(g.nodes().get(0), g, dense) instanceof SparseKernels.MatMulK);
    }
}
