package io.condense.backend.cpu;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.condense.TensorAssert;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Half;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Test reference: runs a graph in ONNX Runtime (Java) and on our CPU backend, and compares one-node models
 * built with {@link Case}. Self-contained (only the IR, the exporter and onnxruntime).
 */
final class OrtRef {
    private OrtRef() {}

    /** Runs {@code g} in ONNX Runtime and returns its outputs by name, in graph order. */
    static Map<String, Tensor> ort(Graph g, Map<String, Tensor> feeds) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            try (OrtSession s = env.createSession(OnnxExporter.toBytes(g), opts)) {
                Map<String, OnnxTensor> in = new LinkedHashMap<>();
                try {
                    for (Map.Entry<String, Tensor> e : feeds.entrySet()) in.put(e.getKey(), toOrt(env, e.getValue()));
                    try (OrtSession.Result r = s.run(in)) {
                        Map<String, Tensor> out = new LinkedHashMap<>();
                        for (Map.Entry<String, OnnxValue> e : r) out.put(e.getKey(), fromOrt((OnnxTensor) e.getValue()));
                        return out;
                    }
                } finally {
                    for (OnnxTensor t : in.values()) t.close();
                }
            }
        } catch (OrtException e) {
            throw new AssertionError("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    /** Runs {@code g} on the CPU backend. */
    static Map<String, Tensor> cpu(Graph g, Map<String, Tensor> feeds) {
        try (Session s = Backends.cpu().open(g)) {
            return s.run(feeds);
        }
    }

    static OnnxTensor toOrt(OrtEnvironment env, Tensor t) throws OrtException {
        long[] shape = t.shape();
        int n = t.size();
        return switch (t.dtype()) {
            case FLOAT32 -> OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap((float[]) t.data()), shape);
            case FLOAT64 -> OnnxTensor.createTensor(env, java.nio.DoubleBuffer.wrap((double[]) t.data()), shape);
            case INT32 -> OnnxTensor.createTensor(env, java.nio.IntBuffer.wrap((int[]) t.data()), shape);
            case INT64 -> OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap((long[]) t.data()), shape);
            case FLOAT16 -> OnnxTensor.createTensor(env, java.nio.ShortBuffer.wrap((short[]) t.data()), shape, OnnxJavaType.FLOAT16);
            case BFLOAT16 -> OnnxTensor.createTensor(env, java.nio.ShortBuffer.wrap((short[]) t.data()), shape, OnnxJavaType.BFLOAT16);
            case INT16 -> OnnxTensor.createTensor(env, java.nio.ShortBuffer.wrap((short[]) t.data()), shape, OnnxJavaType.INT16);
            case INT8 -> OnnxTensor.createTensor(env, ByteBuffer.wrap((byte[]) t.data()), shape, OnnxJavaType.INT8);
            case UINT8 -> OnnxTensor.createTensor(env, ByteBuffer.wrap((byte[]) t.data()), shape, OnnxJavaType.UINT8);
            case BOOL -> OnnxTensor.createTensor(env, ByteBuffer.wrap((byte[]) t.data()), shape, OnnxJavaType.BOOL);
            default -> throw new IllegalArgumentException("no ORT conversion for " + t.dtype() + " (" + n + " elements)");
        };
    }

    static Tensor fromOrt(OnnxTensor o) {
        TensorInfo info = o.getInfo();
        long[] shape = info.getShape();
        DType dt = switch (info.type) {
            case FLOAT -> DType.FLOAT32;
            case DOUBLE -> DType.FLOAT64;
            case INT8 -> DType.INT8;
            case UINT8 -> DType.UINT8;
            case INT16 -> DType.INT16;
            case INT32 -> DType.INT32;
            case INT64 -> DType.INT64;
            case BOOL -> DType.BOOL;
            case FLOAT16 -> DType.FLOAT16;
            case BFLOAT16 -> DType.BFLOAT16;
            default -> throw new IllegalArgumentException("no ORT conversion for " + info.type);
        };
        int n = (int) info.getNumElements();
        Object data = Tensor.allocate(dt, n);
        switch (dt) {
            case FLOAT32 -> o.getFloatBuffer().get((float[]) data);
            case FLOAT64 -> o.getDoubleBuffer().get((double[]) data);
            case INT32 -> o.getIntBuffer().get((int[]) data);
            case INT64 -> o.getLongBuffer().get((long[]) data);
            case FLOAT16, BFLOAT16, INT16, UINT16 -> o.getShortBuffer().get((short[]) data);
            case INT8, UINT8, BOOL -> o.getByteBuffer().order(ByteOrder.nativeOrder()).get((byte[]) data);
            default -> throw new IllegalArgumentException("no ORT conversion for " + dt);
        }
        return Tensor.of(dt, shape, data);
    }

    /** Like TensorAssert.assertClose, but equal infinities match. */
    static void assertClose(Tensor want, Tensor got, double tol, String what) {
        assertEquals(want.dtype(), got.dtype(), what + ": dtype");
        org.junit.jupiter.api.Assertions.assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        boolean exact = !want.dtype().isFloating();
        for (int i = 0; i < want.size(); i++) {
            double e = want.getDouble(i);
            double a = got.getDouble(i);
            if (e == a || Double.isNaN(e) && Double.isNaN(a)) continue;
            if (exact || Math.abs(a - e) > tol + tol * Math.abs(e)) {
                throw new AssertionError(what + ": element " + i + " is " + a + ", expected " + e
                        + " (max abs diff " + TensorAssert.maxAbsDiff(want, got) + ")");
            }
        }
    }

    // ---- test data ----

    static Tensor randn(Random rnd, long... shape) {
        float[] f = new float[(int) Tensor.checkedSize(shape)];
        for (int i = 0; i < f.length; i++) f[i] = (float) rnd.nextGaussian();
        return Tensor.of(f, shape);
    }

    /** Uniform floats in [lo, hi). */
    static Tensor uniform(Random rnd, float lo, float hi, long... shape) {
        float[] f = new float[(int) Tensor.checkedSize(shape)];
        for (int i = 0; i < f.length; i++) f[i] = lo + (hi - lo) * rnd.nextFloat();
        return Tensor.of(f, shape);
    }

    /** {@code t} converted to {@code dt} (floats rounded to nearest-even for fp16, truncated for ints). */
    static Tensor as(Tensor t, DType dt) {
        Tensor r = Tensor.zeros(dt, t.shape());
        for (int i = 0; i < t.size(); i++) {
            double v = t.getDouble(i);
            r.setDouble(i, dt.isFloating() ? v : dt == DType.BOOL ? (v != 0 ? 1 : 0) : (double) (long) v);
        }
        return r;
    }

    static Tensor ints(Random rnd, int lo, int hi, DType dt, long... shape) {
        Tensor r = Tensor.zeros(dt, shape);
        for (int i = 0; i < r.size(); i++) r.setDouble(i, lo + rnd.nextInt(hi - lo));
        return r;
    }

    static Tensor longs(long... v) { return Tensor.of(v, v.length); }

    static Tensor half(float... v) {
        short[] s = new short[v.length];
        for (int i = 0; i < v.length; i++) s[i] = Half.fromFloat(v[i]);
        return Tensor.of(DType.FLOAT16, new long[] {v.length}, s);
    }

    // ---- one-node cases ----

    static Case op(String opType) { return new Case(opType); }

    /** A one-node model: every input is a graph input, compared on ORT and on the CPU backend. */
    static final class Case {
        final String opType;
        int opset = 17;
        final List<String> inNames = new ArrayList<>();
        final Map<String, Tensor> feeds = new LinkedHashMap<>();
        final Map<String, Tensor> inits = new LinkedHashMap<>();
        final Map<String, Attribute> attrs = new LinkedHashMap<>();
        final List<ValueInfo> outs = new ArrayList<>();
        double tol = 1e-5;

        Case(String opType) { this.opType = opType; }

        Case opset(int v) { opset = v; return this; }

        Case in(Tensor t) {
            String n = "in" + inNames.size();
            inNames.add(n);
            feeds.put(n, t);
            return this;
        }

        /** An input held as an initializer (a constant of the model). */
        Case constIn(Tensor t) {
            String n = "in" + inNames.size();
            inNames.add(n);
            inits.put(n, t);
            return this;
        }

        /** An omitted optional input. */
        Case skip() {
            inNames.add("");
            return this;
        }

        Case attr(String k, Attribute v) { attrs.put(k, v); return this; }

        Case attr(String k, long v) { return attr(k, Attribute.of(v)); }

        Case attr(String k, float v) { return attr(k, Attribute.of(v)); }

        Case attr(String k, String v) { return attr(k, Attribute.of(v)); }

        Case attrs(String k, long... v) { return attr(k, Attribute.of(v)); }

        Case out(DType dt) {
            outs.add(new ValueInfo("out" + outs.size(), new TensorType(dt, null)));
            return this;
        }

        Case tol(double t) { tol = t; return this; }

        Graph graph() {
            Graph.Builder b = Graph.builder().name(opType.toLowerCase() + "_test").opset("", opset);
            for (Map.Entry<String, Tensor> e : feeds.entrySet()) {
                b.addInput(new ValueInfo(e.getKey(), e.getValue().type()));
            }
            for (Map.Entry<String, Tensor> e : inits.entrySet()) b.initializer(e.getKey(), e.getValue());
            if (outs.isEmpty()) throw new IllegalStateException("no outputs declared");
            for (ValueInfo o : outs) b.addOutput(o);
            b.addNode(new Node("n0", opType, "", inNames, outs.stream().map(ValueInfo::name).toList(), attrs));
            return b.build();
        }

        /** This case with every {@code from} input and output retyped to {@code to}. */
        Case retyped(DType from, DType to) {
            Case c = new Case(opType);
            c.opset = opset;
            c.tol = tol;
            c.inNames.addAll(inNames);
            feeds.forEach((k, v) -> c.feeds.put(k, v.dtype() == from ? as(v, to) : v));
            inits.forEach((k, v) -> c.inits.put(k, v.dtype() == from ? as(v, to) : v));
            c.attrs.putAll(attrs);
            for (ValueInfo o : outs) {
                c.outs.add(o.type().dtype() == from ? new ValueInfo(o.name(), new TensorType(to, null)) : o);
            }
            return c;
        }

        /**
         * For ops ONNX Runtime implements only in float32: runs this float32 case in ORT, the float64 version on
         * the CPU backend, and compares within the tolerance.
         */
        Map<String, Tensor> checkFloat64ViaFloat32() {
            Map<String, Tensor> want = ort(graph(), feeds);
            Case d = retyped(DType.FLOAT32, DType.FLOAT64);
            Map<String, Tensor> got = cpu(d.graph(), d.feeds);
            for (String k : want.keySet()) {
                Tensor w = want.get(k).dtype() == DType.FLOAT32 ? as(want.get(k), DType.FLOAT64) : want.get(k);
                assertClose(w, got.get(k), tol, opType + "(opset " + opset + ", float64) " + k);
            }
            return got;
        }

        /** Runs on both, asserts equal outputs; returns ours. */
        Map<String, Tensor> check() {
            Graph g = graph();
            Map<String, Tensor> want = ort(g, feeds);
            Map<String, Tensor> got = cpu(g, feeds);
            assertEquals(want.keySet(), got.keySet(), opType + ": outputs");
            for (String k : want.keySet()) {
                assertClose(want.get(k), got.get(k), tol, opType + "(opset " + opset + ") " + k);
            }
            return got;
        }
    }
}
