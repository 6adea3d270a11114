package io.condense.quant;

/** Lets tests in other packages use {@link TextCalibrationTest}'s TinyBERT tokenizer. */
public final class TextCalibrationTestAccess {
    private TextCalibrationTestAccess() {}

    public static byte[] tinyBertTokenizer() throws Exception { return TextCalibrationTest.tinyBertTokenizer(); }
}
