package io.condense.ir;

/** Element types of the IR, numbered as ONNX's {@code TensorProto.DataType}. */
public enum DType {
    FLOAT32(1, 32, true),
    UINT8(2, 8, false),
    INT8(3, 8, false),
    UINT16(4, 16, false),
    INT16(5, 16, false),
    INT32(6, 32, false),
    INT64(7, 64, false),
    STRING(8, 0, false),
    BOOL(9, 8, false),
    FLOAT16(10, 16, true),
    FLOAT64(11, 64, true),
    UINT32(12, 32, false),
    UINT64(13, 64, false),
    BFLOAT16(16, 16, true),
    UINT4(21, 4, false),
    INT4(22, 4, false);

    private final int onnxCode;
    private final int bits;
    private final boolean floating;

    DType(int onnxCode, int bits, boolean floating) {
        this.onnxCode = onnxCode;
        this.bits = bits;
        this.floating = floating;
    }

    public int onnxCode() { return onnxCode; }

    /** Bits per element as stored packed (4 for INT4/UINT4, 0 for STRING). */
    public int bits() { return bits; }

    public boolean isFloating() { return floating; }

    public boolean isInteger() { return !floating && this != STRING && this != BOOL; }

    public boolean isSigned() {
        return switch (this) {
            case INT8, INT16, INT32, INT64, INT4 -> true;
            default -> floating;
        };
    }

    /** Smallest and largest representable integer values (for quantized types). */
    public long minValue() {
        return switch (this) {
            case INT4 -> -8; case INT8 -> Byte.MIN_VALUE; case INT16 -> Short.MIN_VALUE;
            case INT32 -> Integer.MIN_VALUE; case INT64 -> Long.MIN_VALUE; case BOOL -> 0;
            default -> 0;
        };
    }

    public long maxValue() {
        return switch (this) {
            case INT4 -> 7; case UINT4 -> 15; case INT8 -> Byte.MAX_VALUE; case UINT8 -> 255;
            case INT16 -> Short.MAX_VALUE; case UINT16 -> 65535; case INT32 -> Integer.MAX_VALUE;
            case UINT32 -> 0xFFFFFFFFL; case BOOL -> 1;
            default -> Long.MAX_VALUE;
        };
    }

    /** Packed storage size of {@code count} elements, in bytes. */
    public long storageBytes(long count) {
        if (this == STRING) throw new IllegalArgumentException("STRING has no fixed size");
        return (count * bits + 7) / 8;
    }

    public static DType fromOnnx(int code) {
        for (DType t : values()) if (t.onnxCode == code) return t;
        throw new ModelException("unsupported ONNX element type " + code + " (" + onnxName(code) + ")");
    }

    private static String onnxName(int code) {
        return switch (code) {
            case 0 -> "UNDEFINED"; case 14 -> "COMPLEX64"; case 15 -> "COMPLEX128";
            case 17 -> "FLOAT8E4M3FN"; case 18 -> "FLOAT8E4M3FNUZ"; case 19 -> "FLOAT8E5M2";
            case 20 -> "FLOAT8E5M2FNUZ"; default -> "unknown";
        };
    }
}
