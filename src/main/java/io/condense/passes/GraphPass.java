package io.condense.passes;

import io.condense.ir.Graph;

/** A graph-to-graph rewrite. Passes never modify their input (graphs are immutable) and keep outputs' values. */
public interface GraphPass {
    Graph apply(Graph g);

    String name();

    /** Applies {@code passes} in order. */
    static Graph run(Graph g, GraphPass... passes) {
        for (GraphPass p : passes) g = p.apply(g);
        return g;
    }
}
