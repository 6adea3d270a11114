package io.condense.backend.ort;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.condense.backend.Session;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One graph on ONNX Runtime's CPU provider: exported to ONNX bytes once, opened with all graph optimizations,
 * {@code threads} intra-op threads (0: ORT's default), one inter-op thread and no spinning. Inputs are checked
 * against the graph's declared types before ORT sees them, so errors name the input the way the cpu backend does.
 */
final class OrtGraphSession implements Session {
    private final List<ValueInfo> inputs;
    private final List<ValueInfo> outputs;
    private final Map<String, ValueInfo> byName = new HashMap<>();
    private final OrtEnvironment env;
    private final OrtSession session;

    OrtGraphSession(Graph g, int threads) {
        this.inputs = g.inputs().stream().filter(v -> !g.initializers().containsKey(v.name())).toList();
        this.outputs = List.copyOf(g.outputs());
        for (ValueInfo v : inputs) byName.put(v.name(), v);
        byte[] model = OnnxExporter.toBytes(g); // the graph as it is (bench measures files as given)
        this.env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (threads > 0) o.setIntraOpNumThreads(threads);
            o.setInterOpNumThreads(1);
            o.addConfigEntry("session.intra_op.allow_spinning", "0");
            o.addConfigEntry("session.inter_op.allow_spinning", "0");
            this.session = env.createSession(model, o);
        } catch (OrtException e) {
            throw new ModelException("ONNX Runtime cannot open the model: " + firstLine(e));
        }
    }

    @Override
    public List<ValueInfo> inputs() { return inputs; }

    @Override
    public List<ValueInfo> outputs() { return outputs; }

    @Override
    public Map<String, Tensor> run(Map<String, Tensor> feeds) {
        for (String k : feeds.keySet()) {
            if (!byName.containsKey(k)) throw new ModelException("unknown input '" + k + "' (inputs: "
                    + String.join(", ", inputs.stream().map(ValueInfo::name).toList()) + ")");
        }
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        try {
            for (ValueInfo v : inputs) {
                Tensor t = feeds.get(v.name());
                if (t == null) throw new ModelException("missing input '" + v.name() + "'");
                check(v, t);
                in.put(v.name(), OrtTensors.toOrt(env, t));
            }
            try (OrtSession.Result r = session.run(in)) {
                Map<String, Tensor> out = new LinkedHashMap<>();
                for (ValueInfo o : outputs) {
                    OnnxValue val = r.get(o.name()).orElseThrow(() -> new ModelException("ONNX Runtime returned no output '" + o.name() + "'"));
                    if (!(val instanceof OnnxTensor t)) throw new ModelException("output '" + o.name() + "' is not a tensor");
                    out.put(o.name(), OrtTensors.fromOrt(t));
                }
                return out;
            }
        } catch (OrtException e) {
            throw new ModelException("ONNX Runtime: " + firstLine(e));
        } finally {
            for (OnnxTensor t : in.values()) t.close();
        }
    }

    private static void check(ValueInfo v, Tensor t) {
        TensorType want = v.type();
        if (want.dtype() != null && want.dtype() != t.dtype()) {
            throw new ModelException("input '" + v.name() + "' must be " + want.dtype() + ", got " + t.dtype());
        }
        if (!want.hasRank()) return;
        List<Dim> dims = want.dims();
        boolean ok = dims.size() == t.rank();
        for (int i = 0; ok && i < dims.size(); i++) ok = !dims.get(i).isKnown() || dims.get(i).value() == t.dim(i);
        if (!ok) throw new ModelException("input '" + v.name() + "' must have shape " + want + ", got " + Arrays.toString(t.shape()));
    }

    private static String firstLine(Exception e) {
        return String.valueOf(e.getMessage()).lines().findFirst().orElse("");
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed to close a session: " + firstLine(e), e);
        }
    }
}
