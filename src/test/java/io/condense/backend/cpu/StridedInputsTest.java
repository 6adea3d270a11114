package io.condense.backend.cpu;

import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Kernels must not assume dense C-ordered inputs: other kernels may hand them Fortran-ordered arrays or views.
 * Each op runs on dense inputs and on the same values laid out as an 'f'-ordered copy and as a strided view; the
 * outputs must agree (exactly, up to float summation order).
 */
class StridedInputsTest {
    private final Random rnd = new Random(5);

    private INDArray[] run(String op, int opset, Map<String, Attribute> attrs, INDArray... in) {
        List<String> ins = new ArrayList<>();
        for (int i = 0; i < in.length; i++) ins.add(in[i] == null ? "" : "i" + i);
        Node n = new Node("n", op, "", ins, List.of("o0", "o1"), attrs);
        return KernelRegistry.standard().get("", op).run(new OpContext(n, opset, in, new DType[in.length]));
    }

    /** The same values as {@code a}: an 'f'-ordered copy, and a transposed-back view of a transposed copy. */
    private static List<INDArray> layouts(INDArray a) {
        List<INDArray> l = new ArrayList<>();
        l.add(a);
        if (a.rank() >= 2) {
            l.add(a.dup('f'));
            int r = a.rank();
            int[] rev = new int[r];
            for (int i = 0; i < r; i++) rev[i] = r - 1 - i;
            l.add(a.permute(rev).dup('c').permute(rev));
        }
        return l;
    }

    private void same(String op, int opset, Map<String, Attribute> attrs, INDArray... in) {
        INDArray[] want = run(op, opset, attrs, in);
        for (int k = 0; k < in.length; k++) {
            if (in[k] == null) continue;
            for (INDArray alt : layouts(in[k])) {
                INDArray[] args = in.clone();
                args[k] = alt;
                INDArray[] got = run(op, opset, attrs, args);
                for (int j = 0; j < want.length; j++) {
                    if (want[j] == null) continue;
                    Tensor w = Nd.toTensor(want[j], null);
                    Tensor g = Nd.toTensor(got[j], null);
                    String what = op + " input " + k + " as " + alt.ordering() + (alt.isView() ? " view" : "");
                    assertEquals(w.dtype(), g.dtype(), what);
                    assertArrayEquals(w.shape(), g.shape(), what);
                    // exact, except float sums that may be accumulated in another order for another layout
                    double tol = w.dtype().isFloating() ? 1e-6 : 0;
                    for (int i = 0; i < w.size(); i++) {
                        if (Double.isNaN(w.getDouble(i)) && Double.isNaN(g.getDouble(i))) continue;
                        assertEquals(w.getDouble(i), g.getDouble(i), tol * Math.max(1, Math.abs(w.getDouble(i))), what + " element " + i);
                    }
                }
            }
        }
    }

    private INDArray f(long... shape) { return Nd4j.rand(DataType.FLOAT, shape).subi(0.5).muli(4); }

    private INDArray l(long... shape) {
        long[] v = new long[(int) Arrays.stream(shape).reduce(1, (p, q) -> p * q)];
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextInt(7) - 3;
        return Nd4j.createFromArray(v).reshape('c', shape);
    }

    private static Map<String, Attribute> a(Object... kv) {
        Map<String, Attribute> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            Object v = kv[i + 1];
            m.put((String) kv[i], v instanceof long[] ls ? Attribute.of(ls) : v instanceof Float fl ? Attribute.of(fl) : Attribute.of(((Number) v).longValue()));
        }
        return m;
    }

    @Test
    void elementwise() {
        for (String op : List.of("Add", "Sub", "Mul", "Div", "Max", "Min")) {
            same(op, 13, a(), f(3, 4), f(3, 4));
            same(op, 13, a(), f(2, 3, 4), f(3, 1));
            same(op, 13, a(), l(3, 4), l(3, 1).addi(5));
        }
        same("Pow", 13, a(), f(3, 4).addi(3), f(3, 4));
        for (String op : List.of("Erf", "Sqrt", "Exp", "Tanh", "Sigmoid", "Round", "Abs", "Neg", "Relu")) same(op, 13, a(), f(3, 5));
        same("Softmax", 13, a("axis", 1), f(2, 3, 4));
        same("Softmax", 11, a("axis", 1), f(2, 3, 4));
        same("LogSoftmax", 13, a(), f(2, 3, 4));
        same("Cast", 13, a("to", 7), f(3, 4));
        same("Cast", 13, a("to", 1), l(3, 4));
        same("Equal", 13, a(), l(3, 4), l(3, 4));
        same("Less", 13, a(), f(3, 4), f(1, 4));
        same("Where", 16, a(), l(3, 4).gt(0), f(3, 4), f(3, 1));
        same("Clip", 13, a(), f(3, 4), Nd4j.scalar(-0.5f), Nd4j.scalar(0.5f));
    }

    @Test
    void shapeAndReduce() {
        same("Transpose", 13, a("perm", new long[] {1, 2, 0}), f(2, 3, 4));
        same("Reshape", 13, a(), f(2, 3, 4), Nd4j.createFromArray(4L, 6L));
        same("Flatten", 13, a("axis", 2), f(2, 3, 4));
        same("Concat", 13, a("axis", 1), f(2, 3), f(2, 5));
        same("Split", 13, a("axis", 1), f(2, 4));
        same("Slice", 13, a(), f(4, 5), Nd4j.createFromArray(1L, 4L), Nd4j.createFromArray(3L, 0L), Nd4j.createFromArray(0L, 1L),
                Nd4j.createFromArray(1L, -2L));
        same("Gather", 13, a("axis", 1), f(3, 4), Nd4j.createFromArray(3L, 0L, -1L));
        same("Gather", 13, a(), l(4, 2), Nd4j.createFromArray(new int[][] {{1, 0}, {3, 2}}));
        same("Pad", 13, a(), f(3, 4), Nd4j.createFromArray(1L, 0L, 2L, 1L));
        same("Tile", 13, a(), f(2, 3), Nd4j.createFromArray(2L, 2L));
        same("Expand", 13, a(), f(3, 1), Nd4j.createFromArray(2L, 3L, 4L));
        same("Unsqueeze", 13, a(), f(3, 4), Nd4j.createFromArray(1L));
        for (String op : List.of("ReduceSum", "ReduceMean", "ReduceMax", "ReduceL2")) {
            same(op, 13, a("axes", new long[] {1}), f(2, 3, 4));
            same(op, 18, a("keepdims", 0), f(2, 3, 4), Nd4j.createFromArray(0L, 2L));
        }
        same("ReduceSum", 13, a("keepdims", 0), l(3, 4), Nd4j.createFromArray(1L));
        same("ArgMax", 13, a("axis", 1), f(3, 4));
        same("ArgMin", 13, a("axis", 0), l(3, 4));
    }
}
