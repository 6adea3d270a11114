package io.condense.passes;

import io.condense.ir.Graph;

/** A graph-to-graph rewrite. Passes never modify their input (graphs are immutable) and keep outputs' values. */
public interface GraphPass {
    Graph apply(Graph g);

    String name();

    /** The standard inference clean-up: fold constants, drop Identity/Dropout, fold BatchNorm, remove dead code. */
    static java.util.List<GraphPass> standard() {
        return java.util.List.of(new ConstantFolding(), new IdentityElimination(), new BatchNormFolding(),
                new DeadCodeElimination());
    }

    /** Applies {@code passes} in order. */
    static Graph run(Graph g, GraphPass... passes) { return run(g, java.util.List.of(passes)); }

    static Graph run(Graph g, java.util.List<GraphPass> passes) {
        for (GraphPass p : passes) g = p.apply(g);
        return g;
    }
}
