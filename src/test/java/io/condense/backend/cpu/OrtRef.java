package io.condense.backend.cpu;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.condense.OrtTestSupport;
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

    /** Runs {@code g} in ONNX Runtime (one thread, default optimizations) and returns its outputs by name, in graph order. */
    static Map<String, Tensor> ort(Graph g, Map<String, Tensor> feeds) {
        try {
            return OrtTestSupport.run(OnnxExporter.toBytes(g), feeds, 1, OrtSession.SessionOptions.OptLevel.ALL_OPT);
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
            Graph.Builder b = Graph.builder().name(opType.toLowerCase() + "_test").opset("", opset).irVersion(opset >= 19 ? 9 : 8);
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
