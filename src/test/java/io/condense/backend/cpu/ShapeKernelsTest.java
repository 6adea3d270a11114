package io.condense.backend.cpu;

import io.condense.ir.DType;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static io.condense.backend.cpu.OrtRef.as;
import static io.condense.backend.cpu.OrtRef.longs;
import static io.condense.backend.cpu.OrtRef.op;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shape kernels against ONNX Runtime on one-node models. */
class ShapeKernelsTest {
    private final Random rnd = new Random(7);

    private Tensor x(long... shape) { return OrtRef.randn(rnd, shape); }

    @Test
    void flatten() {
        Tensor a = x(2, 3, 4, 5);
        for (long axis : new long[] {0, 1, 2, 3, 4}) op("Flatten").opset(9).attr("axis", axis).in(a).out(DType.FLOAT32).check();
        for (long axis : new long[] {-1, -4, 2}) op("Flatten").opset(13).attr("axis", axis).in(a).out(DType.FLOAT32).check();
        op("Flatten").opset(13).in(OrtRef.ints(rnd, 0, 9, DType.INT64, 3, 2, 2)).out(DType.INT64).check();
    }

    @Test
    void reshape() {
        Tensor a = x(2, 3, 4);
        for (long[] s : new long[][] {{4, 6}, {-1}, {0, -1}, {2, 0, 2, 2}, {-1, 4, 1}, {24}, {1, 1, 24}}) {
            op("Reshape").opset(13).in(a).in(longs(s)).out(DType.FLOAT32).check();
        }
        op("Reshape").opset(14).attr("allowzero", 0L).in(a).in(longs(0, 12)).out(DType.FLOAT32).check();
        op("Reshape").opset(14).attr("allowzero", 1L).in(x(0, 3)).in(longs(3, 0)).out(DType.FLOAT32).check();
        op("Reshape").opset(5).in(OrtRef.ints(rnd, 0, 9, DType.INT32, 6)).in(longs(3, 2)).out(DType.INT32).check();
        op("Reshape").opset(13).in(x(1)).in(Tensor.of(new long[0], 0)).out(DType.FLOAT32).check();
        var bad = op("Reshape").opset(13).in(a).in(longs(5, -1)).out(DType.FLOAT32);
        ModelException e = assertThrows(ModelException.class, () -> OrtRef.cpu(bad.graph(), bad.feeds));
        assertTrue(e.getMessage().contains("cannot reshape"), e.getMessage());
    }

    @Test
    void transpose() {
        Tensor a = x(2, 3, 4);
        op("Transpose").opset(13).in(a).out(DType.FLOAT32).check();
        for (long[] p : new long[][] {{0, 2, 1}, {1, 0, 2}, {2, 0, 1}, {0, 1, 2}}) {
            op("Transpose").opset(13).attrs("perm", p).in(a).out(DType.FLOAT32).check();
        }
        op("Transpose").opset(13).attrs("perm", 0, 2, 1, 3).in(x(2, 3, 4, 5)).out(DType.FLOAT32).check();
        op("Transpose").opset(7).in(OrtRef.ints(rnd, 0, 99, DType.INT64, 3, 5)).out(DType.INT64).check();
    }

    @Test
    void concat() {
        op("Concat").opset(13).attr("axis", 1L).in(x(2, 3)).in(x(2, 1)).in(x(2, 4)).out(DType.FLOAT32).check();
        op("Concat").opset(13).attr("axis", -1L).in(x(2, 3, 2)).in(x(2, 3, 5)).out(DType.FLOAT32).check();
        op("Concat").opset(11).attr("axis", -3L).in(x(1, 3, 2)).in(x(2, 3, 2)).out(DType.FLOAT32).check();
        op("Concat").opset(7).attr("axis", 0L).in(longs(1, 2)).in(longs(3)).in(longs(-1, 7, 8)).out(DType.INT64).check();
        op("Concat").opset(13).attr("axis", 0L).in(x(0, 3)).in(x(2, 3)).out(DType.FLOAT32).check();
        op("Concat").opset(13).attr("axis", 0L).in(x(3)).out(DType.FLOAT32).check();
    }

    @Test
    void otherElementTypes() {
        Tensor h = as(x(3, 4), DType.FLOAT16);
        Tensor b = OrtRef.ints(rnd, 0, 2, DType.BOOL, 3, 4);
        Tensor u8 = OrtRef.ints(rnd, 0, 255, DType.UINT8, 3, 4);
        for (Tensor t : List.of(h, b, u8)) {
            op("Transpose").opset(13).in(t).out(t.dtype()).check();
            op("Concat").opset(13).attr("axis", 1L).in(t).in(t).out(t.dtype()).check();
            op("Slice").opset(13).in(t).in(longs(1, -1)).in(longs(3, -4)).in(longs(0, 1)).in(longs(1, -2)).out(t.dtype()).check();
            op("Gather").opset(13).attr("axis", 1L).in(t).in(longs(3, 0)).out(t.dtype()).check();
            op("Reshape").opset(13).in(t).in(longs(2, -1)).out(t.dtype()).check();
            op("Unsqueeze").opset(13).in(t).in(longs(1)).out(t.dtype()).check();
            op("Expand").opset(13).in(t).in(longs(2, 1, 1)).out(t.dtype()).check();
            op("Tile").opset(13).in(t).in(longs(1, 2)).out(t.dtype()).check();
            op("Split").opset(13).in(t).out(t.dtype()).out(t.dtype()).attr("axis", 1L).check();
        }
        op("Pad").opset(13).in(h).in(longs(1, 0, 0, 1)).out(DType.FLOAT16).check();
        op("Where").opset(16).in(b).in(u8).in(OrtRef.ints(rnd, 0, 255, DType.UINT8, 4)).out(DType.UINT8).check();
    }

    @Test
    void badShapesAreModelExceptions() {
        List<OrtRef.Case> bad = List.of(
                op("Concat").opset(13).attr("axis", 0L).in(x(2, 3)).in(x(2, 4)).out(DType.FLOAT32),
                op("Concat").opset(13).attr("axis", 2L).in(x(2, 3)).out(DType.FLOAT32),
                op("Split").opset(13).in(x(5)).out(DType.FLOAT32).out(DType.FLOAT32),
                op("Split").opset(13).in(x(5)).in(longs(2, 2)).out(DType.FLOAT32).out(DType.FLOAT32),
                op("Slice").opset(13).in(x(5)).in(longs(0)).in(longs(3)).in(longs(0)).in(longs(0)).out(DType.FLOAT32),
                op("Transpose").opset(13).attrs("perm", 0, 0).in(x(2, 3)).out(DType.FLOAT32),
                op("Unsqueeze").opset(13).in(x(2, 3)).in(longs(3)).out(DType.FLOAT32),
                op("Expand").opset(13).in(x(2, 3)).in(longs(4, 3)).out(DType.FLOAT32),
                op("Pad").opset(13).in(x(2, 3)).in(longs(1, 1)).out(DType.FLOAT32),
                op("Tile").opset(13).in(x(2, 3)).in(longs(2)).out(DType.FLOAT32),
                op("Reshape").opset(13).in(x(2, 3)).in(longs(-1, -1)).out(DType.FLOAT32));
        for (OrtRef.Case c : bad) {
            ModelException e = assertThrows(ModelException.class, () -> OrtRef.cpu(c.graph(), c.feeds), c.opType);
            assertTrue(e.getMessage().contains("n0"), e.getMessage());
        }
    }

    @Test
    void split() {
        Tensor a = x(6, 4);
        op("Split").opset(11).in(a).out(DType.FLOAT32).out(DType.FLOAT32).out(DType.FLOAT32).check();
        op("Split").opset(11).attr("axis", 1L).attrs("split", 1, 3).in(a).out(DType.FLOAT32).out(DType.FLOAT32).check();
        op("Split").opset(13).attr("axis", -2L).in(a).in(longs(2, 0, 4)).out(DType.FLOAT32).out(DType.FLOAT32).out(DType.FLOAT32).check();
        op("Split").opset(13).attr("axis", 1L).in(a).out(DType.FLOAT32).out(DType.FLOAT32).check();
        op("Split").opset(18).attr("num_outputs", 3L).attr("axis", 1L).in(x(2, 7)).out(DType.FLOAT32).out(DType.FLOAT32).out(DType.FLOAT32).check();
        op("Split").opset(18).attr("num_outputs", 2L).in(longs(1, 2, 3, 4, 5)).out(DType.INT64).out(DType.INT64).check();
        op("Split").opset(7).attrs("split", 2, 3).in(longs(1, 2, 3, 4, 5)).out(DType.INT64).out(DType.INT64).check();
    }

    @Test
    void slice() {
        Tensor a = x(4, 5, 6);
        op("Slice").opset(9).attrs("starts", 1, 0).attrs("ends", 3, 10).attrs("axes", 0, 2).in(a).out(DType.FLOAT32).check();
        op("Slice").opset(9).attrs("starts", -3, 2).attrs("ends", -1, 1000).in(a).out(DType.FLOAT32).check();
        op("Slice").opset(9).attrs("starts", 2).attrs("ends", 2).attrs("axes", 1).in(a).out(DType.FLOAT32).check();
        long[][][] cases = {
                {{0, 1}, {2, -1}, {0, 2}, {1, 2}},
                {{-1}, {-1000}, {1}, {-1}},
                {{3, 4}, {0, 1}, {0, -1}, {-1, -2}},
                {{10}, {-10}, {2}, {-3}},
                {{0, 0, 0}, {4, 5, 6}, {0, 1, 2}, {2, 3, 4}},
                {{-100}, {100}, {-1}, {1}},
                {{2}, {2}, {0}, {1}},
                {{1, -2}, {1000, -1000}, {1, 2}, {1, -1}},
        };
        for (long[][] c : cases) {
            op("Slice").opset(13).in(a).in(longs(c[0])).in(longs(c[1])).in(longs(c[2])).in(longs(c[3])).out(DType.FLOAT32).check();
        }
        op("Slice").opset(10).in(a).in(longs(1, 1)).in(longs(3, 4)).out(DType.FLOAT32).check();
        op("Slice").opset(11).in(a).in(longs(1)).in(longs(3)).in(longs(-1)).out(DType.FLOAT32).check();
        op("Slice").opset(13).in(a).in(longs(5)).in(longs(0)).in(longs(2)).in(longs(-2)).out(DType.FLOAT32).check();
        op("Slice").opset(13).in(longs(3, 1, 4, 1, 5, 9)).in(Tensor.of(new int[] {-3}, 1)).in(Tensor.of(new int[] {1000}, 1)).out(DType.INT64).check();
        op("Slice").opset(13).in(as(a, DType.INT32)).in(longs(0)).in(longs(-1)).skip().in(longs(3)).out(DType.INT32).check();
    }

    @Test
    void gather() {
        Tensor a = x(5, 4, 3);
        Tensor i64 = longs(0, -1, 3, 3, -5);
        Tensor i32 = Tensor.of(new int[] {2, 0, -2, 1}, 2, 2);
        for (long axis : new long[] {0, 1, -1, 2}) {
            Tensor idx = axis == 0 ? i64 : OrtRef.as(Tensor.of(new long[] {0, -1, 1, 2}, 4), DType.INT64);
            op("Gather").opset(13).attr("axis", axis).in(a).in(idx).out(DType.FLOAT32).check();
            op("Gather").opset(13).attr("axis", axis).in(a).in(i32).out(DType.FLOAT32).check();
            op("Gather").opset(11).attr("axis", axis).in(a).in(Tensor.scalar(-1L).reshape()).out(DType.FLOAT32).check();
        }
        op("Gather").opset(7).in(longs(10, 20, 30)).in(Tensor.of(new long[] {2}, new long[0])).out(DType.INT64).check();
        op("Gather").opset(13).in(OrtRef.ints(rnd, 0, 99, DType.INT32, 6, 2)).in(Tensor.of(new long[] {5, 0, 1, 5, 2, 3}, 2, 3)).out(DType.INT32).check();
        op("Gather").opset(13).in(a).in(Tensor.of(new long[0], 0, 2)).out(DType.FLOAT32).check();
        Tensor ints = OrtRef.ints(rnd, -99, 99, DType.INT64, 3, 4, 5);
        for (long axis : new long[] {0, 1, 2, -2}) {
            op("Gather").opset(13).attr("axis", axis).in(ints).in(Tensor.of(new long[] {2, -1, 0, 1}, 2, 2)).out(DType.INT64).check();
            op("Gather").opset(13).attr("axis", axis).in(as(ints, DType.INT32)).in(Tensor.scalar(1L).reshape()).out(DType.INT32).check();
            op("Concat").opset(13).attr("axis", axis).in(ints).in(ints).out(DType.INT64).check();
        }
        var bad = op("Gather").opset(13).in(a).in(longs(5)).out(DType.FLOAT32);
        ModelException e = assertThrows(ModelException.class, () -> OrtRef.cpu(bad.graph(), bad.feeds));
        assertTrue(e.getMessage().contains("out of range"), e.getMessage());
    }

    @Test
    void squeezeUnsqueeze() {
        Tensor a = x(1, 3, 1, 4);
        op("Squeeze").opset(11).in(a).out(DType.FLOAT32).check();
        op("Squeeze").opset(11).attrs("axes", 0).in(a).out(DType.FLOAT32).check();
        op("Squeeze").opset(11).attrs("axes", -2, 0).in(a).out(DType.FLOAT32).check();
        op("Squeeze").opset(13).in(a).in(longs(2)).out(DType.FLOAT32).check();
        op("Squeeze").opset(13).in(a).out(DType.FLOAT32).check();
        op("Squeeze").opset(21).in(x(1)).in(longs(0)).out(DType.FLOAT32).check();
        Tensor b = x(3, 4);
        op("Unsqueeze").opset(11).attrs("axes", 0).in(b).out(DType.FLOAT32).check();
        op("Unsqueeze").opset(11).attrs("axes", -1, 1).in(b).out(DType.FLOAT32).check();
        op("Unsqueeze").opset(13).in(b).in(longs(0, 3)).out(DType.FLOAT32).check();
        op("Unsqueeze").opset(13).in(b).in(longs(-1)).out(DType.FLOAT32).check();
        op("Unsqueeze").opset(13).in(Tensor.scalar(3L).reshape()).in(longs(0)).out(DType.INT64).check();
        var bad = op("Squeeze").opset(13).in(a).in(longs(1)).out(DType.FLOAT32);
        assertThrows(ModelException.class, () -> OrtRef.cpu(bad.graph(), bad.feeds));
    }

    @Test
    void shapeAndSize() {
        Tensor a = x(2, 3, 4, 5);
        op("Shape").opset(13).in(a).out(DType.INT64).check();
        for (long[] se : new long[][] {{1, 3}, {-2, 100}, {-100, -1}, {3, 1}, {0, 0}}) {
            op("Shape").opset(15).attr("start", se[0]).attr("end", se[1]).in(a).out(DType.INT64).check();
        }
        op("Shape").opset(15).attr("start", -3L).in(a).out(DType.INT64).check();
        op("Shape").opset(15).in(Tensor.scalar(1f)).out(DType.INT64).check();
        op("Size").opset(13).in(a).out(DType.INT64).check();
        op("Size").opset(13).in(x(0, 3)).out(DType.INT64).check();
    }

    @Test
    void pad() {
        Tensor a = x(3, 4);
        for (String mode : List.of("constant", "reflect", "edge")) {
            op("Pad").opset(10).attr("mode", mode).attrs("pads", 1, 2, 2, 1).in(a).out(DType.FLOAT32).check();
            op("Pad").opset(13).attr("mode", mode).in(a).in(longs(0, 3, 2, 0)).out(DType.FLOAT32).check();
            op("Pad").opset(13).attr("mode", mode).in(a).in(longs(2, -1, 0, 1)).out(DType.FLOAT32).check();
        }
        op("Pad").opset(10).attrs("pads", 1, 1, 1, 1).attr("value", 2.5f).in(a).out(DType.FLOAT32).check();
        op("Pad").opset(11).in(a).in(longs(1, 1, 1, 1)).in(Tensor.scalar(-3f)).out(DType.FLOAT32).check();
        op("Pad").opset(13).in(OrtRef.ints(rnd, 0, 9, DType.INT64, 2, 3)).in(longs(1, 0, 0, 2)).in(Tensor.scalar(7L).reshape()).out(DType.INT64).check();
        op("Pad").opset(13).attr("mode", "reflect").in(x(2, 3, 4)).in(longs(0, 2, 3, 0, 1, 3)).out(DType.FLOAT32).check();
        op("Pad").opset(18).in(x(2, 3, 4)).in(longs(1, 2, 0, 3)).skip().in(longs(0, -1)).out(DType.FLOAT32).check();
        op("Pad").opset(19).attr("mode", "wrap").in(a).in(longs(1, 2, 2, 3)).out(DType.FLOAT32).check();
        op("Pad").opset(13).in(a).in(longs(-1, -2, 0, -1)).out(DType.FLOAT32).check();
    }

    @Test
    void expandAndTile() {
        op("Expand").opset(13).in(x(3, 1)).in(longs(2, 3, 4)).out(DType.FLOAT32).check();
        op("Expand").opset(13).in(x(3, 1)).in(longs(1, 1)).out(DType.FLOAT32).check();
        op("Expand").opset(8).in(x(1, 4)).in(longs(3, 1)).out(DType.FLOAT32).check();
        op("Expand").opset(13).in(Tensor.scalar(5L).reshape()).in(longs(2, 2)).out(DType.INT64).check();
        op("Expand").opset(13).in(longs(1, 2, 3)).in(longs(2, 1, 1)).out(DType.INT64).check();
        op("Tile").opset(13).in(x(2, 3)).in(longs(2, 3)).out(DType.FLOAT32).check();
        op("Tile").opset(13).in(x(2, 1, 3)).in(longs(1, 4, 1)).out(DType.FLOAT32).check();
        op("Tile").opset(6).in(OrtRef.ints(rnd, 0, 9, DType.INT32, 3)).in(longs(3)).out(DType.INT32).check();
        op("Tile").opset(13).in(x(2, 3)).in(longs(0, 2)).out(DType.FLOAT32).check();
    }
}
