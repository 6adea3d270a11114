package io.condense.backend.cpu;

import io.condense.TensorAssert;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Half;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.condense.backend.cpu.OrtRef.as;
import static io.condense.backend.cpu.OrtRef.op;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Elementwise kernels against ONNX Runtime on one-node models (1e-5 for floats, exact for ints and bools). */
class ElementwiseKernelsTest {
    private final Random rnd = new Random(42);

    private static final long[][][] SHAPES = {
            {{2, 3, 4}, {2, 3, 4}},
            {{2, 3, 4}, {4}},
            {{2, 1, 4}, {3, 1}},
            {{3}, {}},
            {{}, {2, 2}},
            {{1, 3, 1}, {2, 1, 5}},
    };

    @ParameterizedTest
    @ValueSource(strings = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"})
    void binaryFloatsBroadcast(String opType) {
        for (DType dt : List.of(DType.FLOAT32, DType.FLOAT64)) {
            for (long[][] s : SHAPES) {
                Tensor a = opType.equals("Pow") ? OrtRef.uniform(rnd, 0.1f, 3f, s[0]) : OrtRef.randn(rnd, s[0]);
                Tensor b = opType.equals("Div") ? OrtRef.uniform(rnd, 0.5f, 2f, s[1])
                        : opType.equals("Pow") ? OrtRef.uniform(rnd, -2f, 3f, s[1]) : OrtRef.randn(rnd, s[1]);
                op(opType).opset(13).in(as(a, dt)).in(as(b, dt)).out(dt).check();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Add", "Sub", "Mul", "Div", "Max", "Min"})
    void binaryIntsBroadcast(String opType) {
        for (DType dt : List.of(DType.INT32, DType.INT64)) {
            for (long[][] s : SHAPES) {
                Tensor a = OrtRef.ints(rnd, -50, 50, dt, s[0]);
                Tensor b = OrtRef.ints(rnd, 1, 9, dt, s[1]);
                if (opType.equals("Div")) {
                    for (int i = 0; i < b.size(); i++) if (rnd.nextBoolean()) b.setDouble(i, -b.getDouble(i));
                }
                op(opType).opset(13).in(a).in(b).out(dt).check();
            }
        }
    }

    @Test
    void scalarsAndEmpty() {
        for (String opType : List.of("Add", "Sub", "Mul", "Div", "Pow")) {
            op(opType).opset(14).in(Tensor.scalar(1.5f)).in(Tensor.scalar(2.5f)).out(DType.FLOAT32).check();
            op(opType).opset(14).in(OrtRef.randn(rnd, 0, 3)).in(OrtRef.randn(rnd, 3)).out(DType.FLOAT32).check();
        }
        op("Add").opset(14).in(Tensor.scalar(3L).reshape()).in(Tensor.scalar(-5L).reshape()).out(DType.INT64).check();
        op("Sqrt").opset(13).in(OrtRef.randn(rnd, 2, 0)).out(DType.FLOAT32).check();
    }

    @Test
    void badInputsAreOneLineModelExceptions() {
        List<OrtRef.Case> bad = List.of(
                op("Add").opset(13).in(OrtRef.randn(rnd, 2, 3)).in(OrtRef.randn(rnd, 4)).out(DType.FLOAT32),
                op("Add").opset(13).in(OrtRef.randn(rnd, 2, 3)).in(OrtRef.ints(rnd, 0, 3, DType.INT64, 3)).out(DType.FLOAT32),
                op("Softmax").opset(13).attr("axis", 3L).in(OrtRef.randn(rnd, 2, 3)).out(DType.FLOAT32),
                op("Sqrt").opset(13).in(OrtRef.ints(rnd, 0, 3, DType.INT64, 3)).out(DType.INT64),
                op("Cast").opset(13).in(OrtRef.randn(rnd, 2)).out(DType.FLOAT32),
                op("Where").opset(16).in(OrtRef.randn(rnd, 2)).in(OrtRef.randn(rnd, 2)).in(OrtRef.randn(rnd, 2)).out(DType.FLOAT32),
                op("Gelu").opset(20).attr("approximate", "fast").in(OrtRef.randn(rnd, 2)).out(DType.FLOAT32),
                op("Constant").opset(13).out(DType.FLOAT32));
        for (OrtRef.Case c : bad) {
            ModelException e = assertThrows(ModelException.class, () -> OrtRef.cpu(c.graph(), c.feeds), c.opType);
            assertTrue(e.getMessage().contains("n0") && !e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void integerDivTruncatesTowardZero() {
        Tensor a = Tensor.of(new int[] {-7, 7, -7, 7, 9, -1}, 6);
        Tensor b = Tensor.of(new int[] {2, 2, -2, -2, 4, 3}, 6);
        Tensor got = op("Div").opset(14).in(a).in(b).out(DType.INT32).check().get("out0");
        assertEquals(-3, got.getLong(0));
        assertEquals(3, got.getLong(1));
        assertEquals(0, got.getLong(5));
    }

    @Test
    void integerDivByZeroIsAnError() {
        var c = op("Div").opset(14).in(Tensor.of(new int[] {1, 2}, 2)).in(Tensor.of(new int[] {1, 0}, 2)).out(DType.INT32);
        ModelException e = assertThrows(ModelException.class, () -> OrtRef.cpu(c.graph(), c.feeds));
        assertTrue(e.getMessage().contains("division by zero"), e.getMessage());
    }

    @Test
    void powMixedTypes() {
        Tensor base = OrtRef.uniform(rnd, 0.5f, 2f, 2, 3);
        op("Pow").opset(15).in(base).in(Tensor.of(new long[] {2, 3, 0}, 3)).out(DType.FLOAT32).check();
        op("Pow").opset(15).in(base).in(Tensor.of(new int[] {3}, 1)).out(DType.FLOAT32).check();
        op("Pow").opset(15).in(base).in(Tensor.of(new float[] {2f})).out(DType.FLOAT32).check();
        op("Pow").opset(15).in(OrtRef.ints(rnd, -4, 5, DType.INT64, 2, 3)).in(Tensor.of(new long[] {0, 1, 3}, 3)).out(DType.INT64).check();
        op("Pow").opset(15).in(OrtRef.ints(rnd, -4, 5, DType.INT32, 2, 3)).in(Tensor.of(new int[] {2}, 1)).out(DType.INT32).check();
    }

    /** ORT's CPU provider has few float16 kernels: compare with its float32 result rounded to float16. */
    @ParameterizedTest
    @ValueSource(strings = {"Add", "Sub", "Mul", "Div", "Max", "Min"})
    void binaryFloat16(String opType) {
        Tensor a = as(OrtRef.randn(rnd, 2, 3, 4), DType.FLOAT16);
        Tensor b = as(OrtRef.uniform(rnd, 0.5f, 2f, 3, 1), DType.FLOAT16);
        Tensor ref = OrtRef.ort(op(opType).opset(13).in(as(a, DType.FLOAT32)).in(as(b, DType.FLOAT32)).out(DType.FLOAT32).graph(),
                Map.of("in0", as(a, DType.FLOAT32), "in1", as(b, DType.FLOAT32))).get("out0");
        var c = op(opType).opset(13).in(a).in(b).out(DType.FLOAT16);
        Tensor got = OrtRef.cpu(c.graph(), c.feeds).get("out0");
        TensorAssert.assertClose(as(ref, DType.FLOAT16), got, 0, 0, opType + " fp16");
    }

    @Test
    void unaryFloat16RoundsBack() {
        Tensor a = as(OrtRef.uniform(rnd, 0.1f, 4f, 3, 5), DType.FLOAT16);
        for (String opType : List.of("Sqrt", "Exp", "Log", "Sigmoid", "Tanh", "Erf")) {
            Tensor ref = OrtRef.ort(op(opType).opset(13).in(as(a, DType.FLOAT32)).out(DType.FLOAT32).graph(),
                    Map.of("in0", as(a, DType.FLOAT32))).get("out0");
            var c = op(opType).opset(13).in(a).out(DType.FLOAT16);
            Tensor got = OrtRef.cpu(c.graph(), c.feeds).get("out0");
            // one fp16 ulp: the float32 results may differ in their last bits around a rounding midpoint
            TensorAssert.assertClose(as(ref, DType.FLOAT16), got, 1e-3, 0, opType + " fp16");
        }
    }

    @Test
    void variadic() {
        for (String opType : List.of("Sum", "Max", "Min", "Mean")) {
            Tensor a = OrtRef.randn(rnd, 2, 3, 4);
            Tensor b = OrtRef.randn(rnd, 3, 1);
            Tensor c = OrtRef.randn(rnd, 4);
            op(opType).opset(13).in(a).in(b).in(c).out(DType.FLOAT32).check();
            op(opType).opset(8).in(a).out(DType.FLOAT32).check();
            op(opType).opset(13).in(a).in(c).out(DType.FLOAT32).checkFloat64ViaFloat32();
        }
        for (String opType : List.of("Max", "Min")) { // Sum and Mean are float-only
            op(opType).opset(13).in(OrtRef.ints(rnd, -9, 9, DType.INT64, 2, 3)).in(OrtRef.ints(rnd, -9, 9, DType.INT64, 3))
                    .in(OrtRef.ints(rnd, -9, 9, DType.INT64, 2, 1)).out(DType.INT64).check();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Sqrt", "Neg", "Abs", "Exp", "Log", "Reciprocal", "Floor", "Ceil", "Round", "Erf", "Relu",
            "Sigmoid", "Tanh", "LeakyRelu", "Elu", "HardSigmoid"})
    void unaryFloats(String opType) {
        boolean positive = opType.equals("Sqrt") || opType.equals("Log") || opType.equals("Reciprocal");
        Tensor a = positive ? OrtRef.uniform(rnd, 0.1f, 5f, 2, 3, 4) : OrtRef.uniform(rnd, -4f, 4f, 2, 3, 4);
        if (opType.equals("Round")) a = Tensor.of(new float[] {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49f, 2.51f, -3.7f}, 9);
        op(opType).opset(13).in(a).out(DType.FLOAT32).check();
        if (List.of("Erf", "LeakyRelu", "Elu", "HardSigmoid").contains(opType)) {
            op(opType).opset(13).in(a).out(DType.FLOAT32).checkFloat64ViaFloat32(); // ORT has float32 only
        } else {
            op(opType).opset(13).in(as(a, DType.FLOAT64)).out(DType.FLOAT64).check();
        }
        if (opType.equals("LeakyRelu")) op(opType).opset(16).attr("alpha", 0.3f).in(a).out(DType.FLOAT32).check();
        if (opType.equals("Elu")) op(opType).opset(6 + 7).attr("alpha", 0.7f).in(a).out(DType.FLOAT32).check();
        if (opType.equals("HardSigmoid")) {
            op(opType).opset(13).attr("alpha", 0.35f).attr("beta", 0.4f).in(a).out(DType.FLOAT32).check();
        }
    }

    @Test
    void unaryInts() {
        for (DType dt : List.of(DType.INT32, DType.INT64)) {
            Tensor a = OrtRef.ints(rnd, -20, 20, dt, 3, 4);
            op("Neg").opset(13).in(a).out(dt).check();
            op("Abs").opset(13).in(a).out(dt).check();
            // ORT has no integer Relu: compare with max(x, 0)
            var c = op("Relu").opset(14).in(a).out(dt);
            Tensor got = OrtRef.cpu(c.graph(), c.feeds).get("out0");
            assertEquals(dt, got.dtype());
            for (int i = 0; i < a.size(); i++) assertEquals(Math.max(a.getLong(i), 0), got.getLong(i));
        }
    }

    /** float32 Erf against a double-precision reference (Taylor series / continued fraction), across its range. */
    @Test
    void erfFloatAccuracy() {
        float[] v = new float[4001];
        for (int i = 0; i < v.length; i++) v[i] = -5f + i * 0.0025f;
        v[2000] = 0f;
        var c = op("Erf").opset(13).in(Tensor.of(v, v.length)).out(DType.FLOAT32);
        Tensor got = OrtRef.cpu(c.graph(), c.feeds).get("out0");
        Tensor ort = OrtRef.ort(c.graph(), c.feeds).get("out0");
        double worst = 0;
        for (int i = 0; i < v.length; i++) {
            double exact = erf(v[i]);
            worst = Math.max(worst, Math.abs(got.getDouble(i) - exact));
            assertEquals(exact, got.getDouble(i), 3e-7, "erf(" + v[i] + ")");
            assertEquals(ort.getDouble(i), got.getDouble(i), 3e-7, "erf(" + v[i] + ") vs ORT");
        }
        assertTrue(worst < 3e-7, "worst " + worst);
    }

    /** erf in double: Taylor series for |x| < 2.5, else the asymptotic continued fraction of erfc. */
    private static double erf(double x) {
        double ax = Math.abs(x);
        double r;
        if (ax < 2.5) {
            double term = ax;
            double sum = ax;
            for (int k = 1; k < 200; k++) {
                term *= -ax * ax / k;
                sum += term / (2 * k + 1);
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            double f = 0;
            for (int k = 60; k >= 1; k--) f = k / 2.0 / (ax + f);
            r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
        }
        return x < 0 ? -r : r;
    }

    @Test
    void gelu() {
        Tensor a = OrtRef.uniform(rnd, -5f, 5f, 2, 3, 7);
        op("Gelu").opset(20).in(a).out(DType.FLOAT32).check();
        op("Gelu").opset(20).attr("approximate", "none").in(a).out(DType.FLOAT32).checkFloat64ViaFloat32();
        op("Gelu").opset(20).attr("approximate", "tanh").in(a).out(DType.FLOAT32).check();
    }

    @Test
    void softmaxOpsetSemantics() {
        Tensor a = OrtRef.randn(rnd, 2, 3, 4);
        for (String opType : List.of("Softmax", "LogSoftmax")) {
            for (int opset : new int[] {7, 11}) {
                op(opType).opset(opset).in(a).out(DType.FLOAT32).check();
                for (long axis : new long[] {0, 1, 2, -1, -3}) op(opType).opset(opset).attr("axis", axis).in(a).out(DType.FLOAT32).check();
            }
            op(opType).opset(13).in(a).out(DType.FLOAT32).check();
            for (long axis : new long[] {0, 1, 2, -2}) op(opType).opset(13).attr("axis", axis).in(a).out(DType.FLOAT32).check();
            op(opType).opset(13).in(as(a, DType.FLOAT64)).attr("axis", 1L).out(DType.FLOAT64).check();
            op(opType).opset(13).in(OrtRef.randn(rnd, 5)).out(DType.FLOAT32).check();
        }
    }

    @Test
    void softmaxLargeAndMaskedValues() {
        float[] v = {1000f, 1001f, 999f, -3.4e38f, 0f, 88f, 89f, -3.4e38f, -3.4e38f, 5f, 6f, -10000f};
        for (String opType : List.of("Softmax", "LogSoftmax")) {
            op(opType).opset(13).in(Tensor.of(v, 3, 4)).out(DType.FLOAT32).check();
            op(opType).opset(11).in(Tensor.of(v, 3, 4)).out(DType.FLOAT32).check();
        }
    }

    @Test
    void clipAcrossOpsets() {
        Tensor a = OrtRef.uniform(rnd, -3f, 3f, 3, 4);
        op("Clip").opset(7).in(a).attr("min", -1f).attr("max", 0.5f).out(DType.FLOAT32).check();
        op("Clip").opset(7).in(a).attr("max", 0.5f).out(DType.FLOAT32).check();
        op("Clip").opset(10).in(a).out(DType.FLOAT32).check();
        op("Clip").opset(11).in(a).in(Tensor.scalar(-0.5f)).in(Tensor.scalar(1f)).out(DType.FLOAT32).check();
        op("Clip").opset(11).in(a).in(Tensor.scalar(-0.5f)).out(DType.FLOAT32).check();
        op("Clip").opset(11).in(a).skip().in(Tensor.scalar(1f)).out(DType.FLOAT32).check();
        op("Clip").opset(12).in(as(a, DType.FLOAT64)).in(Tensor.of(new double[] {0.2}, new long[0])).out(DType.FLOAT64).check();
        Tensor i = OrtRef.ints(rnd, -20, 20, DType.INT64, 3, 4);
        op("Clip").opset(13).in(i).in(Tensor.scalar(-5L)).in(Tensor.scalar(7L)).out(DType.INT64).check();
        Tensor i32 = OrtRef.ints(rnd, -20, 20, DType.INT32, 3, 4);
        op("Clip").opset(13).in(i32).skip().in(Tensor.of(new int[] {3}, new long[0])).out(DType.INT32).check();
    }

    @Test
    void cast() {
        Tensor f = Tensor.of(new float[] {-2.7f, -1.5f, -0.4f, 0f, 0.6f, 1.5f, 2.5f, 3.99f, 100.25f, -100.75f, 65519f, 1e-8f}, 12);
        for (DType to : List.of(DType.FLOAT64, DType.FLOAT16, DType.INT32, DType.INT64, DType.INT8, DType.BOOL, DType.FLOAT32)) {
            Tensor src = to == DType.INT8 ? Tensor.of(new float[] {-2.7f, -1.5f, 0.6f, 100.25f, -100.75f}, 5) : f;
            op("Cast").opset(13).attr("to", (long) to.onnxCode()).in(src).out(to).check();
        }
        op("Cast").opset(13).attr("to", (long) DType.UINT8.onnxCode()).in(Tensor.of(new float[] {0f, 1.7f, 200.9f, 255f}, 4)).out(DType.UINT8).check();
        Tensor l = Tensor.of(new long[] {-3, 0, 1, 7, 1L << 40, 2049, 65504}, 7);
        for (DType to : List.of(DType.FLOAT32, DType.FLOAT64, DType.FLOAT16, DType.BOOL, DType.INT64)) {
            op("Cast").opset(13).attr("to", (long) to.onnxCode()).in(l).out(to).check();
        }
        op("Cast").opset(13).attr("to", (long) DType.INT32.onnxCode()).in(Tensor.of(new long[] {-3, 0, 1, 7, 123456}, 5)).out(DType.INT32).check();
        Tensor b = OrtRef.as(Tensor.of(new float[] {1, 0, 0, 1}, 4), DType.BOOL);
        for (DType to : List.of(DType.FLOAT32, DType.INT64, DType.INT32, DType.FLOAT16)) {
            op("Cast").opset(9).attr("to", (long) to.onnxCode()).in(b).out(to).check();
        }
        Tensor h = OrtRef.half(-2.5f, 0.333f, 65504f, 1e-5f);
        op("Cast").opset(19).attr("to", (long) DType.FLOAT32.onnxCode()).in(h).out(DType.FLOAT32).check();
        op("Cast").opset(19).attr("to", (long) DType.INT64.onnxCode()).in(h.reshape(4)).out(DType.INT64).check();
        op("Cast").opset(13).attr("to", (long) DType.FLOAT32.onnxCode()).in(Tensor.of(new int[] {-5, 9}, 2)).out(DType.FLOAT32).check();
        op("Cast").opset(13).attr("to", (long) DType.BFLOAT16.onnxCode()).in(OrtRef.randn(rnd, 50)).out(DType.BFLOAT16).check();
        op("Cast").opset(13).attr("to", (long) DType.FLOAT32.onnxCode()).in(as(OrtRef.randn(rnd, 50), DType.BFLOAT16)).out(DType.FLOAT32).check();
    }

    /** Types ORT's Java API cannot carry: compare with C's conversions (truncate, then wrap to the width). */
    @Test
    void castToOtherIntegerWidths() {
        long[] l = {-1, 70000, 5, -40000, 1L << 33};
        float[] f = {-1.9f, 70000.5f, 5.2f, -40000.7f, 3.5f};
        for (DType to : List.of(DType.INT16, DType.UINT16, DType.UINT32, DType.INT8, DType.UINT8)) {
            for (Tensor src : List.of(Tensor.of(l, l.length), Tensor.of(f, f.length))) {
                var c = op("Cast").opset(13).attr("to", (long) to.onnxCode()).in(src).out(to);
                Tensor got = OrtRef.cpu(c.graph(), c.feeds).get("out0");
                assertEquals(to, got.dtype());
                for (int i = 0; i < src.size(); i++) {
                    long v = src.dtype() == DType.INT64 ? src.getLong(i) : (long) src.getDouble(i);
                    long want = switch (to) {
                        case INT16 -> (short) v;
                        case UINT16 -> v & 0xFFFF;
                        case UINT32 -> v & 0xFFFFFFFFL;
                        case INT8 -> (byte) v;
                        default -> v & 0xFF;
                    };
                    assertEquals(want, got.getLong(i), to + " from " + src.dtype() + " element " + i);
                }
            }
        }
    }

    @Test
    void castToFloat16RoundsToNearestEven() {
        float[] v = new float[200];
        Random r = new Random(7);
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(9) - 4));
        v[0] = Half.toFloat((short) 0x3C00) + Math.ulp(1f) * 4096; // exactly halfway between two fp16 values
        v[1] = 70000f; // overflows to infinity
        Tensor f = Tensor.of(v, v.length);
        var c = op("Cast").opset(13).attr("to", (long) DType.FLOAT16.onnxCode()).in(f).out(DType.FLOAT16);
        short[] want = (short[]) OrtRef.ort(c.graph(), c.feeds).get("out0").data();
        short[] got = (short[]) OrtRef.cpu(c.graph(), c.feeds).get("out0").data();
        for (int i = 0; i < v.length; i++) {
            assertEquals(want[i], got[i], "element " + i + " (" + v[i] + ")");
            assertEquals(Half.fromFloat(v[i]), got[i], "element " + i + " (" + v[i] + ")");
        }
    }

    @Test
    void identityAndDropout() {
        Tensor a = OrtRef.randn(rnd, 2, 5);
        op("Identity").opset(16).in(a).out(DType.FLOAT32).check();
        op("Identity").opset(13).in(OrtRef.ints(rnd, 0, 9, DType.INT64, 4)).out(DType.INT64).check();
        op("Dropout").opset(7).attr("ratio", 0.3f).in(a).out(DType.FLOAT32).check();
        op("Dropout").opset(10).in(a).out(DType.FLOAT32).out(DType.BOOL).check();
        op("Dropout").opset(12).in(a).out(DType.FLOAT32).out(DType.BOOL).check();
        op("Dropout").opset(13).in(a).in(Tensor.scalar(0.4f)).out(DType.FLOAT32).out(DType.BOOL).check();
        Tensor f = OrtRef.as(Tensor.of(new float[] {0}, new long[0]), DType.BOOL);
        op("Dropout").opset(13).in(a).in(Tensor.scalar(0.4f)).in(f).out(DType.FLOAT32).out(DType.BOOL).check();
    }

    @Test
    void dropoutTrainingScalesKeptValues() {
        Tensor a = OrtRef.uniform(rnd, 1f, 2f, 1000);
        Tensor t = OrtRef.as(Tensor.of(new float[] {1}, new long[0]), DType.BOOL);
        var c = op("Dropout").opset(13).attr("seed", 3L).in(a).in(Tensor.scalar(0.25f)).in(t).out(DType.FLOAT32).out(DType.BOOL);
        Map<String, Tensor> out = OrtRef.cpu(c.graph(), c.feeds);
        Tensor y = out.get("out0");
        Tensor m = out.get("out1");
        int kept = 0;
        for (int i = 0; i < a.size(); i++) {
            boolean k = m.getLong(i) != 0;
            kept += k ? 1 : 0;
            assertEquals(k ? a.getDouble(i) / 0.75 : 0, y.getDouble(i), 1e-5);
        }
        assertTrue(kept > 650 && kept < 850, "kept " + kept);
    }

    @Test
    void constants() {
        Tensor v = OrtRef.randn(rnd, 2, 3);
        op("Constant").opset(13).attr("value", Attribute.of(v)).out(DType.FLOAT32).check();
        op("Constant").opset(13).attr("value", Attribute.of(Tensor.of(new long[] {4, -2}, 2))).out(DType.INT64).check();
        op("Constant").opset(13).attr("value_float", 2.5f).out(DType.FLOAT32).check();
        op("Constant").opset(13).attr("value_floats", Attribute.of(new float[] {1f, -2f})).out(DType.FLOAT32).check();
        op("Constant").opset(13).attr("value_int", 7L).out(DType.INT64).check();
        op("Constant").opset(13).attrs("value_ints", 3, 1, 4).out(DType.INT64).check();
        op("ConstantOfShape").opset(9).in(OrtRef.longs(2, 3)).out(DType.FLOAT32).check();
        op("ConstantOfShape").opset(9).attr("value", Attribute.of(Tensor.of(new long[] {5}, 1))).in(OrtRef.longs(4)).out(DType.INT64).check();
        op("ConstantOfShape").opset(20).attr("value", Attribute.of(Tensor.of(new float[] {1.5f}, 1))).in(OrtRef.longs(2, 0, 3)).out(DType.FLOAT32).check();
        op("ConstantOfShape").opset(20).attr("value", Attribute.of(Tensor.of(new int[] {-1}, 1))).in(Tensor.of(new long[0], 0)).out(DType.INT32).check();
    }

    @Test
    void comparisonsAndLogic() {
        for (String opType : List.of("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual")) {
            Tensor a = OrtRef.ints(rnd, -3, 3, DType.INT64, 2, 3, 4);
            Tensor b = OrtRef.ints(rnd, -3, 3, DType.INT64, 3, 1);
            op(opType).opset(16).in(a).in(b).out(DType.BOOL).check();
            op(opType).opset(16).in(as(a, DType.FLOAT32)).in(as(b, DType.FLOAT32)).out(DType.BOOL).check();
            op(opType).opset(16).in(as(a, DType.INT32)).in(as(b, DType.INT32)).out(DType.BOOL).check();
        }
        Tensor p = OrtRef.ints(rnd, 0, 2, DType.BOOL, 2, 3);
        Tensor q = OrtRef.ints(rnd, 0, 2, DType.BOOL, 3);
        op("Equal").opset(13).in(p).in(q).out(DType.BOOL).check();
        op("Not").opset(1 + 12).in(p).out(DType.BOOL).check();
        for (String opType : List.of("And", "Or", "Xor")) op(opType).opset(7).in(p).in(q).out(DType.BOOL).check();
    }

    @Test
    void where() {
        Tensor cond = OrtRef.ints(rnd, 0, 2, DType.BOOL, 2, 1, 4);
        Tensor x = OrtRef.randn(rnd, 3, 4);
        Tensor y = OrtRef.randn(rnd, 2, 1, 1);
        op("Where").opset(16).in(cond).in(x).in(y).out(DType.FLOAT32).check();
        op("Where").opset(16).in(cond).in(as(x, DType.FLOAT64)).in(as(y, DType.FLOAT64)).out(DType.FLOAT64).check();
        op("Where").opset(9).in(cond).in(OrtRef.ints(rnd, -99, 99, DType.INT64, 4)).in(Tensor.scalar(-1L).reshape()).out(DType.INT64).check();
        op("Where").opset(16).in(cond).in(OrtRef.ints(rnd, -99, 99, DType.INT32, 4)).in(OrtRef.ints(rnd, -99, 99, DType.INT32, 2, 3, 1)).out(DType.INT32).check();
    }
}
