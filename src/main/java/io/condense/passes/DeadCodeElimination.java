package io.condense.passes;

import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.ValueInfo;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Removes nodes none of whose outputs reach a graph output, initializers nothing reads, and value_info of
 * values that no longer exist. Graph inputs are kept (they are the model's interface).
 */
public final class DeadCodeElimination implements GraphPass {
    @Override
    public String name() { return "dead-code-elimination"; }

    @Override
    public Graph apply(Graph g) {
        Map<String, Node> producers = g.producers();
        Set<String> live = new HashSet<>();
        Set<Node> keep = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        Deque<String> work = new ArrayDeque<>();
        for (ValueInfo o : g.outputs()) work.add(o.name());
        while (!work.isEmpty()) {
            String v = work.poll();
            if (!live.add(v)) continue;
            Node p = producers.get(v);
            if (p != null && keep.add(p)) {
                for (String i : p.inputs()) if (!i.isEmpty()) work.add(i);
                for (String i : subgraphReads(p)) work.add(i);
            }
        }
        List<Node> nodes = new ArrayList<>();
        for (Node n : g.nodes()) if (keep.contains(n)) nodes.add(n);
        Map<String, io.condense.ir.Tensor> inits = new LinkedHashMap<>();
        g.initializers().forEach((k, t) -> { if (live.contains(k)) inits.put(k, t); });
        Set<String> defined = new HashSet<>(inits.keySet());
        for (Node n : nodes) defined.addAll(n.outputs());
        Map<String, ValueInfo> vi = new LinkedHashMap<>();
        g.valueInfo().forEach((k, v) -> { if (defined.contains(k) && !inits.containsKey(k)) vi.put(k, v); });
        return g.toBuilder().nodes(nodes).initializers(inits).valueInfo(vi).build();
    }

    /** Outer-scope values that subgraph attributes (If/Loop/Scan bodies) read. */
    static Set<String> subgraphReads(Node n) {
        Set<String> s = new HashSet<>();
        for (io.condense.ir.Attribute a : n.attributes().values()) {
            if (a.kind() == io.condense.ir.Attribute.Kind.GRAPH) collect(a.asGraph(), s);
            if (a.kind() == io.condense.ir.Attribute.Kind.GRAPHS) for (Graph sub : a.asGraphs()) collect(sub, s);
        }
        return s;
    }

    private static void collect(Graph sub, Set<String> s) {
        Set<String> local = new HashSet<>(sub.initializers().keySet());
        for (ValueInfo v : sub.inputs()) local.add(v.name());
        for (Node n : sub.nodes()) local.addAll(n.outputs());
        for (Node n : sub.nodes()) {
            for (String i : n.inputs()) if (!i.isEmpty() && !local.contains(i)) s.add(i);
            for (String i : subgraphReads(n)) if (!local.contains(i)) s.add(i);
        }
        for (ValueInfo o : sub.outputs()) if (!local.contains(o.name())) s.add(o.name());
    }
}
