package io.condense;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.condense.ir.Tensor;

import java.util.Map;

/**
 * A reusable ONNX Runtime session on one model (all cores, ORT's default optimizations), IR tensors in and out;
 * the work is done by {@link OrtTestSupport}.
 */
public final class OrtReference implements AutoCloseable {
    private final OrtSession session;

    public OrtReference(byte[] model) throws OrtException {
        this.session = OrtTestSupport.session(model, Runtime.getRuntime().availableProcessors(),
                OrtSession.SessionOptions.OptLevel.ALL_OPT);
    }

    /** One-shot convenience. */
    public static Map<String, Tensor> run(byte[] model, Map<String, Tensor> feeds) throws OrtException {
        try (OrtReference r = new OrtReference(model)) {
            return r.run(feeds);
        }
    }

    public OrtSession session() { return session; }

    public Map<String, Tensor> run(Map<String, Tensor> feeds) throws OrtException {
        return OrtTestSupport.run(session, feeds);
    }

    public static OnnxTensor toOrt(Tensor t) throws OrtException { return OrtTestSupport.toOrt(t); }

    public static Tensor fromOrt(OnnxTensor v) { return OrtTestSupport.fromOrt(v); }

    @Override
    public void close() throws OrtException { session.close(); }
}
