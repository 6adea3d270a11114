package io.condense.ir;

import java.util.HashSet;
import java.util.Set;

/** Structural checks of a graph; each failure is a {@link ModelException} naming the bad node or value. */
public final class GraphValidator {
    private GraphValidator() {}

    public static void validate(Graph g) { validate(g, Set.of()); }

    public static void validate(Graph g, Set<String> outerScope) {
        if (g.outputs().isEmpty()) throw new ModelException("graph '" + g.name() + "' has no outputs");
        Set<String> defined = new HashSet<>(outerScope);
        for (ValueInfo v : g.inputs()) {
            if (!defined.add(v.name()) && !outerScope.contains(v.name())) {
                throw new ModelException("graph input '" + v.name() + "' is listed twice");
            }
        }
        for (String init : g.initializers().keySet()) defined.add(init);
        for (Node n : g.nodes()) {
            if (n.opType().isEmpty()) throw new ModelException("node " + n.label() + " has no op type");
            for (String o : n.outputs()) {
                if (o.isEmpty()) continue;
                if (!defined.add(o) && !outerScope.contains(o)) {
                    throw new ModelException("node " + n.label() + " writes '" + o + "', which is already defined");
                }
            }
        }
        for (ValueInfo o : g.outputs()) {
            if (!defined.contains(o.name())) {
                throw new ModelException("graph output '" + o.name() + "' is not produced by any node, input or initializer");
            }
        }
        g.topologicalOrder(outerScope); // undefined inputs and cycles
        for (Node n : g.nodes()) {
            for (Attribute a : n.attributes().values()) {
                if (a.kind() == Attribute.Kind.GRAPH) validate(a.asGraph(), defined);
                if (a.kind() == Attribute.Kind.GRAPHS) for (Graph sub : a.asGraphs()) validate(sub, defined);
            }
        }
    }
}
