package io.condense.backend.cpu;

import io.condense.ir.DType;
import io.condense.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Random;

import static io.condense.backend.cpu.OrtRef.as;
import static io.condense.backend.cpu.OrtRef.longs;
import static io.condense.backend.cpu.OrtRef.op;

/** Reduction kernels against ONNX Runtime: axes as attribute (before opset 13/18) and as input (after). */
class ReduceKernelsTest {
    private final Random rnd = new Random(11);

    private static final long[][] AXES = {{1}, {-1}, {0, 2}, {-3, -2, -1}, {2, 0}};

    @ParameterizedTest
    @ValueSource(strings = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
            "ReduceSumSquare", "ReduceLogSumExp"})
    void floatReductions(String opType) {
        Tensor a = OrtRef.uniform(rnd, -1.5f, 1.5f, 2, 3, 4);
        int inputFrom = opType.equals("ReduceSum") ? 13 : 18;
        for (long keep = 0; keep <= 1; keep++) {
            // attribute form
            op(opType).opset(11).attr("keepdims", keep).in(a).out(DType.FLOAT32).check();
            for (long[] axes : AXES) op(opType).opset(11).attrs("axes", axes).attr("keepdims", keep).in(a).out(DType.FLOAT32).check();
            if (inputFrom == 18) {
                op(opType).opset(13).attrs("axes", 1).attr("keepdims", keep).in(a).out(DType.FLOAT32).check();
            }
            // input form
            for (long[] axes : AXES) op(opType).opset(inputFrom).attr("keepdims", keep).in(a).in(longs(axes)).out(DType.FLOAT32).check();
            op(opType).opset(inputFrom).attr("keepdims", keep).in(a).out(DType.FLOAT32).check();
            op(opType).opset(inputFrom).attr("keepdims", keep).in(a).in(Tensor.of(new long[0], 0)).out(DType.FLOAT32).check();
            op(opType).opset(inputFrom).attr("keepdims", keep).attr("noop_with_empty_axes", 1L).in(a).out(DType.FLOAT32).check();
            op(opType).opset(inputFrom).attr("keepdims", keep).attr("noop_with_empty_axes", 1L).in(a).in(Tensor.of(new long[0], 0)).out(DType.FLOAT32).check();
        }
        op(opType).opset(inputFrom).in(as(a, DType.FLOAT64)).in(longs(-1)).out(DType.FLOAT64).check();
    }

    @Test
    void logSum() {
        Tensor a = OrtRef.uniform(rnd, 0.1f, 2f, 2, 3, 4);
        op("ReduceLogSum").opset(13).attrs("axes", 1).in(a).out(DType.FLOAT32).check();
        op("ReduceLogSum").opset(18).attr("keepdims", 0L).in(a).in(longs(0, 2)).out(DType.FLOAT32).check();
        op("ReduceLogSum").opset(18).attr("noop_with_empty_axes", 1L).in(a).out(DType.FLOAT32).check();
    }

    @Test
    void float16ReduceMean() {
        Tensor a = as(OrtRef.uniform(rnd, -2f, 2f, 4, 8), DType.FLOAT16);
        op("ReduceMean").opset(13).attrs("axes", -1).in(a).out(DType.FLOAT16).tol(2e-3).check();
        op("ReduceSum").opset(13).in(a).in(longs(0)).out(DType.FLOAT16).tol(2e-3).check();
    }

    @Test
    void integerReductions() {
        for (DType dt : List.of(DType.INT32, DType.INT64)) {
            Tensor a = OrtRef.ints(rnd, -5, 6, dt, 2, 3, 4);
            for (String opType : List.of("ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceMean", "ReduceSumSquare", "ReduceL1")) {
                int inputFrom = opType.equals("ReduceSum") ? 13 : 18;
                op(opType).opset(11).attrs("axes", 1).in(a).out(dt).check();
                op(opType).opset(inputFrom).attr("keepdims", 0L).in(a).in(longs(0, -1)).out(dt).check();
                op(opType).opset(inputFrom).in(a).out(dt).check();
            }
        }
    }

    @Test
    void argMaxArgMin() {
        Tensor a = OrtRef.randn(rnd, 3, 4, 5);
        Tensor ties = OrtRef.ints(rnd, 0, 3, DType.INT64, 3, 4, 5);
        for (String opType : List.of("ArgMax", "ArgMin")) {
            for (long axis : new long[] {0, 1, 2, -1, -3}) {
                for (long keep = 0; keep <= 1; keep++) {
                    op(opType).opset(11).attr("axis", axis).attr("keepdims", keep).in(a).out(DType.INT64).check();
                    op(opType).opset(13).attr("axis", axis).attr("keepdims", keep).in(ties).out(DType.INT64).check();
                    op(opType).opset(12).attr("axis", axis).attr("keepdims", keep).attr("select_last_index", 1L).in(ties).out(DType.INT64).check();
                    op(opType).opset(13).attr("axis", axis).attr("keepdims", keep).attr("select_last_index", 1L)
                            .in(as(ties, DType.FLOAT32)).out(DType.INT64).check();
                }
            }
            op(opType).opset(13).in(a).out(DType.INT64).check();
            op(opType).opset(13).in(as(ties, DType.INT32)).out(DType.INT64).check();
            op(opType).opset(13).in(as(a, DType.FLOAT64)).attr("axis", 1L).out(DType.INT64).check();
        }
    }
}
