package io.condense;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The tests' one bridge to ONNX Runtime (Java), the reference executor: {@link Tensor} <-> {@link OnnxTensor}
 * conversion, sessions with a given thread count and optimization level (spinning disabled so idle ORT threads do
 * not burn the shared cores), and runs with condense tensors in and out.
 */
public final class OrtTestSupport {
    private OrtTestSupport() {}

    public static OrtEnvironment env() { return OrtEnvironment.getEnvironment(); }

    /** Session options: {@code intraThreads} intra-op threads, one inter-op thread, no spinning, the given level. */
    public static OrtSession.SessionOptions options(int intraThreads, OrtSession.SessionOptions.OptLevel level) throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        try {
            o.setOptimizationLevel(level);
            o.setIntraOpNumThreads(intraThreads);
            o.setInterOpNumThreads(1);
            o.addConfigEntry("session.intra_op.allow_spinning", "0");
            o.addConfigEntry("session.inter_op.allow_spinning", "0");
            return o;
        } catch (OrtException e) {
            o.close();
            throw e;
        }
    }

    /** A session on the model bytes with {@link #options}. */
    public static OrtSession session(byte[] model, int intraThreads, OrtSession.SessionOptions.OptLevel level) throws OrtException {
        try (OrtSession.SessionOptions o = options(intraThreads, level)) {
            return env().createSession(model, o);
        }
    }

    /** Runs an open session; outputs in the model's output order. */
    public static Map<String, Tensor> run(OrtSession s, Map<String, Tensor> feeds) throws OrtException {
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Tensor> e : feeds.entrySet()) in.put(e.getKey(), toOrt(e.getValue()));
            try (OrtSession.Result r = s.run(in)) {
                Map<String, Tensor> out = new LinkedHashMap<>();
                for (String name : s.getOutputNames()) {
                    OnnxValue v = r.get(name).orElseThrow();
                    out.put(name, fromOrt((OnnxTensor) v));
                }
                return out;
            }
        } finally {
            for (OnnxTensor t : in.values()) t.close();
        }
    }

    /** One run on a fresh session (ORT's errors as {@link OrtException}). */
    public static Map<String, Tensor> run(byte[] model, Map<String, Tensor> feeds, int intraThreads,
                                          OrtSession.SessionOptions.OptLevel level) throws OrtException {
        try (OrtSession s = session(model, intraThreads, level)) {
            return run(s, feeds);
        }
    }

    /**
     * Runs the model bytes on ORT's CPU provider (single thread, all graph optimizations off so the
     * original graph is what runs); outputs in the model's output order.
     */
    public static Map<String, Tensor> run(byte[] model, Map<String, Tensor> feeds) {
        return run(model, feeds, OrtSession.SessionOptions.OptLevel.NO_OPT);
    }

    /** As {@link #run(byte[], Map)} with the given graph optimization level. */
    public static Map<String, Tensor> run(byte[] model, Map<String, Tensor> feeds, OrtSession.SessionOptions.OptLevel level) {
        try {
            return run(model, feeds, 1, level);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    /** The input names and types ORT reports for a model. */
    public static Map<String, TensorInfo> inputs(byte[] model) {
        try (OrtSession s = env().createSession(model, new OrtSession.SessionOptions())) {
            Map<String, TensorInfo> m = new LinkedHashMap<>();
            for (Map.Entry<String, NodeInfo> e : s.getInputInfo().entrySet()) m.put(e.getKey(), (TensorInfo) e.getValue().getInfo());
            return m;
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    /** Delegates to the ort backend's converter ({@link io.condense.backend.ort.OrtTensors}): one place for it. */
    public static OnnxTensor toOrt(Tensor t) throws OrtException { return io.condense.backend.ort.OrtTensors.toOrt(env(), t); }

    public static Tensor fromOrt(OnnxTensor v) {
        try {
            return io.condense.backend.ort.OrtTensors.fromOrt(v);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    /**
     * A seeded random input for each graph input: symbolic or unknown dims become {@code dynamicSize};
     * floats uniform in [-1, 1), integers in [0, intBound).
     */
    public static Map<String, Tensor> randomInputs(List<ValueInfo> inputs, long seed, long dynamicSize, long intBound) {
        Random r = new Random(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (ValueInfo v : inputs) {
            TensorType t = v.type();
            List<Long> shape = new ArrayList<>();
            for (Dim d : t.dims()) shape.add(d.isKnown() ? d.value() : dynamicSize);
            long[] s = shape.stream().mapToLong(Long::longValue).toArray();
            Tensor x = Tensor.zeros(t.dtype(), s);
            for (int i = 0; i < x.size(); i++) {
                if (t.dtype().isFloating()) x.setDouble(i, r.nextFloat() * 2 - 1);
                else if (t.dtype() == DType.BOOL) x.setDouble(i, r.nextBoolean() ? 1 : 0);
                else x.setDouble(i, Math.min(r.nextInt((int) Math.max(1, intBound)), t.dtype().maxValue()));
            }
            m.put(v.name(), x);
        }
        return m;
    }

    /** Max |a-b| over two output maps with the same keys (asserting equal dtypes and shapes). */
    public static double maxAbsDiff(Map<String, Tensor> a, Map<String, Tensor> b) {
        double m = 0;
        for (Map.Entry<String, Tensor> e : a.entrySet()) {
            Tensor x = e.getValue(), y = b.get(e.getKey());
            if (y == null) throw new AssertionError("missing output " + e.getKey());
            if (x.dtype() != y.dtype() || !java.util.Arrays.equals(x.shape(), y.shape())) {
                throw new AssertionError("output " + e.getKey() + ": " + x.type() + " vs " + y.type());
            }
            m = Math.max(m, TensorAssert.maxAbsDiff(x, y));
        }
        return m;
    }
}
