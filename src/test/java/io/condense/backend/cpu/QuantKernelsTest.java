package io.condense.backend.cpu;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.condense.OrtTestSupport;
import io.condense.TensorAssert;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Quantization kernels against ONNX Runtime: one-node (or Q->DQ) models built with the IR, exported, and run on
 * ORT and on the CPU backend. Integer outputs must be equal, float outputs of DequantizeLinear bit-equal. The
 * com.microsoft QLinearAdd/QLinearMul follow MLAS's x86 float kernels (operand swap for scalar spans, FMAs) and must
 * match exactly too. QLinearSigmoid's table is built in ORT with MlasComputeLogistic, a polynomial approximation of
 * the logistic function, so its outputs may differ by 1 (checked, and the number of such elements bounded to 5%).
 */
class QuantKernelsTest {
    private static final Random RNG = new Random(1234);

    // ------------------------------------------------------------------ QuantizeLinear / DequantizeLinear

    @Test
    void quantizePerTensorAllTypesWithTies() throws Exception {
        float s = 0.25f; // a power of two: x / s is exact, so the .5 ties below really are ties
        float[] xv = new float[120];
        for (int i = 0; i < xv.length; i++) xv[i] = (i % 3 == 0) ? (RNG.nextInt(4000) - 2000 + 0.5f) * s : (float) (RNG.nextGaussian() * 3000) * s;
        Tensor x = Tensor.of(xv, 2, 3, 4, 5);
        for (DType t : new DType[] {DType.UINT8, DType.INT8, DType.INT16, DType.UINT16, DType.INT4, DType.UINT4}) {
            long z = t.isSigned() ? -3 : 5;
            M m = new M(21).input("x", x).init("s", Tensor.of(new float[] {s})).init("z", zp(t, new long[] {1}, z))
                    .node("QuantizeLinear", List.of("x", "s", "z"), "q").node("DequantizeLinear", List.of("q", "s", "z"), "y")
                    .output("y", DType.FLOAT32);
            if (t.bits() == 8 || t == DType.INT16) m.output("q", t);
            m.check(t + " per tensor");
            if (t.bits() == 4) {
                // ORT Java cannot hand out 4-bit tensors: check our INT4/UINT4 output against ORT's dequantized values
                // (s is a power of two, so q = y / s + z exactly)
                Tensor y = ort(m.b.build(), m.feeds).get("y");
                m.output("q", t);
                Tensor q = m.runCondense().get("q");
                assertEquals(t, q.dtype(), "4-bit output type");
                for (int i = 0; i < q.size(); i++) assertEquals(y.getDouble(i) / s + z, q.getDouble(i), t + " element " + i);
            }
        }
    }

    @Test
    void quantizeWithoutZeroPointDefaultsToUint8AndOutputDtype() throws Exception {
        Tensor x = randomFloats(300, 4, 50);
        new M(13).input("x", x).init("s", Tensor.of(new float[] {0.7f}))
                .node("QuantizeLinear", List.of("x", "s"), "q").output("q", DType.UINT8).check("default uint8");
        new M(21).input("x", x).init("s", Tensor.of(new float[] {0.7f}))
                .node("QuantizeLinear", List.of("x", "s"), "q", Map.of("output_dtype", Attribute.of((long) DType.INT8.onnxCode())))
                .output("q", DType.INT8).check("output_dtype int8");
    }

    @Test
    void quantizePerAxisNegativeAxis() throws Exception {
        Tensor x = randomFloats(200, 2, 6, 4);
        float[] s = new float[6];
        for (int i = 0; i < 6; i++) s[i] = 0.5f + i * 0.37f;
        for (DType t : new DType[] {DType.INT8, DType.UINT8, DType.INT4}) {
            long[] zv = new long[6];
            for (int i = 0; i < 6; i++) zv[i] = t == DType.INT4 ? i - 3 : t.isSigned() ? i * 7 - 20 : i * 11;
            new M(21).input("x", x).init("s", Tensor.of(s, 6)).init("z", zp(t, new long[] {6}, zv))
                    .node("QuantizeLinear", List.of("x", "s", "z"), "q", Map.of("axis", Attribute.of(-2L)))
                    .node("DequantizeLinear", List.of("q", "s", "z"), "y", Map.of("axis", Attribute.of(-2L)))
                    .output("y", DType.FLOAT32).check("per axis " + t);
        }
    }

    @Test
    void quantizeBlocked() throws Exception {
        Tensor x = randomFloats(50, 2, 6, 5);
        // block 4 on axis 1 (6 -> 2 blocks, the last one partial); block 2 on axis -1 (5 -> 3 blocks)
        for (long[] cfg : new long[][] {{1, 4}, {-1, 2}}) {
            int axis = (int) cfg[0], block = (int) cfg[1];
            long[] ss = {2, 6, 5};
            int ax = axis < 0 ? axis + 3 : axis;
            ss[ax] = (ss[ax] + block - 1) / block;
            int n = (int) (ss[0] * ss[1] * ss[2]);
            float[] s = new float[n];
            for (int i = 0; i < n; i++) s[i] = 0.2f + RNG.nextFloat();
            for (DType t : new DType[] {DType.INT8, DType.UINT4, DType.INT4}) {
                long[] zv = new long[n];
                for (int i = 0; i < n; i++) zv[i] = t == DType.INT8 ? RNG.nextInt(21) - 10 : t == DType.INT4 ? RNG.nextInt(5) - 2 : RNG.nextInt(6) + 5;
                Map<String, Attribute> a = Map.of("axis", Attribute.of((long) axis), "block_size", Attribute.of((long) block));
                M m = new M(21).input("x", x).init("s", Tensor.of(s, ss)).init("z", zp(t, ss, zv))
                        .node("QuantizeLinear", List.of("x", "s", "z"), "q", a)
                        .node("DequantizeLinear", List.of("q", "s", "z"), "y", a).output("y", DType.FLOAT32);
                if (t == DType.INT8) m.output("q", t);
                m.check("blocked axis " + axis + " block " + block + " " + t);
            }
        }
    }

    @Test
    void dequantizeInt32Uint16Int4AndPerAxis() throws Exception {
        int[] iv = new int[24];
        for (int i = 0; i < iv.length; i++) iv[i] = RNG.nextInt(2_000_000_000) - 1_000_000_000;
        new M(21).init("x", Tensor.of(iv, 4, 6)).init("s", Tensor.of(new float[] {0.0013f}))
                .node("DequantizeLinear", List.of("x", "s"), "y").output("y", DType.FLOAT32).check("int32");
        short[] u16 = new short[24];
        for (int i = 0; i < u16.length; i++) u16[i] = (short) RNG.nextInt(65536);
        new M(21).init("x", Tensor.of(DType.UINT16, new long[] {4, 6}, u16)).init("s", Tensor.of(new float[] {0.1f, 0.2f, 0.3f, 0.4f}, 4))
                .init("z", zp(DType.UINT16, new long[] {4}, 0, 1000, 40000, 65535))
                .node("DequantizeLinear", List.of("x", "s", "z"), "y", Map.of("axis", Attribute.of(0L)))
                .output("y", DType.FLOAT32).check("uint16 axis 0");
        byte[] i4 = new byte[24];
        for (int i = 0; i < i4.length; i++) i4[i] = (byte) (RNG.nextInt(16) - 8);
        float[] s4 = new float[8];
        for (int i = 0; i < 8; i++) s4[i] = 0.05f * (i + 1);
        new M(21).init("x", Tensor.of(DType.INT4, new long[] {4, 6}, i4)).init("s", Tensor.of(s4, 4, 2))
                .init("z", zp(DType.INT4, new long[] {4, 2}, -1, 0, 1, 2, 3, -4, 5, -8))
                .node("DequantizeLinear", List.of("x", "s", "z"), "y", Map.of("axis", Attribute.of(1L), "block_size", Attribute.of(3L)))
                .output("y", DType.FLOAT32).check("int4 blocked");
        Tensor q = randomInts(DType.INT8, 3, 5, 2);
        new M(13).input("x", q).init("s", Tensor.of(new float[] {0.5f, 0.25f, 3f, 1e-3f, 7f}, 5))
                .init("z", zp(DType.INT8, new long[] {5}, -128, 0, 1, 127, 5))
                .node("DequantizeLinear", List.of("x", "s", "z"), "y", Map.of("axis", Attribute.of(-2L)))
                .output("y", DType.FLOAT32).check("int8 axis -2");
        new M(10).input("x", randomInts(DType.UINT8, 7, 9)).init("s", Tensor.of(new float[] {0.02f}))
                .init("z", zp(DType.UINT8, new long[0], 128))
                .node("DequantizeLinear", List.of("x", "s", "z"), "y").output("y", DType.FLOAT32).check("uint8 opset 10");
    }

    @Test
    void float16InputsAndScales() throws Exception {
        float[] xf = new float[60];
        short[] xh = new short[60];
        for (int i = 0; i < 60; i++) {
            xh[i] = io.condense.ir.Half.fromFloat((float) (RNG.nextGaussian() * 40));
            xf[i] = io.condense.ir.Half.toFloat(xh[i]);
        }
        float[] sf = {0.37f, 1.5f, 0.01f};
        short[] sh = new short[3];
        for (int i = 0; i < 3; i++) {
            sh[i] = io.condense.ir.Half.fromFloat(sf[i]);
            sf[i] = io.condense.ir.Half.toFloat(sh[i]);
        }
        Map<String, Attribute> axis = Map.of("axis", Attribute.of(1L));
        // DequantizeLinear with float16 scales: float16 output, bit-equal to ORT
        new M(21).input("q", randomInts(DType.INT8, 4, 3, 5)).init("s", Tensor.of(DType.FLOAT16, new long[] {3}, sh))
                .init("z", zp(DType.INT8, new long[] {3}, -3, 0, 9))
                .node("DequantizeLinear", List.of("q", "s", "z"), "y", axis).output("y", DType.FLOAT16).check("float16 DQ");
        // QuantizeLinear of float16: ONNX rounds x / scale half to even. ORT's float16 kernel truncates instead
        // (ParQuantizeLinearStd for MLFloat16 casts to int32), so the reference is ORT's float32 kernel on the same
        // (exactly widened) values.
        M f32 = new M(21).input("x", Tensor.of(xf, 4, 3, 5)).init("s", Tensor.of(sf, 3)).init("z", zp(DType.INT8, new long[] {3}, -3, 0, 9))
                .node("QuantizeLinear", List.of("x", "s", "z"), "q", axis).output("q", DType.INT8);
        Tensor want = ort(f32.b.build(), f32.feeds).get("q");
        M f16 = new M(21).input("x", Tensor.of(DType.FLOAT16, new long[] {4, 3, 5}, xh)).init("s", Tensor.of(DType.FLOAT16, new long[] {3}, sh))
                .init("z", zp(DType.INT8, new long[] {3}, -3, 0, 9))
                .node("QuantizeLinear", List.of("x", "s", "z"), "q", axis).output("q", DType.INT8);
        TensorAssert.assertClose(want, f16.runCondense().get("q"), 0, 0, "float16 QuantizeLinear");
    }

    // ------------------------------------------------------------------ QLinearConv / ConvInteger

    /** A QLinearConv model: uint8 or int8 activations, int8 or uint8 weights, per-channel or per-tensor scales. */
    private static M qconv(DType xt, DType wt, long[] xs, long[] wsh, boolean perChannel, boolean bias, Map<String, Attribute> attrs) {
        int m = (int) wsh[0];
        long xz = xt == DType.UINT8 ? 7 : -3;
        float[] ws = new float[perChannel ? m : 1];
        for (int i = 0; i < ws.length; i++) ws[i] = 0.002f + 0.01f * RNG.nextFloat();
        long[] wz = new long[ws.length];
        if (wt == DType.UINT8) Arrays.fill(wz, 128);
        List<String> ins = new ArrayList<>(List.of("x", "xs", "xz", "w", "ws", "wz", "ys", "yz"));
        M mm = new M(13).input("x", randomInts(xt, xs)).init("xs", Tensor.of(new float[] {0.05f}))
                .init("xz", zp(xt, new long[0], xz)).init("w", randomInts(wt, wsh))
                .init("ws", perChannel ? Tensor.of(ws, m) : Tensor.of(ws)).init("wz", zp(wt, perChannel ? new long[] {m} : new long[0], wz))
                .init("ys", Tensor.of(new float[] {0.09f})).init("yz", zp(xt, new long[0], xt == DType.UINT8 ? 120 : 5));
        if (bias) {
            int[] b = new int[m];
            for (int i = 0; i < m; i++) b[i] = RNG.nextInt(4001) - 2000;
            mm.init("b", Tensor.of(b, m));
            ins.add("b");
        }
        return mm.node("QLinearConv", ins, "y", attrs).output("y", xt);
    }

    @Test
    void qlinearConvPerChannelPadsStrides() throws Exception {
        qconv(DType.UINT8, DType.INT8, new long[] {2, 8, 9, 9}, new long[] {16, 8, 3, 3}, true, true,
                Map.of("pads", Attribute.of(1, 1, 1, 1), "strides", Attribute.of(2, 2))).check("per-channel 3x3 s2 p1");
        qconv(DType.UINT8, DType.INT8, new long[] {1, 8, 10, 7}, new long[] {5, 8, 2, 3}, true, false,
                Map.of("pads", Attribute.of(0, 2, 1, 0), "dilations", Attribute.of(2, 1))).check("asymmetric pads, dilation");
        qconv(DType.UINT8, DType.INT8, new long[] {1, 6, 11, 11}, new long[] {6, 3, 3, 3}, true, true,
                Map.of("group", Attribute.of(2L), "auto_pad", Attribute.of("SAME_UPPER"), "strides", Attribute.of(2, 2))).check("groups 2, SAME_UPPER");
        qconv(DType.UINT8, DType.INT8, new long[] {1, 6, 11, 11}, new long[] {6, 6, 2, 2}, false, false,
                Map.of("auto_pad", Attribute.of("SAME_LOWER"))).check("SAME_LOWER");
    }

    @Test
    void qlinearConvDepthwiseAndPointwise() throws Exception {
        qconv(DType.UINT8, DType.INT8, new long[] {1, 8, 12, 12}, new long[] {8, 1, 3, 3}, true, true,
                Map.of("group", Attribute.of(8L), "pads", Attribute.of(1, 1, 1, 1))).check("depthwise s1");
        qconv(DType.UINT8, DType.INT8, new long[] {2, 8, 13, 13}, new long[] {8, 1, 3, 3}, true, true,
                Map.of("group", Attribute.of(8L), "pads", Attribute.of(0, 1, 2, 1), "strides", Attribute.of(2, 2))).check("depthwise s2 asym");
        qconv(DType.UINT8, DType.INT8, new long[] {1, 4, 9, 9}, new long[] {8, 1, 3, 3}, false, true,
                Map.of("group", Attribute.of(4L), "dilations", Attribute.of(2, 2))).check("depthwise multiplier 2, dilation");
        qconv(DType.UINT8, DType.INT8, new long[] {1, 16, 7, 7}, new long[] {24, 16, 1, 1}, true, true, Map.of()).check("pointwise");
        qconv(DType.INT8, DType.INT8, new long[] {1, 16, 7, 7}, new long[] {24, 16, 1, 1}, false, true, Map.of()).check("pointwise s8s8");
        qconv(DType.UINT8, DType.UINT8, new long[] {1, 5, 8, 8}, new long[] {7, 5, 3, 3}, false, true,
                Map.of("pads", Attribute.of(1, 1, 1, 1))).check("u8u8 with weight zero point");
        qconv(DType.UINT8, DType.INT8, new long[] {1, 4, 20}, new long[] {6, 4, 3}, true, true,
                Map.of("pads", Attribute.of(1, 2), "strides", Attribute.of(new long[] {2}))).check("1-D");
    }

    @Test
    void qlinearConvLargeAccumulatorsStayExact() throws Exception {
        // 64 channels x 3x3 at full uint8/int8 range: partial sums exceed 2^24, forcing the float64 path.
        qconv(DType.UINT8, DType.INT8, new long[] {1, 64, 6, 6}, new long[] {4, 64, 3, 3}, true, false, Map.of()).check("K=576");
        qconv(DType.UINT8, DType.INT8, new long[] {2, 1200, 2, 3}, new long[] {5, 1200, 1, 1}, true, true, Map.of()).check("pointwise K=1200");
        qconv(DType.INT8, DType.INT8, new long[] {1, 1200, 2, 2}, new long[] {3, 1200, 1, 1}, false, true, Map.of()).check("pointwise s8 K=1200");
    }

    @Test
    void convInteger() throws Exception {
        for (boolean pad : new boolean[] {false, true}) {
            M m = new M(10).input("x", randomInts(DType.UINT8, 1, 3, 8, 8)).init("w", randomInts(DType.UINT8, 4, 3, 3, 3))
                    .init("xz", zp(DType.UINT8, new long[0], 100)).init("wz", zp(DType.UINT8, new long[0], 130));
            m.node("ConvInteger", List.of("x", "w", "xz", "wz"), "y", pad ? Map.of("pads", Attribute.of(1, 0, 2, 1), "strides", Attribute.of(1, 2)) : Map.of())
                    .output("y", DType.INT32).check("ConvInteger pad=" + pad);
        }
        new M(10).input("x", randomInts(DType.UINT8, 2, 3, 5, 5)).init("w", randomInts(DType.UINT8, 2, 3, 2, 2))
                .node("ConvInteger", List.of("x", "w"), "y").output("y", DType.INT32).check("ConvInteger no zero points");
    }

    // ------------------------------------------------------------------ MatMulInteger / QLinearMatMul

    @Test
    void qlinearMatMul() throws Exception {
        new M(10).input("a", randomInts(DType.UINT8, 2, 3, 5, 7)).init("as", Tensor.of(new float[] {0.03f})).init("az", zp(DType.UINT8, new long[0], 120))
                .init("b", randomInts(DType.INT8, 7, 4)).init("bs", Tensor.of(new float[] {0.02f})).init("bz", zp(DType.INT8, new long[0], 0))
                .init("ys", Tensor.of(new float[] {0.05f})).init("yz", zp(DType.UINT8, new long[0], 128))
                .node("QLinearMatMul", List.of("a", "as", "az", "b", "bs", "bz", "ys", "yz"), "y").output("y", DType.UINT8).check("u8 x s8 4-D");
        new M(10).input("a", randomInts(DType.UINT8, 2, 4, 6)).init("as", Tensor.of(new float[] {0.03f})).init("az", zp(DType.UINT8, new long[0], 3))
                .input("b", randomInts(DType.UINT8, 2, 6, 3)).init("bs", Tensor.of(new float[] {0.02f})).init("bz", zp(DType.UINT8, new long[0], 200))
                .init("ys", Tensor.of(new float[] {0.3f})).init("yz", zp(DType.UINT8, new long[0], 10))
                .node("QLinearMatMul", List.of("a", "as", "az", "b", "bs", "bz", "ys", "yz"), "y").output("y", DType.UINT8).check("u8 x u8 batched");
        new M(10).input("a", randomInts(DType.INT8, 5, 8)).init("as", Tensor.of(new float[] {0.03f})).init("az", zp(DType.INT8, new long[0], 1))
                .init("b", randomInts(DType.INT8, 8, 3)).init("bs", Tensor.of(new float[] {0.02f, 0.01f, 0.04f}, 3)).init("bz", zp(DType.INT8, new long[] {3}, 0, 0, 0))
                .init("ys", Tensor.of(new float[] {0.05f})).init("yz", zp(DType.INT8, new long[0], -5))
                .node("QLinearMatMul", List.of("a", "as", "az", "b", "bs", "bz", "ys", "yz"), "y").output("y", DType.INT8).check("s8 x s8 per-column");
    }

    @Test
    void matMulInteger() throws Exception {
        new M(10).input("a", randomInts(DType.UINT8, 3, 4, 5)).init("b", randomInts(DType.UINT8, 5, 6))
                .init("az", zp(DType.UINT8, new long[0], 12)).init("bz", zp(DType.UINT8, new long[] {6}, 1, 2, 3, 100, 200, 255))
                .node("MatMulInteger", List.of("a", "b", "az", "bz"), "y").output("y", DType.INT32).check("per-column b zero point");
        new M(10).input("a", randomInts(DType.UINT8, 2, 1, 3, 4)).input("b", randomInts(DType.INT8, 3, 4, 5))
                .node("MatMulInteger", List.of("a", "b"), "y").output("y", DType.INT32).check("broadcast batches u8 x s8");
        new M(10).input("a", randomInts(DType.UINT8, 2, 700)).init("b", randomInts(DType.INT8, 700, 3))
                .node("MatMulInteger", List.of("a", "b"), "y").output("y", DType.INT32).check("K=700 exact");
        new M(10).input("a", randomInts(DType.UINT8, 9)).init("b", randomInts(DType.INT8, 9, 2))
                .node("MatMulInteger", List.of("a", "b"), "y").output("y", DType.INT32).check("1-D a");
    }

    // ------------------------------------------------------------------ com.microsoft ops

    private static M binary(String op, DType t, long[] as, long[] bs) {
        boolean u = t == DType.UINT8;
        return new M(13).ms().input("a", randomInts(t, as)).init("as", Tensor.of(new float[] {0.04f})).init("az", zp(t, new long[0], u ? 130 : -4))
                .input("b", randomInts(t, bs)).init("bs", Tensor.of(new float[] {0.07f})).init("bz", zp(t, new long[0], u ? 90 : 11))
                .init("cs", Tensor.of(new float[] {u ? 0.09f : 0.11f})).init("cz", zp(t, new long[0], u ? 125 : 2))
                .msNode(op, List.of("a", "as", "az", "b", "bs", "bz", "cs", "cz"), "c", Map.of()).output("c", t);
    }

    @Test
    void qlinearAddAndMulBroadcasting() throws Exception {
        for (String op : new String[] {"QLinearAdd", "QLinearMul"}) {
            for (DType t : new DType[] {DType.UINT8, DType.INT8}) {
                binary(op, t, new long[] {2, 3, 4, 5}, new long[] {2, 3, 4, 5}).check(op + " " + t + " same shape");
                binary(op, t, new long[] {2, 3, 4, 5}, new long[] {3, 1, 5}).check(op + " " + t + " broadcast");
                binary(op, t, new long[] {1, 4}, new long[] {3, 1}).check(op + " " + t + " both broadcast");
                binary(op, t, new long[] {2, 8, 3, 3}, new long[0]).check(op + " " + t + " scalar b");
                binary(op, t, new long[0], new long[] {2, 8, 3, 3}).check(op + " " + t + " scalar a");
                binary(op, t, new long[] {2, 8, 3, 3}, new long[] {1, 8, 1, 1}).check(op + " " + t + " per-channel b");
                binary(op, t, new long[] {8, 1, 1}, new long[] {2, 8, 3, 3}).check(op + " " + t + " per-channel a");
            }
        }
    }

    @Test
    void qlinearGlobalAveragePool() throws Exception {
        for (DType t : new DType[] {DType.UINT8, DType.INT8}) {
            for (long last : new long[] {0, 1}) {
                long[] shape = last == 0 ? new long[] {2, 16, 7, 7} : new long[] {2, 7, 7, 16};
                boolean u = t == DType.UINT8;
                new M(13).ms().input("x", randomInts(t, shape)).init("xs", Tensor.of(new float[] {0.05f})).init("xz", zp(t, new long[0], u ? 100 : -10))
                        .init("ys", Tensor.of(new float[] {0.02f})).init("yz", zp(t, new long[0], u ? 128 : 3))
                        .msNode("QLinearGlobalAveragePool", List.of("x", "xs", "xz", "ys", "yz"), "y", Map.of("channels_last", Attribute.of(last)))
                        .output("y", t).check("QLinearGlobalAveragePool " + t + " channels_last=" + last);
            }
        }
    }

    @Test
    void qlinearSigmoid() throws Exception {
        for (DType t : new DType[] {DType.UINT8, DType.INT8}) {
            boolean u = t == DType.UINT8;
            new M(13).ms().input("x", randomInts(t, 4, 64)).init("xs", Tensor.of(new float[] {0.06f})).init("xz", zp(t, new long[0], u ? 128 : 0))
                    .init("ys", Tensor.of(new float[] {1f / 256})).init("yz", zp(t, new long[0], u ? 0 : -128))
                    .msNode("QLinearSigmoid", List.of("x", "xs", "xz", "ys", "yz"), "y", Map.of())
                    .output("y", t).checkWithin1("QLinearSigmoid " + t);
        }
    }

    @Test
    void badAttributesGiveModelErrors() {
        M m = new M(21).input("x", randomFloats(1, 2, 6)).init("s", Tensor.of(new float[] {1f, 2f, 3f}, 3))
                .node("QuantizeLinear", List.of("x", "s"), "q", Map.of("axis", Attribute.of(1L))).output("q", DType.UINT8);
        io.condense.ir.ModelException e = org.junit.jupiter.api.Assertions.assertThrows(io.condense.ir.ModelException.class, m::runCondense);
        assertTrue(e.getMessage().contains("scale"), e.getMessage());
    }

    // ------------------------------------------------------------------ data helpers

    static Tensor randomFloats(double scale, long... shape) {
        float[] v = new float[(int) Tensor.checkedSize(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (RNG.nextGaussian() * scale);
        return Tensor.of(v, shape);
    }

    static Tensor randomInts(DType t, long... shape) {
        Tensor r = Tensor.zeros(t, shape);
        long lo = t.minValue(), hi = t.maxValue();
        for (int i = 0; i < r.size(); i++) r.setDouble(i, lo + (long) (RNG.nextDouble() * (hi - lo + 1)));
        return r;
    }

    static Tensor zp(DType t, long[] shape, long... v) {
        int n = (int) Tensor.checkedSize(shape);
        Tensor r = Tensor.zeros(t, shape);
        for (int i = 0; i < n; i++) r.setDouble(i, v[v.length == 1 ? 0 : i]);
        return r;
    }

    // ------------------------------------------------------------------ model + ORT helper

    /** A small model under construction, with its feeds; runs on ORT and on the CPU backend. */
    static final class M {
        final Graph.Builder b = Graph.builder().name("quant_test");
        final Map<String, Tensor> feeds = new LinkedHashMap<>();

        M(int opset) { b.opset("", opset).irVersion(opset >= 21 ? 10 : 7); }

        M ms() { b.opset("com.microsoft", 1); return this; }

        M input(String n, Tensor t) { b.addInput(new ValueInfo(n, t.type())); feeds.put(n, t); return this; }

        M init(String n, Tensor t) { b.initializer(n, t); return this; }

        M node(String op, List<String> in, String out) { return node(op, in, out, Map.of()); }

        M node(String op, List<String> in, String out, Map<String, Attribute> a) {
            b.addNode(new Node(out + "_node", op, "", in, List.of(out), a));
            return this;
        }

        M msNode(String op, List<String> in, String out, Map<String, Attribute> a) {
            b.addNode(new Node(out + "_node", op, "com.microsoft", in, List.of(out), a));
            return this;
        }

        M output(String n, DType t) { b.addOutput(new ValueInfo(n, new TensorType(t, null))); return this; }

        Map<String, Tensor> runCondense() {
            try (Session s = Backends.cpu().open(b.build())) {
                return s.run(feeds);
            }
        }

        void check(String what) throws OrtException {
            Map<String, Tensor> want = ort(b.build(), feeds);
            Map<String, Tensor> got = runCondense();
            assertEquals(want.keySet(), got.keySet(), what);
            for (String k : want.keySet()) TensorAssert.assertClose(want.get(k), got.get(k), 0, 0, what + " output " + k);
        }

        void checkWithin1(String what) throws OrtException {
            Map<String, Tensor> want = ort(b.build(), feeds);
            Map<String, Tensor> got = runCondense();
            for (String k : want.keySet()) {
                Tensor e = want.get(k), a = got.get(k);
                assertEquals(e.dtype(), a.dtype(), what);
                assertArrayEquals(e.shape(), a.shape(), what);
                int off = 0;
                for (int i = 0; i < e.size(); i++) {
                    double d = Math.abs(e.getDouble(i) - a.getDouble(i));
                    assertTrue(d <= 1, what + ": element " + i + " is " + a.getDouble(i) + ", ORT " + e.getDouble(i));
                    if (d > 0) off++;
                }
                System.out.println("differing by 1: " + what + ": " + off + " of " + e.size() + " differ by 1");
                assertTrue(off <= Math.max(1, e.size() / 20), what + ": " + off + " of " + e.size() + " elements differ by 1");
            }
        }
    }

    /** Runs a graph on ONNX Runtime (CPU, one thread, no graph optimizations), IR tensors out. */
    static Map<String, Tensor> ort(Graph g, Map<String, Tensor> feeds) throws OrtException {
        return OrtTestSupport.run(OnnxExporter.toBytes(g), feeds, 1, OrtSession.SessionOptions.OptLevel.NO_OPT);
    }
}
