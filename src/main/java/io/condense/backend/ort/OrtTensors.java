package io.condense.backend.ort;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import io.condense.ir.DType;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;

import java.nio.ByteBuffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;

/** {@link Tensor} <-> {@link OnnxTensor}: element-exact, no detour through bytes for the common types. */
public final class OrtTensors {
    private OrtTensors() {}

    /** A new ORT tensor holding a copy of {@code t} (close it). */
    public static OnnxTensor toOrt(OrtEnvironment env, Tensor t) throws OrtException {
        long[] shape = t.shape();
        Object d = t.data();
        return switch (t.dtype()) {
            case FLOAT32 -> OnnxTensor.createTensor(env, FloatBuffer.wrap((float[]) d), shape);
            case FLOAT64 -> OnnxTensor.createTensor(env, DoubleBuffer.wrap((double[]) d), shape);
            case INT64 -> OnnxTensor.createTensor(env, LongBuffer.wrap((long[]) d), shape);
            case INT32 -> OnnxTensor.createTensor(env, IntBuffer.wrap((int[]) d), shape);
            case INT8 -> OnnxTensor.createTensor(env, ByteBuffer.wrap((byte[]) d), shape, OnnxJavaType.INT8);
            case UINT8 -> OnnxTensor.createTensor(env, ByteBuffer.wrap((byte[]) d), shape, OnnxJavaType.UINT8);
            case BOOL -> OnnxTensor.createTensor(env, ByteBuffer.wrap((byte[]) d), shape, OnnxJavaType.BOOL);
            case INT16 -> OnnxTensor.createTensor(env, ShortBuffer.wrap((short[]) d), shape, OnnxJavaType.INT16);
            case FLOAT16 -> OnnxTensor.createTensor(env, ShortBuffer.wrap((short[]) d), shape, OnnxJavaType.FLOAT16);
            case BFLOAT16 -> OnnxTensor.createTensor(env, ShortBuffer.wrap((short[]) d), shape, OnnxJavaType.BFLOAT16);
            case STRING -> OnnxTensor.createTensor(env, (String[]) d, shape);
            default -> throw new ModelException("the ort backend cannot pass a " + t.dtype() + " tensor");
        };
    }

    /** A condense tensor holding a copy of an ORT tensor's values. */
    public static Tensor fromOrt(OnnxTensor v) throws OrtException {
        TensorInfo info = v.getInfo();
        long[] shape = info.getShape();
        int n = (int) Tensor.checkedSize(shape);
        return switch (info.onnxType) {
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT -> {
                float[] a = new float[n];
                v.getFloatBuffer().get(a);
                yield Tensor.of(DType.FLOAT32, shape, a);
            }
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE -> {
                double[] a = new double[n];
                v.getDoubleBuffer().get(a);
                yield Tensor.of(DType.FLOAT64, shape, a);
            }
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 -> {
                long[] a = new long[n];
                v.getLongBuffer().get(a);
                yield Tensor.of(DType.INT64, shape, a);
            }
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 -> {
                int[] a = new int[n];
                v.getIntBuffer().get(a);
                yield Tensor.of(DType.INT32, shape, a);
            }
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8 -> Tensor.of(DType.INT8, shape, bytes(v, n));
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 -> Tensor.of(DType.UINT8, shape, bytes(v, n));
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL -> Tensor.of(DType.BOOL, shape, bytes(v, n));
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16 -> Tensor.of(DType.INT16, shape, shorts(v, n));
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16 -> Tensor.of(DType.UINT16, shape, shorts(v, n));
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 -> Tensor.of(DType.FLOAT16, shape, shorts(v, n));
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16 -> Tensor.of(DType.BFLOAT16, shape, shorts(v, n));
            default -> throw new ModelException("the ort backend cannot read an output of type " + info.onnxType);
        };
    }

    private static byte[] bytes(OnnxTensor v, int n) {
        byte[] a = new byte[n];
        v.getByteBuffer().get(a);
        return a;
    }

    private static short[] shorts(OnnxTensor v, int n) {
        short[] a = new short[n];
        ByteBuffer b = v.getByteBuffer().order(java.nio.ByteOrder.nativeOrder());
        b.asShortBuffer().get(a);
        return a;
    }
}
