package io.condense.ir;

import java.util.HashSet;
import java.util.Set;

/** Unique names for values and nodes that passes add to a graph. */
public final class Names {
    private Names() {}

    /** Every name {@code g} uses at its top level: initializers, graph inputs, node names and node outputs. */
    public static Set<String> used(Graph g) {
        Set<String> s = new HashSet<>(g.initializers().keySet());
        for (ValueInfo v : g.inputs()) s.add(v.name());
        for (Node n : g.nodes()) {
            s.add(n.name());
            s.addAll(n.outputs());
        }
        return s;
    }

    /** {@code base}, or {@code base_1}, {@code base_2}, ... : the first not in {@code used}, which it is added to. */
    public static String fresh(Set<String> used, String base) {
        String s = base;
        for (int i = 1; used.contains(s); i++) s = base + "_" + i;
        used.add(s);
        return s;
    }
}
