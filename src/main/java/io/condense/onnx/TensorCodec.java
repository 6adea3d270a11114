package io.condense.onnx;

import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import io.condense.ir.DType;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Converts between ONNX {@code TensorProto} and {@link Tensor}: typed fields, raw_data and external data. */
public final class TensorCodec {
    private TensorCodec() {}

    /** Decodes a tensor whose data is inline (typed fields or raw_data). */
    public static Tensor fromProto(TensorProto p) { return fromProto(p, null); }

    /**
     * Decodes a tensor; {@code baseDir} is the model's folder, where external data files are looked up
     * (null when the tensor cannot have external data).
     */
    public static Tensor fromProto(TensorProto p, Path baseDir) {
        String what = p.getName().isEmpty() ? "tensor" : "tensor '" + p.getName() + "'";
        DType dtype;
        try {
            dtype = DType.fromOnnx(p.getDataType());
        } catch (ModelException e) {
            throw new ModelException(what + ": " + e.getMessage());
        }
        long[] shape = new long[p.getDimsCount()];
        for (int i = 0; i < shape.length; i++) shape[i] = p.getDims(i);
        long n;
        try {
            n = Tensor.checkedSize(shape);
        } catch (ModelException e) {
            throw new ModelException(what + ": " + e.getMessage());
        }
        int count = (int) n;
        if (p.hasSegment()) throw new ModelException(what + ": segmented tensors are not supported");
        ByteString raw = null;
        if (p.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            raw = readExternal(p, baseDir, what);
        } else if (p.hasRawData()) {
            raw = p.getRawData();
        }
        try {
            if (raw != null) return fromRaw(dtype, shape, count, raw, what);
            return fromTyped(p, dtype, shape, count, what);
        } catch (ModelException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ModelException(what + ": cannot decode data (" + e.getMessage() + ")");
        }
    }

    private static Tensor fromRaw(DType dtype, long[] shape, int count, ByteString raw, String what) {
        if (dtype == DType.STRING) throw new ModelException(what + ": string tensors cannot use raw_data");
        long need = dtype.storageBytes(count);
        if (raw.size() != need) {
            throw new ModelException(what + ": raw_data has " + raw.size() + " bytes, shape "
                    + java.util.Arrays.toString(shape) + " of " + dtype + " needs " + need);
        }
        ByteBuffer bb = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        Object data = Tensor.allocate(dtype, count);
        switch (dtype) {
            case FLOAT32 -> bb.asFloatBuffer().get((float[]) data);
            case FLOAT64 -> bb.asDoubleBuffer().get((double[]) data);
            case FLOAT16, BFLOAT16, INT16, UINT16 -> bb.asShortBuffer().get((short[]) data);
            case INT8, UINT8 -> bb.get((byte[]) data);
            case BOOL -> {
                byte[] b = (byte[]) data;
                bb.get(b);
                for (int i = 0; i < b.length; i++) b[i] = (byte) (b[i] != 0 ? 1 : 0);
            }
            case INT4, UINT4 -> unpack4((byte[]) data, bb, dtype == DType.INT4);
            case INT32 -> bb.asIntBuffer().get((int[]) data);
            case INT64, UINT64 -> bb.asLongBuffer().get((long[]) data);
            case UINT32 -> {
                long[] l = (long[]) data;
                for (int i = 0; i < count; i++) l[i] = bb.getInt() & 0xFFFFFFFFL;
            }
            default -> throw new ModelException(what + ": unsupported raw type " + dtype);
        }
        return Tensor.of(dtype, shape, data);
    }

    private static void unpack4(byte[] out, ByteBuffer bb, boolean signed) {
        for (int i = 0; i < out.length; i++) {
            int b = bb.get(bb.position() + i / 2) & 0xFF;
            int v = (i % 2 == 0) ? b & 0xF : b >>> 4;
            out[i] = (byte) (signed ? (v << 28) >> 28 : v);
        }
    }

    private static Tensor fromTyped(TensorProto p, DType dtype, long[] shape, int count, String what) {
        // check the value count before allocating: a corrupt file may claim a huge shape with no data
        switch (dtype) {
            case FLOAT32 -> check(p.getFloatDataCount(), count, what, "float_data");
            case FLOAT64 -> check(p.getDoubleDataCount(), count, what, "double_data");
            case INT4, UINT4 -> check(p.getInt32DataCount(), (count + 1) / 2, what, "int32_data (packed 4-bit)");
            case INT64 -> check(p.getInt64DataCount(), count, what, "int64_data");
            case UINT32, UINT64 -> check(p.getUint64DataCount(), count, what, "uint64_data");
            case STRING -> check(p.getStringDataCount(), count, what, "string_data");
            default -> check(p.getInt32DataCount(), count, what, "int32_data");
        }
        Object data = Tensor.allocate(dtype, count);
        switch (dtype) {
            case FLOAT32 -> {
                check(p.getFloatDataCount(), count, what, "float_data");
                float[] f = (float[]) data;
                for (int i = 0; i < count; i++) f[i] = p.getFloatData(i);
            }
            case FLOAT64 -> {
                check(p.getDoubleDataCount(), count, what, "double_data");
                double[] d = (double[]) data;
                for (int i = 0; i < count; i++) d[i] = p.getDoubleData(i);
            }
            case FLOAT16, BFLOAT16, INT16, UINT16 -> {
                check(p.getInt32DataCount(), count, what, "int32_data");
                short[] s = (short[]) data;
                for (int i = 0; i < count; i++) s[i] = (short) p.getInt32Data(i);
            }
            case INT8, UINT8 -> {
                check(p.getInt32DataCount(), count, what, "int32_data");
                byte[] b = (byte[]) data;
                for (int i = 0; i < count; i++) b[i] = (byte) p.getInt32Data(i);
            }
            case BOOL -> {
                check(p.getInt32DataCount(), count, what, "int32_data");
                byte[] b = (byte[]) data;
                for (int i = 0; i < count; i++) b[i] = (byte) (p.getInt32Data(i) != 0 ? 1 : 0);
            }
            case INT4, UINT4 -> {
                check(p.getInt32DataCount(), (count + 1) / 2, what, "int32_data (packed 4-bit)");
                ByteBuffer bb = ByteBuffer.allocate((count + 1) / 2);
                for (int i = 0; i < bb.capacity(); i++) bb.put(i, (byte) p.getInt32Data(i));
                unpack4((byte[]) data, bb, dtype == DType.INT4);
            }
            case INT32 -> {
                check(p.getInt32DataCount(), count, what, "int32_data");
                int[] a = (int[]) data;
                for (int i = 0; i < count; i++) a[i] = p.getInt32Data(i);
            }
            case INT64 -> {
                check(p.getInt64DataCount(), count, what, "int64_data");
                long[] l = (long[]) data;
                for (int i = 0; i < count; i++) l[i] = p.getInt64Data(i);
            }
            case UINT32, UINT64 -> {
                check(p.getUint64DataCount(), count, what, "uint64_data");
                long[] l = (long[]) data;
                for (int i = 0; i < count; i++) l[i] = p.getUint64Data(i);
            }
            case STRING -> {
                check(p.getStringDataCount(), count, what, "string_data");
                String[] s = (String[]) data;
                for (int i = 0; i < count; i++) s[i] = p.getStringData(i).toString(StandardCharsets.UTF_8);
            }
        }
        return Tensor.of(dtype, shape, data);
    }

    private static void check(int have, int need, String what, String field) {
        if (have != need) {
            throw new ModelException(what + ": " + field + " has " + have + " values, shape needs " + need);
        }
    }

    private static ByteString readExternal(TensorProto p, Path baseDir, String what) {
        if (baseDir == null) throw new ModelException(what + ": external data, but the model's folder is unknown");
        String location = null;
        long offset = 0;
        long length = -1;
        for (StringStringEntryProto e : p.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = parseLong(e.getValue(), what);
                case "length" -> length = parseLong(e.getValue(), what);
                default -> { }
            }
        }
        if (location == null) throw new ModelException(what + ": external data has no location");
        Path file = baseDir.resolve(location).normalize();
        if (!file.startsWith(baseDir.normalize())) {
            throw new ModelException(what + ": external data location '" + location + "' leaves the model's folder");
        }
        if (!Files.isRegularFile(file)) throw new ModelException(what + ": external data file not found: " + file);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long size = f.length();
            if (length < 0) length = size - offset;
            if (offset < 0 || length < 0 || offset > size || length > size - offset) {
                throw new ModelException(what + ": external data range [" + offset + ", " + (offset + length)
                        + ") is outside " + file.getFileName() + " (" + size + " bytes)");
            }
            if (length > Integer.MAX_VALUE - 8) throw new ModelException(what + ": external data over 2 GiB per tensor");
            byte[] buf = new byte[(int) length];
            f.seek(offset);
            f.readFully(buf);
            return ByteString.copyFrom(buf);
        } catch (IOException e) {
            throw new ModelException(what + ": cannot read external data " + file + ": " + e.getMessage());
        }
    }

    private static long parseLong(String s, String what) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new ModelException(what + ": bad external data number '" + s + "'");
        }
    }

    /** Encodes a tensor with its data in raw_data (strings in string_data). */
    public static TensorProto toProto(Tensor t, String name) {
        TensorProto.Builder b = TensorProto.newBuilder().setDataType(t.dtype().onnxCode());
        if (name != null) b.setName(name);
        for (long d : t.shape()) b.addDims(d);
        if (t.dtype() == DType.STRING) {
            for (String s : (String[]) t.data()) b.addStringData(ByteString.copyFromUtf8(s));
        } else {
            b.setRawData(ByteString.copyFrom(rawBytes(t)));
        }
        return b.build();
    }

    /** Little-endian bytes of a tensor as raw_data stores them (4-bit values packed, low nibble first). */
    public static byte[] rawBytes(Tensor t) {
        DType dt = t.dtype();
        int n = t.size();
        ByteBuffer bb = ByteBuffer.allocate((int) dt.storageBytes(n)).order(ByteOrder.LITTLE_ENDIAN);
        Object data = t.data();
        switch (dt) {
            case FLOAT32 -> bb.asFloatBuffer().put((float[]) data);
            case FLOAT64 -> bb.asDoubleBuffer().put((double[]) data);
            case FLOAT16, BFLOAT16, INT16, UINT16 -> bb.asShortBuffer().put((short[]) data);
            case INT8, UINT8, BOOL -> bb.put((byte[]) data);
            case INT4, UINT4 -> {
                byte[] v = (byte[]) data;
                for (int i = 0; i < n; i += 2) {
                    int lo = v[i] & 0xF;
                    int hi = i + 1 < n ? v[i + 1] & 0xF : 0;
                    bb.put(i / 2, (byte) (lo | (hi << 4)));
                }
            }
            case INT32 -> bb.asIntBuffer().put((int[]) data);
            case INT64, UINT64 -> bb.asLongBuffer().put((long[]) data);
            case UINT32 -> {
                for (long l : (long[]) data) bb.putInt((int) l);
            }
            case STRING -> throw new IllegalArgumentException("strings have no raw bytes");
        }
        return bb.array();
    }

    /** Reads a serialized TensorProto file (the ONNX test-data {@code .pb} format). */
    public static Tensor readPb(Path file) {
        byte[] bytes = ModelFiles.readAll(file, "tensor file");
        try {
            TensorProto p = TensorProto.parseFrom(bytes);
            return fromProto(p, file.toAbsolutePath().getParent());
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new ModelException("not a valid TensorProto file: " + file + " (" + e.getMessage() + ")");
        }
    }

    /** Name stored in a TensorProto {@code .pb} file ("" if none). */
    public static String readPbName(Path file) {
        try {
            return TensorProto.parseFrom(ModelFiles.readAll(file, "tensor file")).getName();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new ModelException("not a valid TensorProto file: " + file + " (" + e.getMessage() + ")");
        }
    }

    /** Writes a tensor as a TensorProto {@code .pb} file, atomically. */
    public static void writePb(Tensor t, String name, Path file) {
        byte[] bytes = toProto(t, name).toByteArray();
        ModelFiles.writeAtomically(file, out -> out.write(bytes));
    }

    static List<String> names(List<TensorProto> l) {
        return l.stream().map(TensorProto::getName).toList();
    }
}
