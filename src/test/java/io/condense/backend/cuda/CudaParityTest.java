package io.condense.backend.cuda;

import io.condense.TensorAssert;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.backend.cuda.ref.CalibRef;
import io.condense.backend.cuda.ref.ChannelLayout;
import io.condense.backend.cuda.ref.FakeQuantRef;
import io.condense.backend.cuda.ref.Int8GemmRef;
import io.condense.backend.cuda.ref.QRange;
import io.condense.backend.cuda.ref.QuantRef;
import io.condense.backend.cuda.ref.Sparse24Ref;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * GPU parity: every kernel against its Java reference (exact where the reference says so), and every op of the CUDA
 * backend against the CPU backend. Fresh random inputs (with ties, NaN, Inf and out-of-range values mixed in),
 * outputs poisoned before each launch. Skips without a GPU or without built kernels (cuda-kernels/build.sh).
 */
@Tag("gpu")
class CudaParityTest {
    private final Random rnd = new Random(System.nanoTime());

    private float[] data(int n, float s) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            int kind = rnd.nextInt(50);
            x[i] = kind == 0 ? (rnd.nextInt(200) - 100) * s * 0.5f  // exact ties at half steps
                    : kind == 1 ? 300 * s * (rnd.nextBoolean() ? 1 : -1) // saturating
                    : (float) rnd.nextGaussian() * 40 * s;
        }
        if (n > 8) {
            x[3] = Float.NaN;
            x[5] = Float.POSITIVE_INFINITY;
            x[7] = Float.NEGATIVE_INFINITY;
        }
        return x;
    }

    private static int[] bits(float[] a) {
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) b[i] = Float.isNaN(a[i]) ? 0x7fc00000 : Float.floatToIntBits(a[i]);
        return b;
    }

    @Test
    void fakeQuantForwardAndSte() {
        CudaDevice d = Gpu.requireKernels();
        CudaQuantKernels k = new CudaQuantKernels(d, null);
        for (QRange r : List.of(QRange.INT8, QRange.INT4, QRange.UINT8)) {
            for (boolean perChannel : new boolean[] {false, true}) {
                long[] shape = {3, 16, 5, 7};
                ChannelLayout l = perChannel ? ChannelLayout.of(shape, 1) : ChannelLayout.perTensor(3 * 16 * 35);
                int n = (int) l.size();
                float[] scale = new float[l.channels()];
                int[] zp = new int[l.channels()];
                for (int c = 0; c < scale.length; c++) {
                    scale[c] = 0.01f + rnd.nextFloat() * 0.1f;
                    zp[c] = r.qmin() < 0 ? 0 : (r.qmin() + r.qmax()) / 2 + rnd.nextInt(3) - 1;
                }
                float[] x = data(n, scale[0]);
                float[] dy = data(n, 1f);
                for (int i = 0; i < n; i++) if (Float.isNaN(dy[i]) || Float.isInfinite(dy[i])) dy[i] = 1f;
                try (DeviceBuffer dx = Gpu.up(x);
                 DeviceBuffer ds = Gpu.up(scale);
                 DeviceBuffer dz = Gpu.up(zp);
                 DeviceBuffer ddy = Gpu.up(dy);
                 DeviceBuffer y = Gpu.poisoned(4L * n);
                 DeviceBuffer g = Gpu.poisoned(4L * n)) {
                    k.fakeQuantForward(dx, y, ds, dz, l, r);
                    assertArrayEquals(bits(FakeQuantRef.forward(x, l, scale, zp, r)), bits(Gpu.floats(y, n)), r + " forward " + l);
                    k.fakeQuantBackwardSte(dx, ddy, g, ds, dz, l, r);
                    assertArrayEquals(FakeQuantRef.backwardSte(x, dy, l, scale, zp, r), Gpu.floats(g, n), r + " STE " + l);
                }
            }
        }
    }

    @Test
    void lsqBackward() {
        CudaDevice d = Gpu.requireKernels();
        CudaQuantKernels k = new CudaQuantKernels(d, null);
        for (ChannelLayout l : List.of(ChannelLayout.perTensor(100_003), ChannelLayout.of(new long[] {64, 33, 3, 3}, 0),
                ChannelLayout.of(new long[] {8, 96, 50}, 1))) {
            int n = (int) l.size();
            float[] scale = new float[l.channels()];
            for (int c = 0; c < scale.length; c++) scale[c] = 0.02f + rnd.nextFloat() * 0.05f;
            float[] x = new float[n], dy = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) rnd.nextGaussian() * 3f;
                dy[i] = (float) rnd.nextGaussian();
            }
            float gs = FakeQuantRef.lsqGradScale(n / l.channels(), QRange.INT4);
            float[][] ref = FakeQuantRef.backwardLsq(x, dy, l, scale, null, QRange.INT4, gs);
            try (DeviceBuffer dx = Gpu.up(x);
                 DeviceBuffer ddy = Gpu.up(dy);
                 DeviceBuffer ds = Gpu.up(scale);
                 DeviceBuffer g = Gpu.poisoned(4L * n);
                 DeviceBuffer dsc = Gpu.poisoned(4L * l.channels())) {
                k.fakeQuantBackwardLsq(dx, ddy, g, dsc, ds, null, l, QRange.INT4, gs);
                assertArrayEquals(ref[0], Gpu.floats(g, n), "LSQ dx " + l);
                float[] got = Gpu.floats(dsc, l.channels());
                for (int c = 0; c < got.length; c++) {
                    assertEquals(ref[1][c], got[c], 1e-4 * (Math.abs(ref[1][c]) + 1e-2), "LSQ dscale[" + c + "] " + l);
                }
            }
        }
    }

    @Test
    void calibration() {
        CudaDevice d = Gpu.requireKernels();
        CudaQuantKernels k = new CudaQuantKernels(d, null);
        ChannelLayout l = ChannelLayout.of(new long[] {4, 128, 33}, 1);
        int n = (int) l.size();
        float[] x = data(n, 0.1f);
        x[5] = 1e3f; // no Inf in a calibration test of the max: keep the histogram range finite
        x[7] = -2e3f;
        try (DeviceBuffer dx = Gpu.up(x);
                 DeviceBuffer t = Gpu.poisoned(4);
                 DeviceBuffer c = Gpu.poisoned(4L * l.channels());
                 DeviceBuffer h = DeviceBuffer.allocate(4L * CalibRef.BINS)) {
            k.absMax(dx, t, ChannelLayout.perTensor(n));
            float max = Float.intBitsToFloat(Gpu.ints(t, 1)[0]);
            assertEquals(CalibRef.absMax(x), max);
            k.absMax(dx, c, l);
            int[] cb = Gpu.ints(c, l.channels());
            float[] cm = new float[cb.length];
            for (int i = 0; i < cb.length; i++) cm[i] = Float.intBitsToFloat(cb[i]);
            assertArrayEquals(CalibRef.absMaxPerChannel(x, l), cm);
            CudaMemory.fill(h, 0, 4L * CalibRef.BINS);
            float range = max * 0.5f; // half the values' range: the tail piles into the last bin
            k.histogram(dx, n, range, CalibRef.BINS, h);
            k.histogram(dx, n, range, CalibRef.BINS, h); // accumulates
            long[] ref = CalibRef.histogram(x, range);
            CalibRef.histogram(x, range, ref);
            int[] got = Gpu.ints(h, CalibRef.BINS);
            long[] g = new long[got.length];
            for (int i = 0; i < g.length; i++) g[i] = Integer.toUnsignedLong(got[i]);
            assertArrayEquals(ref, g);
        }
    }

    @Test
    void quantizeDequantizeAndInt4() {
        CudaDevice d = Gpu.requireKernels();
        CudaQuantKernels k = new CudaQuantKernels(d, null);
        ChannelLayout l = ChannelLayout.of(new long[] {65, 2, 9}, 0); // odd element count
        int n = (int) l.size();
        float[] scale = new float[l.channels()];
        int[] zp = new int[l.channels()];
        for (int c = 0; c < scale.length; c++) { scale[c] = 0.05f + rnd.nextFloat() * 0.1f; zp[c] = rnd.nextInt(5) - 2; }
        float[] x = data(n, 0.1f);
        try (DeviceBuffer dx = Gpu.up(x);
                 DeviceBuffer ds = Gpu.up(scale);
                 DeviceBuffer dz = Gpu.up(zp);
                 DeviceBuffer q = Gpu.poisoned(n);
                 DeviceBuffer y = Gpu.poisoned(4L * n);
                 DeviceBuffer p = Gpu.poisoned((n + 1) / 2);
                 DeviceBuffer y4 = Gpu.poisoned(4L * n)) {
            k.quantizePerChannel(dx, q, ds, dz, l, QRange.INT8);
            byte[] qRef = QuantRef.quantizePerChannel(x, l, scale, zp, QRange.INT8);
            assertArrayEquals(qRef, Gpu.bytes(q, n));
            k.dequantizePerChannel(q, y, ds, dz, l, false);
            assertArrayEquals(QuantRef.dequantizePerChannel(qRef, l, scale, zp, false), Gpu.floats(y, n));
            k.quantizeInt4Packed(dx, p, ds, dz, l, QRange.INT4);
            byte[] q4 = QuantRef.quantizePerChannel(x, l, scale, zp, QRange.INT4);
            assertArrayEquals(QuantRef.packInt4(q4), Gpu.bytes(p, (n + 1) / 2));
            k.dequantizeInt4Packed(p, y4, ds, dz, l, true);
            assertArrayEquals(QuantRef.dequantizePerChannel(q4, l, scale, zp, false), Gpu.floats(y4, n));
        }
        int rows = 33, cols = 200, block = 64;
        float[] w = data(rows * cols, 0.1f);
        float[] bs = new float[rows * QuantRef.blocksPerRow(cols, block)];
        for (int i = 0; i < bs.length; i++) bs[i] = 0.01f + rnd.nextFloat() * 0.1f;
        try (DeviceBuffer dw = Gpu.up(w);
                 DeviceBuffer ds = Gpu.up(bs);
                 DeviceBuffer q = Gpu.poisoned((long) rows * cols)) {
            k.quantizeBlocked(dw, q, ds, rows, cols, block, QRange.INT8);
            assertArrayEquals(QuantRef.quantizeBlocked(w, rows, cols, block, bs, QRange.INT8), Gpu.bytes(q, rows * cols));
        }
    }

    @Test
    void sparse24() {
        CudaDevice d = Gpu.requireKernels();
        CudaQuantKernels k = new CudaQuantKernels(d, null);
        int rows = 37, cols = 72;
        float[] x = data(rows * cols, 1f);
        for (int i = 100; i < 140; i++) x[i] = (i % 3) * 0.5f; // ties
        int n = rows * cols, mw = Sparse24Ref.metaWordsPerRow(cols);
        try (DeviceBuffer dx = Gpu.up(x);
                 DeviceBuffer y = Gpu.poisoned(4L * n);
                 DeviceBuffer m = Gpu.poisoned(n);
                 DeviceBuffer v = Gpu.poisoned(2L * n);
                 DeviceBuffer meta = Gpu.poisoned(2L * rows * mw)) {
            k.sparse24Prune(dx, y, m, n);
            assertArrayEquals(bits(Sparse24Ref.prune(x, rows, cols)), bits(Gpu.floats(y, n)));
            assertArrayEquals(Sparse24Ref.mask(x, rows, cols), Gpu.bytes(m, n));
            k.sparse24Compress(dx, v, meta, rows, cols);
            Sparse24Ref.Compressed c = Sparse24Ref.compress(x, rows, cols);
            assertArrayEquals(bits(c.values()), bits(Gpu.floats(v, n / 2)));
            assertArrayEquals(c.meta(), Gpu.shorts(meta, rows * mw));
        }
    }

    @Test
    void int8GemmDenseAndSparse() {
        CudaDevice d = Gpu.requireKernels();
        CudaQuantKernels k = new CudaQuantKernels(d, null);
        for (int[] mnk : new int[][] {{37, 70, 132}, {128, 256, 512}, {1, 5, 4}, {100, 130, 1028}}) {
            int m = mnk[0], n = mnk[1], kk = mnk[2];
            byte[] a = new byte[m * kk], b = new byte[n * kk];
            rnd.nextBytes(a);
            rnd.nextBytes(b);
            float[] s = new float[n], bias = new float[n];
            for (int j = 0; j < n; j++) { s[j] = rnd.nextFloat() * 1e-3f; bias[j] = (float) rnd.nextGaussian(); }
            try (DeviceBuffer da = Gpu.up(a);
                 DeviceBuffer db = Gpu.up(b);
                 DeviceBuffer ds = Gpu.up(s);
                 DeviceBuffer dbias = Gpu.up(bias);
                 DeviceBuffer y = Gpu.poisoned(4L * m * n)) {
                k.int8Gemm(da, db, y, ds, null, m, n, kk);
                assertArrayEquals(bits(Int8GemmRef.gemm(a, b, m, n, kk, s, null)), bits(Gpu.floats(y, m * n)), "dense " + m + "x" + n + "x" + kk);
                k.int8Gemm(da, db, y, ds, dbias, m, n, kk);
                float[] withBias = Int8GemmRef.gemm(a, b, m, n, kk, s, bias);
                assertArrayEquals(bits(withBias), bits(Gpu.floats(y, m * n)), "dense+bias");
                if (d.computeCapability() >= 80) {
                    CudaMemory.fill(y, 0xFF, 4L * m * n);
                    k.int8GemmMma(da, db, y, ds, dbias, m, n, kk);
                    assertArrayEquals(bits(withBias), bits(Gpu.floats(y, m * n)), "tensor-core mma " + m + "x" + n + "x" + kk);
                }
            }
        }
        int m = 45, n = 67, kk = 96;
        float[] w = new float[n * kk];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
        Sparse24Ref.Compressed c = Sparse24Ref.compress(w, n, kk);
        float[] ws = new float[n];
        java.util.Arrays.fill(ws, 0.03f);
        byte[] q = QuantRef.quantizePerChannel(w, ChannelLayout.of(new long[] {n, kk}, 0), ws, null, QRange.INT8_SYMMETRIC);
        byte[] vals = Sparse24Ref.compressValues(q, c.meta(), n, kk);
        byte[] a = new byte[m * kk];
        rnd.nextBytes(a);
        float[] s = new float[n];
        java.util.Arrays.fill(s, 1e-3f);
        try (DeviceBuffer da = Gpu.up(a);
                 DeviceBuffer dv = Gpu.up(vals);
                 DeviceBuffer dm = Gpu.up(c.meta());
                 DeviceBuffer ds = Gpu.up(s);
                 DeviceBuffer y = Gpu.poisoned(4L * m * n)) {
            k.int8GemmSparse24(da, dv, dm, y, ds, null, m, n, kk);
            assertArrayEquals(bits(Int8GemmRef.sparseGemm(a, vals, c.meta(), m, n, kk, s, null)), bits(Gpu.floats(y, m * n)), "sparse 2:4");
        }
    }

    // ---- ops of the CUDA backend vs the CPU backend ----

    private static Graph graph(List<ValueInfo> in, String op, List<String> inputs, Map<String, Attribute> attrs,
                               Map<String, Tensor> inits) {
        Graph.Builder b = Graph.builder().opset("", 17);
        in.forEach(b::addInput);
        b.addOutput(new ValueInfo("y", TensorType.unknown()));
        b.addNode(new Node("n", op, "", inputs, List.of("y"), attrs));
        inits.forEach(b::initializer);
        return b.build();
    }

    private Tensor rand(long... shape) {
        float[] a = new float[(int) Tensor.checkedSize(shape)];
        for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
        return Tensor.of(a, shape);
    }

    private void compareWithCpu(Graph g, Map<String, Tensor> feeds, double tol) {
        Gpu.requireKernels();
        Tensor expected;
        try (Session cpu = Backends.cpu().open(g)) {
            expected = cpu.run(feeds).get("y");
        } catch (ModelException e) {
            Assumptions.abort("the CPU backend cannot run this op yet: " + e.getMessage());
            return;
        } catch (LinkageError e) { // the slim GPU payload (ci/gpu-run.sh) has no ND4J: CudaOnnxNodeTest covers the ops
            Assumptions.abort("the CPU backend (ND4J) is not on the class path: " + e);
            return;
        }
        try (Session gpu = new CudaBackend().open(g)) {
            TensorAssert.assertClose(expected, gpu.run(feeds).get("y"), tol, tol, g.nodes().get(0).opType());
        }
    }

    @Test
    void unaryOpsMatchCpu() {
        for (String op : List.of("Relu", "Sigmoid", "Tanh", "Exp", "Abs", "Neg", "Erf", "Identity")) {
            Tensor x = rand(3, 17, 11);
            compareWithCpu(graph(List.of(new ValueInfo("x", TensorType.of(DType.FLOAT32, 3, 17, 11))), op, List.of("x"), Map.of(), Map.of()),
                    Map.of("x", x), 1e-5);
        }
        Tensor x = rand(1000);
        compareWithCpu(graph(List.of(new ValueInfo("x", TensorType.of(DType.FLOAT32, 1000))), "LeakyRelu", List.of("x"),
                Map.of("alpha", Attribute.of(0.2f)), Map.of()), Map.of("x", x), 1e-6);
    }

    @Test
    void broadcastBinaryOpsMatchCpu() {
        for (String op : List.of("Add", "Sub", "Mul", "Div", "Max", "Min")) {
            Tensor a = rand(2, 3, 4, 5), b = rand(3, 1, 5);
            compareWithCpu(graph(List.of(new ValueInfo("a", TensorType.of(DType.FLOAT32, 2, 3, 4, 5)),
                    new ValueInfo("b", TensorType.of(DType.FLOAT32, 3, 1, 5))), op, List.of("a", "b"), Map.of(), Map.of()),
                    new LinkedHashMap<>(Map.of("a", a, "b", b)), 1e-5);
        }
    }

    @Test
    void matmulGemmConvMatchCpu() {
        Tensor a = rand(4, 33, 65), w = rand(65, 47);
        compareWithCpu(graph(List.of(new ValueInfo("a", TensorType.of(DType.FLOAT32, 4, 33, 65))), "MatMul", List.of("a", "w"),
                Map.of(), Map.of("w", w)), Map.of("a", a), 1e-4);
        Tensor x = rand(16, 64), wt = rand(40, 64), c = rand(40);
        compareWithCpu(graph(List.of(new ValueInfo("x", TensorType.of(DType.FLOAT32, 16, 64))), "Gemm", List.of("x", "w", "c"),
                Map.of("transB", Attribute.of(1L), "alpha", Attribute.of(0.5f)), Map.of("w", wt, "c", c)), Map.of("x", x), 1e-4);
        Tensor img = rand(2, 8, 19, 23), k = rand(12, 4, 3, 3), bias = rand(12);
        Map<String, Attribute> attrs = new LinkedHashMap<>();
        attrs.put("pads", Attribute.of(1L, 1L, 1L, 1L));
        attrs.put("strides", Attribute.of(2L, 1L));
        attrs.put("group", Attribute.of(2L));
        compareWithCpu(graph(List.of(new ValueInfo("x", TensorType.of(DType.FLOAT32, 2, 8, 19, 23))), "Conv", List.of("x", "k", "b"),
                attrs, Map.of("k", k, "b", bias)), Map.of("x", img), 1e-4);
    }

    @Test
    void reshapeAndFlattenMatchCpu() {
        Tensor x = rand(2, 3, 4);
        compareWithCpu(graph(List.of(new ValueInfo("x", TensorType.of(DType.FLOAT32, 2, 3, 4))), "Reshape", List.of("x", "s"),
                Map.of(), Map.of("s", Tensor.of(new long[] {0, -1}, 2))), Map.of("x", x), 0);
        List<String> ops = new ArrayList<>(List.of("Flatten"));
        for (String op : ops) {
            compareWithCpu(graph(List.of(new ValueInfo("x", TensorType.of(DType.FLOAT32, 2, 3, 4))), op, List.of("x"),
                    Map.of("axis", Attribute.of(2L)), Map.of()), Map.of("x", x), 0);
        }
    }
}
