package io.condense.bench;

import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Seeded inputs for a benchmark: a symbolic first dimension becomes the batch, every other symbolic dimension the
 * sequence length; floats uniform in [0, 1); integer inputs named like a mask are ones; other integer inputs are
 * token ids below the smallest embedding table they index (the row count of the Gather initializer they reach,
 * through Cast/Reshape/Unsqueeze/Squeeze/Flatten), else zeros.
 */
public final class BenchInputs {
    private static final Set<String> PASS_THROUGH = Set.of("Cast", "Reshape", "Unsqueeze", "Squeeze", "Flatten", "Identity");

    private BenchInputs() {}

    /** The shape an input gets: symbolic first dim = {@code batch}, other symbolic dims = {@code seq}. */
    public static long[] shape(ValueInfo in, int batch, int seq) {
        if (!in.type().hasRank()) throw new ModelException("input '" + in.name() + "' has no declared rank; bench cannot size it");
        List<Dim> dims = in.type().dims();
        long[] s = new long[dims.size()];
        for (int i = 0; i < s.length; i++) s[i] = dims.get(i).isKnown() ? dims.get(i).value() : i == 0 ? batch : seq;
        return s;
    }

    /** The fixed batch size of the model (its first input's known first dimension), or -1 when it is symbolic. */
    public static long fixedBatch(Graph g) {
        for (ValueInfo v : g.inputs()) {
            if (g.initializers().containsKey(v.name()) || !v.type().hasRank() || v.type().dims().isEmpty()) continue;
            Dim d = v.type().dims().get(0);
            return d.isKnown() ? d.value() : -1;
        }
        return -1;
    }

    /** The exclusive upper bound of valid ids for integer input {@code name}: the smallest table it indexes, or 0 if none. */
    public static long vocab(Graph g, String name) {
        long best = 0;
        Deque<String> todo = new ArrayDeque<>(List.of(name));
        Set<String> seen = new HashSet<>(todo);
        while (!todo.isEmpty()) {
            String v = todo.pop();
            for (Node n : g.nodes()) {
                int at = n.inputs().indexOf(v);
                if (at < 0) continue;
                if (n.opType().equals("Gather") && at == 1) {
                    Tensor table = g.initializers().get(n.input(0));
                    if (table != null && table.rank() >= 1) {
                        long rows = table.dim((int) n.attrLong("axis", 0));
                        best = best == 0 ? rows : Math.min(best, rows);
                    }
                } else if (PASS_THROUGH.contains(n.opType()) && at == 0) {
                    for (String o : n.outputs()) if (seen.add(o)) todo.add(o);
                }
            }
        }
        return best;
    }

    /** One feed for every graph input (initializers excluded) at the given batch and sequence. */
    public static Map<String, Tensor> feeds(Graph g, int batch, int seq, long seed) {
        Random r = new Random(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (ValueInfo in : g.inputs()) {
            if (g.initializers().containsKey(in.name())) continue;
            DType t = in.type().dtype();
            if (t == null) throw new ModelException("input '" + in.name() + "' has no declared element type");
            long[] s = shape(in, batch, seq);
            Tensor x = Tensor.zeros(t, s);
            String lower = in.name().toLowerCase(java.util.Locale.ROOT);
            if (t.isFloating()) {
                for (int i = 0; i < x.size(); i++) x.setDouble(i, r.nextFloat());
            } else if (t == DType.BOOL || lower.contains("mask")) {
                for (int i = 0; i < x.size(); i++) x.setDouble(i, 1);
            } else if (t != DType.STRING) {
                long v = vocab(g, in.name());
                if (v > 0) for (int i = 0; i < x.size(); i++) x.setDouble(i, (double) (long) (r.nextDouble() * Math.min(v, t.maxValue() + 1.0)));
            }
            m.put(in.name(), x);
        }
        return m;
    }
}
