package io.condense.backend.cpu;

import io.condense.backend.Session;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.passes.ConstantFolding;
import io.condense.passes.DeadCodeElimination;
import io.condense.passes.Fusion;
import io.condense.passes.IdentityElimination;

import java.util.Map;

/**
 * The cheap rewrites a CPU session applies to its graph when it opens: constant folding (Constant nodes,
 * Shape of static shapes, shape arithmetic and weight reshapes on initializers), Identity/Dropout removal,
 * dead-code elimination, then {@link Fusion} of elementwise epilogues into Conv/MatMul. Outputs' values
 * are unchanged; a node the rewrites cannot handle is left as it is, so run-time errors name the same node.
 * {@code -Dcondense.optimize=false} turns it off (for debugging: the session then runs the graph as given).
 */
final class SessionOptimizer {
    private SessionOptimizer() {}

    static boolean enabled() { return !"false".equalsIgnoreCase(System.getProperty("condense.optimize", "true")); }

    /** The optimized graph, or {@code g} itself when a rewrite fails (the session then reports errors as before). */
    static Graph optimize(Graph g, KernelRegistry registry) { return optimize(g, registry, new Fusion()); }

    /** {@link #optimize(Graph, KernelRegistry)} with the given fusion pass (tests compare fusion choices). */
    static Graph optimize(Graph g, KernelRegistry registry, Fusion fusion) {
        try {
            // folding evaluates one-node graphs on unoptimized sessions (no recursion into this optimizer)
            ConstantFolding.Evaluator eval = oneNode -> {
                try (Session s = new CpuSession(oneNode, registry, false)) {
                    return s.run(Map.of());
                }
            };
            Graph o = new ConstantFolding(eval, Tensor.MAX_ELEMENTS).apply(g);
            o = new IdentityElimination().apply(o);
            o = new DeadCodeElimination().apply(o);
            o = fusion.apply(o);
            return o;
        } catch (RuntimeException | StackOverflowError e) {
            return g;
        }
    }
}
