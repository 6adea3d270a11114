package io.condense;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.condense.ir.DType;
import io.condense.ir.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/** Runs a model in ONNX Runtime Java (the reference executor) on IR tensors and returns IR tensors. */
public final class OrtReference implements AutoCloseable {
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    public OrtReference(byte[] model) throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setIntraOpNumThreads(Runtime.getRuntime().availableProcessors());
        this.session = ENV.createSession(model, o);
    }

    /** One-shot convenience. */
    public static Map<String, Tensor> run(byte[] model, Map<String, Tensor> feeds) throws OrtException {
        try (OrtReference r = new OrtReference(model)) {
            return r.run(feeds);
        }
    }

    public OrtSession session() { return session; }

    public Map<String, Tensor> run(Map<String, Tensor> feeds) throws OrtException {
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            for (Map.Entry<String, Tensor> e : feeds.entrySet()) in.put(e.getKey(), toOrt(e.getValue()));
            Map<String, Tensor> out = new LinkedHashMap<>();
            try (OrtSession.Result r = session.run(in)) {
                for (Map.Entry<String, OnnxValue> e : r) out.put(e.getKey(), fromOrt((OnnxTensor) e.getValue()));
            }
            return out;
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    public static OnnxTensor toOrt(Tensor t) throws OrtException {
        long[] shape = t.shape();
        ByteBuffer bb = ByteBuffer.allocateDirect((int) Math.max(1, t.dtype().storageBytes(t.size()) * (t.dtype().bits() < 8 ? 2 : 1)))
                .order(ByteOrder.nativeOrder());
        Object d = t.data();
        switch (t.dtype()) {
            case FLOAT32 -> bb.asFloatBuffer().put((float[]) d);
            case FLOAT64 -> bb.asDoubleBuffer().put((double[]) d);
            case FLOAT16, BFLOAT16, INT16, UINT16 -> bb.asShortBuffer().put((short[]) d);
            case INT8, UINT8, BOOL -> bb.put((byte[]) d).rewind();
            case INT32 -> bb.asIntBuffer().put((int[]) d);
            case INT64 -> bb.asLongBuffer().put((long[]) d);
            default -> throw new IllegalArgumentException("ORT reference: unsupported input type " + t.dtype());
        }
        return OnnxTensor.createTensor(ENV, bb, shape, javaType(t.dtype()));
    }

    static OnnxJavaType javaType(DType t) {
        return switch (t) {
            case FLOAT32 -> OnnxJavaType.FLOAT;
            case FLOAT64 -> OnnxJavaType.DOUBLE;
            case FLOAT16 -> OnnxJavaType.FLOAT16;
            case BFLOAT16 -> OnnxJavaType.BFLOAT16;
            case INT8 -> OnnxJavaType.INT8;
            case UINT8 -> OnnxJavaType.UINT8;
            case INT16 -> OnnxJavaType.INT16;
            case INT32 -> OnnxJavaType.INT32;
            case INT64 -> OnnxJavaType.INT64;
            case BOOL -> OnnxJavaType.BOOL;
            default -> throw new IllegalArgumentException("ORT reference: unsupported type " + t);
        };
    }

    public static Tensor fromOrt(OnnxTensor v) {
        TensorInfo info = v.getInfo();
        long[] shape = info.getShape();
        ByteBuffer bb = v.getByteBuffer().order(ByteOrder.nativeOrder());
        int n = (int) Tensor.checkedSize(shape);
        return switch (info.type) {
            case FLOAT -> { float[] a = new float[n]; bb.asFloatBuffer().get(a); yield Tensor.of(DType.FLOAT32, shape, a); }
            case DOUBLE -> { double[] a = new double[n]; bb.asDoubleBuffer().get(a); yield Tensor.of(DType.FLOAT64, shape, a); }
            case FLOAT16 -> { short[] a = new short[n]; bb.asShortBuffer().get(a); yield Tensor.of(DType.FLOAT16, shape, a); }
            case BFLOAT16 -> { short[] a = new short[n]; bb.asShortBuffer().get(a); yield Tensor.of(DType.BFLOAT16, shape, a); }
            case INT16 -> { short[] a = new short[n]; bb.asShortBuffer().get(a); yield Tensor.of(DType.INT16, shape, a); }
            case INT8 -> { byte[] a = new byte[n]; bb.get(a); yield Tensor.of(DType.INT8, shape, a); }
            case UINT8 -> { byte[] a = new byte[n]; bb.get(a); yield Tensor.of(DType.UINT8, shape, a); }
            case BOOL -> { byte[] a = new byte[n]; bb.get(a); yield Tensor.of(DType.BOOL, shape, a); }
            case INT32 -> { int[] a = new int[n]; bb.asIntBuffer().get(a); yield Tensor.of(DType.INT32, shape, a); }
            case INT64 -> { long[] a = new long[n]; bb.asLongBuffer().get(a); yield Tensor.of(DType.INT64, shape, a); }
            default -> throw new IllegalArgumentException("ORT reference: unsupported output type " + info.type);
        };
    }

    @Override
    public void close() throws OrtException { session.close(); }
}
