package io.condense.backend.cpu;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.condense.OrtTestSupport;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxExporter;
import org.junit.jupiter.api.AfterEach;
import org.nd4j.linalg.factory.Nd4j;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One-node models of the NN ops run on the CPU backend and on ONNX Runtime (the reference); outputs must agree
 * within 1e-4 max-abs (float16: within one fp16 rounding step of the reference).
 */
class NnKernelsTest {
    private final Random rnd = new Random(42);

    @AfterEach
    void restore() {
        NnKernels.nd4jConv = NnKernels.DEFAULT_ND4J_CONV;
        NnKernels.directDepthwise = NnKernels.DEFAULT_DIRECT_DEPTHWISE;
        NnKernels.gemmPointwise = true;
        NnKernels.nd4jPool = true;
    }

    /** A pooling op checked on both paths (libnd4j pooling and the generic Java loops). */
    void checkPool(String op, int opset, Map<String, Attribute> attrs, int nOut, Tensor... inputs) throws OrtException {
        NnKernels.nd4jPool = true;
        check(op, opset, attrs, nOut, inputs);
        NnKernels.nd4jPool = false;
        check(op, opset, attrs, nOut, inputs);
        NnKernels.nd4jPool = true;
    }

    // ------------------------------------------------------------------ helpers

    Tensor rand(DType t, long... shape) {
        int n = (int) Tensor.checkedSize(shape);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = rnd.nextDouble() * 2 - 1;
        return Tensor.fromDoubles(t, shape, v);
    }

    Tensor rand(long... shape) { return rand(DType.FLOAT32, shape); }

    Tensor positive(long... shape) {
        float[] v = new float[(int) Tensor.checkedSize(shape)];
        for (int i = 0; i < v.length; i++) v[i] = 0.5f + rnd.nextFloat();
        return Tensor.of(v, shape);
    }

    static Map<String, Attribute> attrs(Object... kv) {
        Map<String, Attribute> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            Object v = kv[i + 1];
            Attribute a;
            if (v instanceof long[] l) a = Attribute.of(l);
            else if (v instanceof Integer n) a = Attribute.of((long) n);
            else if (v instanceof Long n) a = Attribute.of(n);
            else if (v instanceof Float f) a = Attribute.of(f);
            else if (v instanceof Double d) a = Attribute.of(d.floatValue());
            else if (v instanceof String s) a = Attribute.of(s);
            else throw new IllegalArgumentException(String.valueOf(v));
            m.put((String) kv[i], a);
        }
        return m;
    }

    static long[] l(long... v) { return v; }

    /** A one-node model: inputs in0.. (null = omitted optional input), outputs out0... */
    static Graph model(String op, int opset, Map<String, Attribute> attrs, int nOut, Tensor... inputs) {
        OrtRef.Case c = OrtRef.op(op).opset(opset);
        for (Tensor in : inputs) if (in == null) c.skip(); else c.in(in);
        attrs.forEach(c::attr);
        DType t = inputs[0].dtype();
        for (int i = 0; i < nOut; i++) {
            c.out(op.equals("MaxPool") && i == 1 ? DType.INT64
                    : op.equals("LayerNormalization") && i > 0 && (t == DType.FLOAT16 || t == DType.BFLOAT16) ? DType.FLOAT32 : t);
        }
        return c.graph();
    }

    static Map<String, Tensor> feeds(Tensor... inputs) {
        Map<String, Tensor> f = new LinkedHashMap<>();
        for (int i = 0; i < inputs.length; i++) if (inputs[i] != null) f.put("in" + i, inputs[i]);
        return f;
    }

    static List<Tensor> runCpu(Graph g, Map<String, Tensor> feeds) {
        return new ArrayList<>(OrtRef.cpu(g, feeds).values());
    }

    /** ORT (one thread, default optimizations) outputs in graph order. */
    static List<Tensor> runOrt(Graph g, Map<String, Tensor> feeds) throws OrtException {
        return new ArrayList<>(OrtTestSupport.run(OnnxExporter.toBytes(g), feeds, 1, OrtSession.SessionOptions.OptLevel.ALL_OPT).values());
    }

    /** Kept for NnKernelsBench. */
    static OnnxTensor toOrt(OrtEnvironment env, Tensor t) throws OrtException { return OrtTestSupport.toOrt(t); }

    /**
     * Runs op on both engines and asserts agreement; returns the CPU outputs. The reference for float16/bfloat16
     * inputs is ORT's float32 result rounded to the narrow type (the semantics this backend implements); for
     * float64 inputs ORT lacks some kernels, and then its float32 result is the reference.
     */
    List<Tensor> check(String op, int opset, Map<String, Attribute> attrs, int nOut, Tensor... inputs) throws OrtException {
        Graph g = model(op, opset, attrs, nOut, inputs);
        Map<String, Tensor> f = feeds(inputs);
        List<Tensor> got = runCpu(g, f);
        DType t = inputs[0].dtype();
        List<Tensor> ref;
        boolean narrow = t == DType.FLOAT16 || t == DType.BFLOAT16;
        if (narrow) {
            ref = runFloat32(op, opset, attrs, nOut, inputs);
            // and ORT's own narrow-type kernel where it has one, within a few rounding steps
            List<Tensor> own = null;
            try {
                own = runOrt(g, f);
            } catch (OrtException e) {
                if (!String.valueOf(e.getMessage()).contains("NOT_IMPLEMENTED")) throw e;
            }
            if (own != null) compare(op + " (ORT " + t + " kernel)", attrs, own, got, 8);
        } else {
            try {
                ref = runOrt(g, f);
            } catch (OrtException e) {
                if (t != DType.FLOAT64 || !String.valueOf(e.getMessage()).contains("NOT_IMPLEMENTED")) throw e;
                ref = runFloat32(op, opset, attrs, nOut, inputs);
            }
        }
        compare(op, attrs, ref, got, 1);
        return got;
    }

    /** ORT on the inputs cast to float32, outputs cast back to the input's float type. */
    static List<Tensor> runFloat32(String op, int opset, Map<String, Attribute> attrs, int nOut, Tensor... inputs) throws OrtException {
        DType t = inputs[0].dtype();
        Tensor[] f32 = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            Tensor in = inputs[i];
            f32[i] = in == null || !in.dtype().isFloating() ? in : Tensor.fromDoubles(DType.FLOAT32, in.shape(), in.toDoubleArray());
        }
        List<Tensor> r = runOrt(model(op, opset, attrs, nOut, f32), feeds(f32));
        List<Tensor> out = new ArrayList<>();
        DType t2 = op.equals("LayerNormalization") && t != DType.FLOAT64 ? DType.FLOAT32 : t;
        for (int i = 0; i < r.size(); i++) {
            Tensor o = r.get(i);
            DType target = !o.dtype().isFloating() ? o.dtype() : i == 0 ? t : t2;
            out.add(o.dtype() == target ? o : Tensor.fromDoubles(target, o.shape(), o.toDoubleArray()));
        }
        return out;
    }

    /** Max-abs difference within 1e-4 (within {@code steps} rounding steps for float16/bfloat16 outputs). */
    static void compare(String op, Map<String, Attribute> attrs, List<Tensor> ref, List<Tensor> got, int steps) {
        assertEquals(ref.size(), got.size(), op + ": output count");
        for (int i = 0; i < ref.size(); i++) {
            Tensor e = ref.get(i), a = got.get(i);
            String what = op + " " + attrs + " output " + i;
            assertEquals(e.dtype(), a.dtype(), what + ": dtype");
            assertArrayEquals(e.shape(), a.shape(), what + ": shape " + Arrays.toString(a.shape()) + " vs ORT " + Arrays.toString(e.shape()));
            for (int j = 0; j < e.size(); j++) {
                double ev = e.getDouble(j), av = a.getDouble(j);
                double d = Math.abs(ev - av);
                double ulp = e.dtype() == DType.FLOAT16 ? Math.max(Math.abs(ev), 6.1e-5) / 1024
                        : e.dtype() == DType.BFLOAT16 ? Math.max(Math.abs(ev), 1e-30) / 128 : 0;
                double tol = !e.dtype().isFloating() ? 0 : Math.max(1e-4, steps * ulp);
                assertTrue(d <= tol, what + ": element " + j + " is " + av + ", ORT " + ev);
            }
        }
    }

    /** Conv checked on both convolution paths (libnd4j conv2d and generic im2col). */
    void checkConv(Map<String, Attribute> attrs, Tensor... inputs) throws OrtException {
        for (int path = 0; path < 4; path++) {
            NnKernels.nd4jConv = path != 1;
            NnKernels.directDepthwise = path == 2;
            NnKernels.gemmPointwise = path != 3;
            NnKernels.im2colFewChannels = path != 0;
            check("Conv", 13, attrs, 1, inputs);
        }
        restore();
    }

    // ------------------------------------------------------------------ Conv

    @Test
    void conv2dPadsStridesDilations() throws OrtException {
        Tensor x = rand(2, 3, 11, 10), w = rand(4, 3, 3, 3), b = rand(4);
        checkConv(attrs(), x, w, b);
        checkConv(attrs("pads", l(1, 1, 1, 1)), x, w, b);
        checkConv(attrs("pads", l(0, 1, 2, 1), "strides", l(2, 1)), x, w, b);
        checkConv(attrs("pads", l(2, 2, 2, 2), "dilations", l(2, 3), "strides", l(1, 2)), x, w, b);
        checkConv(attrs("kernel_shape", l(3, 3), "pads", l(1, 0, 0, 2)), x, w, null);
    }

    @Test
    void conv2dAutoPad() throws OrtException {
        Tensor x = rand(1, 3, 9, 8), w = rand(5, 3, 4, 3), b = rand(5);
        for (String p : List.of("SAME_UPPER", "SAME_LOWER", "VALID")) {
            checkConv(attrs("auto_pad", p), x, w, b);
            checkConv(attrs("auto_pad", p, "strides", l(2, 3)), x, w, b);
        }
        checkConv(attrs("auto_pad", "VALID", "strides", l(2, 2), "dilations", l(2, 1)), x, w, null);
    }

    @Test
    void conv2dGroupsAndDepthwise() throws OrtException {
        Tensor x = rand(2, 6, 8, 7);
        checkConv(attrs("group", 2, "pads", l(1, 1, 1, 1)), x, rand(4, 3, 3, 3), rand(4));
        checkConv(attrs("group", 3, "strides", l(2, 2)), x, rand(6, 2, 3, 2), null);
        // depthwise, multiplier 1 and 2
        checkConv(attrs("group", 6, "pads", l(1, 1, 1, 1)), x, rand(6, 1, 3, 3), rand(6));
        checkConv(attrs("group", 6, "pads", l(0, 1, 2, 1), "strides", l(2, 1), "dilations", l(1, 2)), x, rand(12, 1, 3, 3), rand(12));
        checkConv(attrs("group", 6, "auto_pad", "SAME_UPPER", "strides", l(2, 2)), x, rand(6, 1, 5, 5), null);
        checkConv(attrs("group", 6, "pads", l(3, 0, 1, 4), "strides", l(3, 2), "dilations", l(2, 3)), x, rand(6, 1, 2, 3), rand(6));
        checkConv(attrs("group", 6, "pads", l(1, 1, 1, 1), "strides", l(1, 3)), rand(DType.FLOAT64, 1, 6, 5, 9), rand(DType.FLOAT64, 12, 1, 3, 3), rand(DType.FLOAT64, 12));
    }

    @Test
    void conv1dAnd3dAndPointwise() throws OrtException {
        checkConv(attrs("pads", l(1, 2), "strides", l(2)), rand(2, 3, 17), rand(4, 3, 5), rand(4));
        checkConv(attrs("group", 3, "dilations", l(3)), rand(1, 3, 20), rand(6, 1, 3), null);
        checkConv(attrs("group", 3, "pads", l(2, 1), "strides", l(3)), rand(2, 3, 20), rand(3, 1, 4), rand(3));
        checkConv(attrs("pads", l(1, 0, 1, 1, 2, 0), "strides", l(1, 2, 1)), rand(1, 2, 5, 6, 7), rand(3, 2, 3, 3, 2), rand(3));
        checkConv(attrs("group", 2, "auto_pad", "SAME_LOWER", "strides", l(1, 2, 1)), rand(2, 4, 4, 5, 6), rand(4, 2, 2, 2, 3), null);
        checkConv(attrs(), rand(2, 8, 5, 6), rand(16, 8, 1, 1), rand(16)); // 1x1
        checkConv(attrs("strides", l(2, 2)), rand(1, 8, 5, 6), rand(4, 8, 1, 1), null);
    }

    @Test
    void convFloat64AndFloat16() throws OrtException {
        checkConv(attrs("pads", l(1, 0, 1, 2), "group", 2), rand(DType.FLOAT64, 1, 4, 7, 6), rand(DType.FLOAT64, 4, 2, 3, 3), rand(DType.FLOAT64, 4));
        checkConv(attrs("pads", l(1, 1, 1, 1)), rand(DType.FLOAT16, 1, 4, 9, 9), rand(DType.FLOAT16, 8, 4, 3, 3), rand(DType.FLOAT16, 8));
        checkConv(attrs("group", 4, "pads", l(1, 1, 1, 1), "strides", l(2, 2)), rand(DType.FLOAT16, 1, 4, 9, 9), rand(DType.FLOAT16, 4, 1, 3, 3), null);
    }

    @Test
    void convErrors() {
        Graph g = model("Conv", 13, attrs("group", 2), 1, rand(1, 3, 5, 5), rand(4, 3, 3, 3));
        ModelException e = assertThrows(ModelException.class, () -> runCpu(g, feeds(rand(1, 3, 5, 5), rand(4, 3, 3, 3))));
        assertTrue(e.getMessage().contains("channels"), e.getMessage());
    }

    /** The oneDNN build is loaded exactly when NativeSetup chose its platform extension. */
    @Test
    void nativeBuild() {
        NativeSetup.init();
        boolean chosen = NativeSetup.extension().equals(NativeSetup.ONEDNN);
        assertEquals(chosen, NativeSetup.onednnLoaded(), "extension '" + NativeSetup.extension() + "'");
        if (System.getProperty("condense.test.expectOnednn") != null) {
            assertEquals(Boolean.getBoolean("condense.test.expectOnednn"), NativeSetup.onednnLoaded());
        }
    }

    /** The libnd4j fast paths must really run (not silently fall back) for plain geometries, and agree with the loops. */
    @Test
    void fastPathsAreTaken() {
        org.nd4j.linalg.api.ndarray.INDArray x = Nd.toNd(rand(2, 4, 9, 8)), w = Nd.toNd(rand(6, 4, 3, 3)), dw = Nd.toNd(rand(8, 1, 3, 3));
        Node conv = Node.of("Conv", List.of("x", "w"), List.of("y"), attrs("pads", l(1, 0, 1, 2), "strides", l(2, 1)));
        OpContext c = new OpContext(conv, 13, new org.nd4j.linalg.api.ndarray.INDArray[] {x, w}, new DType[2]);
        ConvOps.Geo g = ConvOps.forward(c, x.shape(), l(3, 3), false);
        assertClose(ConvOps.conv(x, w, null, g, 1), NnKernels.nd4jConv(x, w, null, g, 1));
        assertClose(ConvOps.conv(x, dw, null, g, 4), NnKernels.nd4jConv(x, dw, null, g, 4));
        Node pool = Node.of("MaxPool", List.of("x"), List.of("y"), attrs("kernel_shape", l(3, 3), "pads", l(1, 1, 1, 1), "strides", l(2, 2)));
        OpContext pc = new OpContext(pool, 12, new org.nd4j.linalg.api.ndarray.INDArray[] {x}, new DType[1]);
        ConvOps.Geo pg = ConvOps.forward(pc, x.shape(), l(3, 3), false);
        for (boolean max : new boolean[] {true, false}) {
            org.nd4j.linalg.api.ndarray.INDArray fast = NnKernels.nd4jPool(x, pg, max, false);
            assertTrue(fast != null, "libnd4j pooling not used");
            assertClose(ConvOps.pool(x, pg, max, false, false, 0).y(), fast);
        }
        // batchnorm op (no silent fallback): compare with the formula
        org.nd4j.linalg.api.ndarray.INDArray x3 = x.reshape('c', 2, 4, 72);
        org.nd4j.linalg.api.ndarray.INDArray m = Nd.toNd(rand(4)), v = Nd.toNd(positive(4)), s = Nd.toNd(rand(4)), b = Nd.toNd(rand(4));
        org.nd4j.linalg.api.ndarray.INDArray bn = Nd4j.exec(new org.nd4j.linalg.api.ops.impl.layers.convolution.BatchNorm(x3, m, v, s, b, 1e-3, 1))[0];
        float[] xf = ConvOps.floatsOf(x3), mf = ConvOps.floatsOf(m), vf = ConvOps.floatsOf(v), sf = ConvOps.floatsOf(s), bf = ConvOps.floatsOf(b);
        float[] ef = new float[xf.length];
        for (int i = 0; i < xf.length; i++) {
            int ch = (i / 72) % 4;
            ef[i] = (float) ((xf[i] - mf[ch]) / Math.sqrt(vf[ch] + 1e-3) * sf[ch] + bf[ch]);
        }
        assertClose(ConvOps.wrap(ef, 2, 4, 72), bn);
    }

    static void assertClose(org.nd4j.linalg.api.ndarray.INDArray e, org.nd4j.linalg.api.ndarray.INDArray a) {
        assertArrayEquals(e.shape(), a.shape());
        double d = e.sub(a).amaxNumber().doubleValue();
        assertTrue(d <= 1e-4, "max abs diff " + d);
    }

    // ------------------------------------------------------------------ ConvTranspose

    @Test
    void convTranspose() throws OrtException {
        Tensor x = rand(2, 3, 5, 4), w = rand(3, 2, 3, 3), b = rand(2);
        check("ConvTranspose", 11, attrs(), 1, x, w, b);
        check("ConvTranspose", 11, attrs("strides", l(2, 2), "pads", l(1, 0, 1, 1)), 1, x, w, b);
        check("ConvTranspose", 11, attrs("strides", l(3, 2), "output_padding", l(1, 1)), 1, x, w, null);
        check("ConvTranspose", 11, attrs("strides", l(2, 2), "dilations", l(2, 1), "pads", l(1, 1, 0, 2)), 1, x, w, b);
        check("ConvTranspose", 11, attrs("strides", l(2, 2), "output_shape", l(10, 8)), 1, x, w, b);
        check("ConvTranspose", 11, attrs("strides", l(2, 2), "output_shape", l(12, 9)), 1, x, w, b);
        check("ConvTranspose", 11, attrs("group", 3), 1, rand(1, 6, 4, 4), rand(6, 2, 2, 3), rand(6));
        check("ConvTranspose", 11, attrs("strides", l(2)), 1, rand(1, 2, 7), rand(2, 3, 4), rand(3));
        check("ConvTranspose", 11, attrs("strides", l(2, 1, 2)), 1, rand(1, 2, 3, 4, 3), rand(2, 2, 2, 2, 3), null);
        check("ConvTranspose", 11, attrs("pads", l(1, 1, 1, 1)), 1, rand(DType.FLOAT64, 1, 2, 4, 4), rand(DType.FLOAT64, 2, 2, 3, 3), null);
    }

    @Test
    void convTransposeAutoPad() throws OrtException {
        Tensor x = rand(1, 2, 4, 5), w = rand(2, 3, 3, 3);
        check("ConvTranspose", 11, attrs("auto_pad", "SAME_UPPER", "strides", l(2, 2)), 1, x, w);
        check("ConvTranspose", 11, attrs("auto_pad", "SAME_LOWER", "strides", l(2, 2)), 1, x, w);
        check("ConvTranspose", 11, attrs("auto_pad", "VALID", "strides", l(2, 1)), 1, x, w);
    }

    // ------------------------------------------------------------------ Gemm / MatMul

    @Test
    void gemm() throws OrtException {
        Tensor a = rand(4, 5), bt = rand(6, 5), b = rand(5, 6), at = rand(5, 4);
        check("Gemm", 13, attrs(), 1, a, b);
        check("Gemm", 13, attrs("transA", 1, "transB", 1, "alpha", 0.5f, "beta", 2f), 1, at, bt, rand(4, 6));
        check("Gemm", 13, attrs("transB", 1, "beta", -1.5f), 1, a, bt, rand(6));
        check("Gemm", 13, attrs("transA", 1), 1, at, b, rand(4, 1));
        check("Gemm", 13, attrs("alpha", 3f), 1, a, b, rand(1, 6));
        check("Gemm", 13, attrs(), 1, a, b, rand(DType.FLOAT32));
        check("Gemm", 7, attrs("beta", 0.25f), 1, a, b, rand(6));
        check("Gemm", 11, attrs("transB", 1), 1, rand(DType.FLOAT64, 3, 5), rand(DType.FLOAT64, 2, 5), rand(DType.FLOAT64, 2));
        check("Gemm", 13, attrs("transB", 1), 1, rand(DType.FLOAT16, 3, 8), rand(DType.FLOAT16, 2, 8), rand(DType.FLOAT16, 2));
    }

    @Test
    void matmul() throws OrtException {
        matmulCases();
        NnKernels.batchedMatmul = false;
        matmulCases();
    }

    void matmulCases() throws OrtException {
        check("MatMul", 13, attrs(), 1, rand(3, 4), rand(4, 5));
        check("MatMul", 13, attrs(), 1, rand(4), rand(4, 5));
        check("MatMul", 13, attrs(), 1, rand(3, 4), rand(4));
        check("MatMul", 13, attrs(), 1, rand(4), rand(4));
        check("MatMul", 13, attrs(), 1, rand(2, 3, 4), rand(4, 5));
        check("MatMul", 13, attrs(), 1, rand(2, 3, 4), rand(2, 4, 5));
        check("MatMul", 13, attrs(), 1, rand(2, 1, 3, 4), rand(5, 4, 2));
        check("MatMul", 13, attrs(), 1, rand(3, 4), rand(2, 4, 5));
        check("MatMul", 13, attrs(), 1, rand(4), rand(2, 3, 4, 5));
        check("MatMul", 13, attrs(), 1, rand(2, 3, 3, 4), rand(4));
        check("MatMul", 13, attrs(), 1, rand(DType.FLOAT64, 2, 3, 4), rand(DType.FLOAT64, 2, 4, 5));
        check("MatMul", 13, attrs(), 1, rand(DType.FLOAT16, 2, 3, 16), rand(DType.FLOAT16, 16, 5));
    }

    // ------------------------------------------------------------------ pooling

    @Test
    void maxPool() throws OrtException {
        Tensor x = rand(2, 3, 9, 8);
        checkPool("MaxPool", 12, attrs("kernel_shape", l(3, 3)), 1, x);
        checkPool("MaxPool", 12, attrs("kernel_shape", l(3, 2), "strides", l(2, 2), "pads", l(1, 0, 1, 1)), 1, x);
        checkPool("MaxPool", 12, attrs("kernel_shape", l(3, 3), "strides", l(2, 2), "ceil_mode", 1), 1, x);
        checkPool("MaxPool", 12, attrs("kernel_shape", l(2, 2), "strides", l(2, 2), "pads", l(1, 1, 1, 1), "ceil_mode", 1), 1, x);
        checkPool("MaxPool", 12, attrs("kernel_shape", l(2, 3), "dilations", l(2, 2), "strides", l(1, 2)), 1, x);
        for (String p : List.of("SAME_UPPER", "SAME_LOWER", "VALID")) {
            checkPool("MaxPool", 12, attrs("kernel_shape", l(3, 2), "strides", l(2, 3), "auto_pad", p), 1, x);
        }
        checkPool("MaxPool", 12, attrs("kernel_shape", l(3), "strides", l(2), "pads", l(1, 1)), 1, rand(2, 3, 10));
        checkPool("MaxPool", 12, attrs("kernel_shape", l(2, 2, 2), "strides", l(2, 1, 2)), 1, rand(1, 2, 5, 4, 6));
        checkPool("MaxPool", 12, attrs("kernel_shape", l(3, 3), "strides", l(2, 2)), 1, rand(DType.FLOAT64, 1, 2, 7, 7));
        checkPool("MaxPool", 12, attrs("kernel_shape", l(3, 3), "strides", l(2, 2), "ceil_mode", 1), 1, rand(DType.FLOAT16, 1, 4, 13, 13));
    }

    @Test
    void maxPoolIndices() throws OrtException {
        Tensor x = rand(2, 3, 7, 6);
        check("MaxPool", 12, attrs("kernel_shape", l(3, 3), "strides", l(2, 2), "pads", l(1, 1, 1, 1)), 2, x);
        check("MaxPool", 12, attrs("kernel_shape", l(2, 2), "storage_order", 1), 2, x);
    }

    @Test
    void averagePool() throws OrtException {
        Tensor x = rand(2, 3, 9, 8);
        checkPool("AveragePool", 11, attrs("kernel_shape", l(3, 3)), 1, x);
        for (int cip = 0; cip <= 1; cip++) {
            checkPool("AveragePool", 11, attrs("kernel_shape", l(3, 3), "pads", l(1, 1, 1, 1), "count_include_pad", cip), 1, x);
            checkPool("AveragePool", 11, attrs("kernel_shape", l(3, 2), "pads", l(2, 0, 1, 1), "strides", l(2, 2), "count_include_pad", cip), 1, x);
            checkPool("AveragePool", 11, attrs("kernel_shape", l(3, 3), "strides", l(2, 2), "ceil_mode", 1, "count_include_pad", cip), 1, x);
            checkPool("AveragePool", 11, attrs("kernel_shape", l(2, 2), "strides", l(2, 2), "pads", l(1, 1, 1, 1), "ceil_mode", 1, "count_include_pad", cip), 1, x);
            checkPool("AveragePool", 11, attrs("kernel_shape", l(3, 3), "strides", l(2, 2), "auto_pad", "SAME_UPPER", "count_include_pad", cip), 1, x);
            checkPool("AveragePool", 19, attrs("kernel_shape", l(2, 2), "dilations", l(2, 2), "pads", l(1, 1, 1, 1), "count_include_pad", cip), 1, x);
        }
        checkPool("AveragePool", 11, attrs("kernel_shape", l(4), "strides", l(3), "pads", l(1, 2)), 1, rand(1, 2, 11));
        checkPool("AveragePool", 11, attrs("kernel_shape", l(2, 2, 2)), 1, rand(DType.FLOAT64, 1, 2, 4, 3, 5));
    }

    @Test
    void globalPools() throws OrtException {
        check("GlobalAveragePool", 13, attrs(), 1, rand(2, 3, 5, 4));
        check("GlobalMaxPool", 13, attrs(), 1, rand(2, 3, 5, 4));
        check("GlobalAveragePool", 13, attrs(), 1, rand(1, 3, 7));
        check("GlobalMaxPool", 13, attrs(), 1, rand(DType.FLOAT64, 1, 3, 2, 3, 4));
        check("GlobalAveragePool", 13, attrs(), 1, rand(DType.FLOAT16, 1, 8, 13, 13));
    }

    // ------------------------------------------------------------------ normalization

    @Test
    void batchNorm() throws OrtException {
        Tensor x = rand(2, 3, 4, 5);
        check("BatchNormalization", 15, attrs("epsilon", 1e-3f), 1, x, rand(3), rand(3), rand(3), positive(3));
        check("BatchNormalization", 14, attrs(), 1, rand(4, 3), rand(3), rand(3), rand(3), positive(3));
        check("BatchNormalization", 9, attrs(), 1, rand(2, 3, 7), rand(3), rand(3), rand(3), positive(3));
        check("BatchNormalization", 7, attrs(), 1, x, rand(3), rand(3), rand(3), positive(3));
        check("BatchNormalization", 15, attrs(), 1, rand(DType.FLOAT64, 1, 2, 3, 3), rand(DType.FLOAT64, 2),
                rand(DType.FLOAT64, 2), rand(DType.FLOAT64, 2), rand(DType.FLOAT64, 2).reshape(2));
        Tensor v16 = Tensor.fromDoubles(DType.FLOAT16, l(4), new double[] {0.5, 1, 1.5, 2});
        check("BatchNormalization", 15, attrs(), 1, rand(DType.FLOAT16, 1, 4, 5, 5), rand(DType.FLOAT16, 4),
                rand(DType.FLOAT16, 4), rand(DType.FLOAT16, 4), v16);
    }

    @Test
    void batchNormTrainingIsRejected() {
        Tensor x = rand(2, 3, 4, 5);
        Tensor[] in = {x, rand(3), rand(3), rand(3), positive(3)};
        Graph g = model("BatchNormalization", 15, attrs("training_mode", 1), 1, in);
        ModelException e = assertThrows(ModelException.class, () -> runCpu(g, feeds(in)));
        assertTrue(e.getMessage().contains("training_mode"), e.getMessage());
    }

    @Test
    void layerNorm() throws OrtException {
        Tensor x = rand(2, 3, 8);
        check("LayerNormalization", 17, attrs(), 1, x, rand(8), rand(8));
        check("LayerNormalization", 17, attrs("axis", 1, "epsilon", 1e-3f), 1, x, rand(3, 8), rand(3, 8));
        check("LayerNormalization", 17, attrs("axis", -2), 3, x, rand(3, 8));
        check("LayerNormalization", 17, attrs(), 3, x, rand(8), rand(8));
        check("LayerNormalization", 17, attrs(), 1, rand(DType.FLOAT64, 4, 6), rand(DType.FLOAT64, 6), rand(DType.FLOAT64, 6));
        check("LayerNormalization", 17, attrs(), 1, rand(DType.FLOAT16, 2, 5, 16), rand(DType.FLOAT16, 16), rand(DType.FLOAT16, 16));
    }

    @Test
    void instanceNorm() throws OrtException {
        check("InstanceNormalization", 6, attrs(), 1, rand(2, 3, 4, 5), rand(3), rand(3));
        check("InstanceNormalization", 6, attrs("epsilon", 1e-2f), 1, rand(1, 4, 9), rand(4), rand(4));
        check("InstanceNormalization", 6, attrs(), 1, rand(DType.FLOAT64, 2, 2, 3, 3), rand(DType.FLOAT64, 2), rand(DType.FLOAT64, 2));
    }

    @Test
    void lrn() throws OrtException {
        Tensor x = rand(2, 7, 4, 5);
        check("LRN", 13, attrs("size", 3), 1, x);
        check("LRN", 13, attrs("size", 5, "alpha", 0.01f, "beta", 0.5f, "bias", 2f), 1, x); // ORT requires odd sizes
        check("LRN", 13, attrs("size", 5), 1, rand(1, 3, 6, 1));
        check("LRN", 13, attrs("size", 3), 1, rand(DType.FLOAT64, 1, 5, 3, 3));
    }
}
