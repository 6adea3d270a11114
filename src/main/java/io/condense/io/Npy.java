package io.condense.io;

import io.condense.ir.DType;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.onnx.ModelFiles;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0, see NEP 1 / {@code numpy.lib.format}) for
 * C-ordered little-endian arrays of the types {@code <f4 <f8 <f2 |i1 |u1 <i2 <u2 <i4 <i8 |b1}.
 * Fortran order, big-endian data and object or structured arrays are rejected with a message naming the problem.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*(['\"])(.*?)\\1");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    /** Reads a {@code .npy} file. */
    public static Tensor read(Path file) {
        return fromBytes(ModelFiles.readAll(file, "npy file"), file.toString());
    }

    /** Writes a tensor as a version 1.0 {@code .npy} file (2.0 if the header needs it), atomically. */
    public static void write(Tensor t, Path file) {
        byte[] bytes = toBytes(t);
        ModelFiles.writeAtomically(file, out -> out.write(bytes));
    }

    /** Decodes the bytes of a {@code .npy} file; {@code what} names the source in error messages. */
    public static Tensor fromBytes(byte[] b, String what) {
        if (b.length < 10 || !Arrays.equals(Arrays.copyOf(b, 6), MAGIC)) {
            throw new ModelException(what + " is not a .npy file (no \\x93NUMPY magic)");
        }
        int major = b[6] & 0xFF;
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen;
        int headerStart;
        if (major == 1) {
            headerLen = bb.getShort(8) & 0xFFFF;
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            if (b.length < 12) throw new ModelException(what + ": truncated .npy header");
            headerLen = bb.getInt(8) & 0xFFFFFFFFL;
            headerStart = 12;
        } else {
            throw new ModelException(what + ": unsupported .npy format version " + major + "." + (b[7] & 0xFF));
        }
        if (headerStart + headerLen > b.length) throw new ModelException(what + ": truncated .npy header");
        String header = new String(b, headerStart, (int) headerLen,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1).trim();
        Matcher d = DESCR.matcher(header);
        Matcher f = FORTRAN.matcher(header);
        Matcher s = SHAPE.matcher(header);
        if (!header.startsWith("{") || !d.find() || !f.find() || !s.find()) {
            throw new ModelException(what + ": bad .npy header " + abbreviate(header));
        }
        String descr = d.group(2);
        DType dtype = dtypeOf(descr, what);
        if (f.group(1).equals("True")) {
            throw new ModelException(what + ": Fortran-ordered arrays are not supported (save with "
                    + "numpy.ascontiguousarray first)");
        }
        long[] shape = parseShape(s.group(1), what);
        long n = Tensor.checkedSize(shape);
        int dataStart = headerStart + (int) headerLen;
        long need = n * itemSize(dtype);
        long have = b.length - dataStart;
        if (have < need) {
            throw new ModelException(what + ": truncated data: shape " + Arrays.toString(shape) + " of " + descr
                    + " needs " + need + " bytes, file has " + have);
        }
        if (have > need) {
            throw new ModelException(what + ": " + (have - need) + " unexpected bytes after the array data");
        }
        ByteBuffer data = ByteBuffer.wrap(b, dataStart, (int) need).slice().order(ByteOrder.LITTLE_ENDIAN);
        int count = (int) n;
        Object arr = Tensor.allocate(dtype, count);
        switch (dtype) {
            case FLOAT32 -> data.asFloatBuffer().get((float[]) arr);
            case FLOAT64 -> data.asDoubleBuffer().get((double[]) arr);
            case FLOAT16, INT16, UINT16 -> data.asShortBuffer().get((short[]) arr);
            case INT8, UINT8 -> data.get((byte[]) arr);
            case BOOL -> {
                byte[] v = (byte[]) arr;
                data.get(v);
                for (int i = 0; i < v.length; i++) v[i] = (byte) (v[i] != 0 ? 1 : 0);
            }
            case INT32 -> data.asIntBuffer().get((int[]) arr);
            case INT64, UINT64 -> data.asLongBuffer().get((long[]) arr);
            case UINT32 -> {
                long[] v = (long[]) arr;
                for (int i = 0; i < count; i++) v[i] = data.getInt(i * 4) & 0xFFFFFFFFL;
            }
            default -> throw new ModelException(what + ": unsupported dtype " + descr);
        }
        return Tensor.of(dtype, shape, arr);
    }

    /** Encodes a tensor as {@code .npy} bytes (C order, little-endian). */
    public static byte[] toBytes(Tensor t) {
        String descr = descrOf(t.dtype());
        long[] shape = t.shape();
        StringBuilder sh = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) sh.append(", ");
            sh.append(shape[i]);
        }
        if (shape.length == 1) sh.append(',');
        sh.append(')');
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + sh + ", }";
        // header (magic + version + length field + dict + padding + '\n') is a multiple of 64 bytes
        int version = dict.length() + 1 + 10 > 65535 ? 2 : 1;
        int prefix = version == 1 ? 10 : 12;
        int total = prefix + dict.length() + 1;
        int padded = (total + 63) / 64 * 64;
        StringBuilder header = new StringBuilder(dict);
        header.append(" ".repeat(padded - total)).append('\n');
        byte[] h = header.toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream out = new ByteArrayOutputStream(padded + (int) Math.min(Integer.MAX_VALUE - 8,
                (long) t.size() * itemSize(t.dtype())));
        out.writeBytes(MAGIC);
        out.write(version);
        out.write(0);
        ByteBuffer len = ByteBuffer.allocate(version == 1 ? 2 : 4).order(ByteOrder.LITTLE_ENDIAN);
        if (version == 1) len.putShort((short) h.length); else len.putInt(h.length);
        out.writeBytes(len.array());
        out.writeBytes(h);
        out.writeBytes(rawLittleEndian(t));
        return out.toByteArray();
    }

    private static byte[] rawLittleEndian(Tensor t) {
        int n = t.size();
        ByteBuffer bb = ByteBuffer.allocate(Math.multiplyExact(n, itemSize(t.dtype()))).order(ByteOrder.LITTLE_ENDIAN);
        Object data = t.data();
        switch (t.dtype()) {
            case FLOAT32 -> bb.asFloatBuffer().put((float[]) data);
            case FLOAT64 -> bb.asDoubleBuffer().put((double[]) data);
            case FLOAT16, INT16, UINT16 -> bb.asShortBuffer().put((short[]) data);
            case INT8, UINT8, BOOL -> bb.put((byte[]) data);
            case INT32 -> bb.asIntBuffer().put((int[]) data);
            case INT64, UINT64 -> bb.asLongBuffer().put((long[]) data);
            case UINT32 -> {
                for (long l : (long[]) data) bb.putInt((int) l);
            }
            default -> throw new ModelException("cannot write " + t.dtype() + " to .npy");
        }
        return bb.array();
    }

    /** The NumPy type string of a dtype ("&lt;f4"...). */
    public static String descrOf(DType t) {
        return switch (t) {
            case FLOAT32 -> "<f4";
            case FLOAT64 -> "<f8";
            case FLOAT16 -> "<f2";
            case INT8 -> "|i1";
            case UINT8 -> "|u1";
            case INT16 -> "<i2";
            case UINT16 -> "<u2";
            case INT32 -> "<i4";
            case UINT32 -> "<u4";
            case INT64 -> "<i8";
            case UINT64 -> "<u8";
            case BOOL -> "|b1";
            default -> throw new ModelException(t.name().toLowerCase(Locale.ROOT) + " tensors cannot be stored in .npy");
        };
    }

    private static DType dtypeOf(String descr, String what) {
        if (descr.length() != 3) {
            throw new ModelException(what + ": unsupported .npy dtype " + descr
                    + " (structured, object or string arrays are not supported)");
        }
        char order = descr.charAt(0);
        String code = descr.substring(1);
        int size = code.charAt(1) - '0';
        if (order == '>' && size > 1) {
            throw new ModelException(what + ": big-endian data (" + descr + ") is not supported (convert with "
                    + "arr.astype(arr.dtype.newbyteorder('<')))");
        }
        if (order != '<' && order != '|' && order != '=' && !(order == '>' && size == 1)) {
            throw new ModelException(what + ": unsupported .npy dtype " + descr);
        }
        return switch (code) {
            case "f4" -> DType.FLOAT32;
            case "f8" -> DType.FLOAT64;
            case "f2" -> DType.FLOAT16;
            case "i1" -> DType.INT8;
            case "u1" -> DType.UINT8;
            case "i2" -> DType.INT16;
            case "u2" -> DType.UINT16;
            case "i4" -> DType.INT32;
            case "u4" -> DType.UINT32;
            case "i8" -> DType.INT64;
            case "u8" -> DType.UINT64;
            case "b1" -> DType.BOOL;
            default -> throw new ModelException(what + ": unsupported .npy dtype " + descr
                    + (code.startsWith("O") ? " (object arrays are not supported)" : ""));
        };
    }

    private static int itemSize(DType t) {
        return switch (t) {
            case FLOAT64, INT64, UINT64 -> 8;
            case FLOAT32, INT32, UINT32 -> 4;
            case FLOAT16, BFLOAT16, INT16, UINT16 -> 2;
            default -> 1;
        };
    }

    private static long[] parseShape(String s, String what) {
        List<Long> dims = new ArrayList<>();
        for (String part : s.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) continue;
            if (p.endsWith("L")) p = p.substring(0, p.length() - 1);
            try {
                long v = Long.parseLong(p);
                if (v < 0) throw new NumberFormatException();
                dims.add(v);
            } catch (NumberFormatException e) {
                throw new ModelException(what + ": bad shape (" + s + ") in .npy header");
            }
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    private static String abbreviate(String h) {
        String one = h.replace('\n', ' ');
        return one.length() > 80 ? one.substring(0, 80) + "..." : one;
    }
}
