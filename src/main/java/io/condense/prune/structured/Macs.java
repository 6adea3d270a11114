package io.condense.prune.structured;

import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.ShapeInference;
import io.condense.ir.TensorType;

import java.util.Map;

/** Multiply-accumulates of Conv, Gemm and MatMul nodes for one sample (symbolic dimensions count as 1). */
public final class Macs {
    private Macs() {}

    public static long count(Graph g) {
        Map<String, TensorType> t = ShapeInference.inferTypes(g);
        Consts cs = new Consts(g);
        long total = 0;
        for (Node n : g.nodes()) {
            switch (n.opType()) {
                case "Conv" -> {
                    Consts.Value w = cs.get(n.input(1));
                    long out = elements(t.get(n.output(0)));
                    if (w == null || out < 0) continue;
                    total += out * (w.size() / w.dim(0)); // each output reads Cin/group * kernel weights
                }
                case "Gemm", "MatMul" -> {
                    TensorType a = t.get(n.input(0));
                    long out = elements(t.get(n.output(0)));
                    if (a == null || !a.hasRank() || out < 0) continue;
                    Dim k = a.dims().get(n.attrLong("transA", 0) != 0 ? 0 : a.rank() - 1);
                    if (k.isKnown()) total += out * k.value();
                }
                default -> { }
            }
        }
        return total;
    }

    private static long elements(TensorType t) {
        if (t == null || !t.hasRank()) return -1;
        long e = 1;
        for (Dim d : t.dims()) e *= d.isKnown() ? d.value() : 1;
        return e;
    }
}
