package io.condense.train;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Test helper: builds small graphs, checks tape gradients against central differences and forward values against ONNX Runtime. */
final class GradCheck {
    private final Random rnd;
    final Graph.Builder b = Graph.builder();
    final Map<String, Tensor> feeds = new LinkedHashMap<>();
    private int opset = 20;

    GradCheck(long seed) { rnd = new Random(seed); }

    GradCheck opset(int v) { opset = v; return this; }

    /** A random float tensor with values in [-1, 1) (away from 0 by at least {@code gap} when gap > 0). */
    Tensor random(double gap, long... shape) {
        int n = (int) Tensor.checkedSize(shape);
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            double v;
            do v = rnd.nextDouble() * 2 - 1; while (Math.abs(v) < gap);
            d[i] = (float) v;
        }
        return Tensor.of(d, shape);
    }

    GradCheck input(String name, Tensor t) {
        b.addInput(new ValueInfo(name, TensorType.of(DType.FLOAT32, t.shape())));
        feeds.put(name, t);
        return this;
    }

    GradCheck input(String name, long... shape) { return input(name, random(0, shape)); }

    GradCheck param(String name, Tensor t) { b.initializer(name, t); return this; }

    GradCheck param(String name, long... shape) { return param(name, random(0, shape)); }

    GradCheck ints(String name, long... v) { b.initializer(name, Tensor.of(v, v.length)); return this; }

    /** An INT64 initializer of the given shape. */
    GradCheck intTensor(String name, long[] shape, long... v) { b.initializer(name, Tensor.of(v, shape)); return this; }

    /** A random float tensor with values in [lo, hi). */
    Tensor uniform(double lo, double hi, long... shape) {
        int n = (int) Tensor.checkedSize(shape);
        float[] d = new float[n];
        for (int i = 0; i < n; i++) d[i] = (float) (lo + (hi - lo) * rnd.nextDouble());
        return Tensor.of(d, shape);
    }

    GradCheck node(String op, List<String> in, List<String> out, Object... kv) {
        Map<String, Attribute> a = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            Object v = kv[i + 1];
            Attribute at = v instanceof Long l ? Attribute.of(l) : v instanceof Integer n ? Attribute.of((long) n)
                    : v instanceof Float f ? Attribute.of(f) : v instanceof Double dd ? Attribute.of((float) (double) dd)
                    : v instanceof String s ? Attribute.of(s) : v instanceof long[] ls ? Attribute.of(ls)
                    : v instanceof Tensor t ? Attribute.of(t) : null;
            a.put((String) kv[i], at);
        }
        b.addNode(new Node("", op, "", in, out, a));
        return this;
    }

    GradCheck output(String name) {
        b.addOutput(new ValueInfo(name, new TensorType(DType.FLOAT32, null)));
        return this;
    }

    Graph graph() { return b.opset("", opset).build(); }

    static Map<String, INDArray> nd(Map<String, Tensor> feeds, DataType dt) {
        Map<String, INDArray> m = new HashMap<>();
        for (Map.Entry<String, Tensor> e : feeds.entrySet()) m.put(e.getKey(), Arrays2.toNd(e.getValue(), dt));
        return m;
    }

    /** Compares the tape's float32 inference forward pass with ONNX Runtime (rtol/atol 1e-4). */
    void checkAgainstOrt() throws Exception {
        Graph g = graph();
        Tape tape = new Tape(g);
        Map<String, INDArray> mine = tape.forward(nd(feeds, DataType.FLOAT), false);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(OnnxExporter.toBytes(g), new OrtSession.SessionOptions())) {
            Map<String, OnnxTensor> in = new HashMap<>();
            for (Map.Entry<String, Tensor> e : feeds.entrySet()) {
                in.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(e.getValue().toFloatArray()), e.getValue().shape()));
            }
            try (OrtSession.Result r = s.run(in)) {
                int i = 0;
                for (ValueInfo o : g.outputs()) {
                    OnnxTensor t = (OnnxTensor) r.get(i++);
                    FloatBuffer fb = t.getFloatBuffer();
                    float[] ref = new float[fb.remaining()];
                    fb.get(ref);
                    INDArray a = mine.get(o.name());
                    assertArrayEquals(t.getInfo().getShape(), a.shape(), o.name() + ": shape vs ONNX Runtime");
                    float[] got = Arrays2.toTensor(a, false).toFloatArray();
                    for (int k = 0; k < ref.length; k++) {
                        if (Math.abs(got[k] - ref[k]) > 1e-4 + 1e-4 * Math.abs(ref[k])) {
                            fail(o.name() + "[" + k + "] = " + got[k] + ", ONNX Runtime gives " + ref[k]);
                        }
                    }
                }
            }
            for (OnnxTensor t : in.values()) t.close();
        }
    }

    /**
     * Checks d(sum(w * out))/d(param or input) from the tape against central differences in float64, for every
     * float initializer and graph input. Returns the worst relative error.
     */
    double checkGradients(boolean training) {
        Graph g = graph();
        Tape tape = new Tape(g, n -> true, DataType.DOUBLE, 7);
        for (String in : feeds.keySet()) tape.requireInputGrad(in);
        Map<String, INDArray> x = nd(feeds, DataType.DOUBLE);
        tape.reseed(7);
        Map<String, INDArray> out = tape.forward(x, training);
        Map<String, INDArray> w = new HashMap<>();
        Random r = new Random(11);
        for (Map.Entry<String, INDArray> e : out.entrySet()) {
            INDArray wi = Nd4j.create(DataType.DOUBLE, e.getValue().shape());
            double[] d = new double[(int) wi.length()];
            for (int i = 0; i < d.length; i++) d[i] = r.nextDouble() * 2 - 1;
            w.put(e.getKey(), Nd4j.create(d, e.getValue().shape(), 'c'));
        }
        Map<String, INDArray> grads = tape.backward(w);
        List<String> targets = new ArrayList<>(tape.parameters().keySet());
        targets.addAll(feeds.keySet());
        assertTrue(!targets.isEmpty());
        // the float32 path (which may use different native kernels, e.g. oneDNN) must agree with float64
        Tape f32 = new Tape(g, n -> true, DataType.FLOAT, 7);
        for (String in : feeds.keySet()) f32.requireInputGrad(in);
        f32.reseed(7);
        f32.forward(nd(feeds, DataType.FLOAT), training);
        Map<String, INDArray> w32 = new HashMap<>();
        for (Map.Entry<String, INDArray> e : w.entrySet()) w32.put(e.getKey(), e.getValue().castTo(DataType.FLOAT));
        Map<String, INDArray> g32 = f32.backward(w32);
        for (String name : targets) {
            INDArray a = grads.get(name), b = g32.get(name).castTo(DataType.DOUBLE);
            double rel = a.sub(b).norm2Number().doubleValue() / Math.max(1e-12, a.norm2Number().doubleValue());
            if (!(rel < 1e-3)) fail("float32 gradient of " + name + " differs from float64 by " + rel);
        }
        double worst = 0;
        for (String name : targets) {
            INDArray v = tape.parameters().containsKey(name) ? tape.parameters().get(name) : x.get(name);
            INDArray flat = v.reshape(v.length());
            double[] num = new double[(int) v.length()];
            double eps = 1e-6;
            for (int i = 0; i < num.length; i++) {
                double orig = flat.getDouble(i);
                flat.putScalar(i, orig + eps);
                double lp = loss(tape, x, w, training);
                flat.putScalar(i, orig - eps);
                double lm = loss(tape, x, w, training);
                flat.putScalar(i, orig);
                num[i] = (lp - lm) / (2 * eps);
            }
            double[] ana = grads.get(name).dup('c').reshape(v.length()).toDoubleVector();
            double diff = 0, na = 0, nn = 0;
            for (int i = 0; i < num.length; i++) {
                diff += (ana[i] - num[i]) * (ana[i] - num[i]);
                na += ana[i] * ana[i];
                nn += num[i] * num[i];
            }
            double rel = Math.sqrt(diff) / Math.max(1e-12, Math.max(Math.sqrt(na), Math.sqrt(nn)));
            if (!(rel < 1e-3)) fail("gradient of " + name + ": relative error " + rel + "; analytic " + java.util.Arrays.toString(java.util.Arrays.copyOf(ana, Math.min(6, ana.length))) + " numeric " + java.util.Arrays.toString(java.util.Arrays.copyOf(num, Math.min(6, num.length))));
            assertTrue(Math.sqrt(nn) > 0 || Math.sqrt(na) == 0, name + ": gradient is identically zero");
            worst = Math.max(worst, rel);
        }
        return worst;
    }

    private static double loss(Tape tape, Map<String, INDArray> x, Map<String, INDArray> w, boolean training) {
        tape.reseed(7);
        Map<String, INDArray> out = tape.forward(x, training);
        double s = 0;
        for (Map.Entry<String, INDArray> e : out.entrySet()) s += e.getValue().mul(w.get(e.getKey())).sumNumber().doubleValue();
        return s;
    }
}
