package io.condense.prune.structured;

import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;

/** Parameter counts that include weights held as ConstantOfShape (as the "light" ONNX test models do). */
public final class Weights {
    private Weights() {}

    /** Elements of all initializers plus the outputs of ConstantOfShape nodes with a constant shape. */
    public static long count(Graph g) {
        long n = g.parameterCount();
        for (Node node : g.nodes()) {
            if (!node.opType().equals("ConstantOfShape")) continue;
            Tensor s = g.initializers().get(node.input(0));
            if (s == null) continue;
            long e = 1;
            for (long d : s.toLongArray()) e *= d;
            n += e;
        }
        return n;
    }
}
