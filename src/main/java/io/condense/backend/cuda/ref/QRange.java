package io.condense.backend.cuda.ref;

/** Integer grid of a quantized type: values are clamped to {@code [qmin, qmax]}. */
public record QRange(int qmin, int qmax) {
    public static final QRange INT8 = new QRange(-128, 127);
    public static final QRange UINT8 = new QRange(0, 255);
    public static final QRange INT4 = new QRange(-8, 7);
    public static final QRange UINT4 = new QRange(0, 15);
    /** Symmetric INT8 (-127..127), as used for weights so that -q is representable. */
    public static final QRange INT8_SYMMETRIC = new QRange(-127, 127);

    public QRange {
        if (qmin >= qmax) throw new IllegalArgumentException("empty range [" + qmin + ", " + qmax + "]");
    }
}
