package io.condense.prune.structured;

import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;

import java.util.Map;

/**
 * Read access to the constant values of a graph: initializers, and {@code ConstantOfShape} nodes with a
 * constant shape (the "light" ONNX test models keep their weights that way). A uniform constant is sliced by
 * rewriting its shape, so pruning never materializes it.
 */
final class Consts {
    private final Graph g;
    private final Map<String, Node> producers;

    Consts(Graph g) {
        this.g = g;
        this.producers = g.producers();
    }

    /** A constant float value: either dense data or one value repeated over a shape. */
    record Value(long[] shape, float[] data, float uniform) {
        int rank() { return shape.length; }

        long dim(int axis) { return shape[axis]; }

        int size() { return (int) Tensor.checkedSize(shape); }

        float get(int i) { return data == null ? uniform : data[i]; }

        boolean isUniform() { return data == null; }
    }

    boolean isConst(String name) { return get(name) != null; }

    /** The constant float value of {@code name}, or null when it is not a float constant. */
    Value get(String name) {
        if (name == null || name.isEmpty()) return null;
        Tensor t = g.initializers().get(name);
        if (t != null) {
            if (t.dtype() != DType.FLOAT32) return null;
            return new Value(t.shape(), (float[]) t.data(), 0f);
        }
        Node p = producers.get(name);
        if (p == null) return null;
        if (p.opType().equals("ConstantOfShape")) {
            Tensor shape = g.initializers().get(p.input(0));
            if (shape == null) return null;
            float v = 0f;
            if (p.hasAttr("value")) {
                Tensor vt = p.attr("value").asTensor();
                if (vt.dtype() != DType.FLOAT32) return null;
                v = ((float[]) vt.data())[0];
            }
            return new Value(shape.toLongArray(), null, v);
        }
        return null;
    }

    /** The integer values of a constant (initializer), or null. */
    long[] longs(String name) {
        if (name == null || name.isEmpty()) return null;
        Tensor t = g.initializers().get(name);
        if (t == null || (t.dtype() != DType.INT64 && t.dtype() != DType.INT32)) return null;
        return t.toLongArray();
    }

    Node producer(String name) { return producers.get(name); }
}
