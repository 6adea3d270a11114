package io.condense.passes;

import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Removes Identity nodes and inference-mode Dropout nodes (whose mask output is unused): readers of the
 * output read the input instead. When the output is a graph output, the producer of the input is renamed
 * to write the graph output directly (unless the input is itself a graph input, initializer or output, in
 * which case the node stays).
 */
public final class IdentityElimination implements GraphPass {
    @Override
    public String name() { return "identity-elimination"; }

    @Override
    public Graph apply(Graph g) {
        Set<String> graphOutputs = new HashSet<>();
        for (ValueInfo o : g.outputs()) graphOutputs.add(o.name());
        Set<String> graphInputs = new HashSet<>(g.initializers().keySet());
        for (ValueInfo i : g.inputs()) graphInputs.add(i.name());
        Map<String, List<Node>> consumers = g.consumers();
        Set<String> subgraphReads = new HashSet<>(); // names inside If/Loop bodies cannot be renamed from here
        for (Node n : g.nodes()) subgraphReads.addAll(DeadCodeElimination.subgraphReads(n));
        Map<String, String> rename = new HashMap<>();
        Set<Node> removed = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Node n : g.nodes()) {
            if (!removable(g, n, consumers)) continue;
            String in = resolve(rename, n.input(0));
            String out = n.output(0);
            if (subgraphReads.contains(in) || subgraphReads.contains(out)) continue;
            if (graphOutputs.contains(out)) {
                // out must keep its name: rename the producer of `in` instead, if that is safe
                if (graphInputs.contains(in) || graphOutputs.contains(in)) continue;
                rename.put(in, out);
            } else {
                rename.put(out, in);
            }
            removed.add(n);
        }
        if (removed.isEmpty()) return g;
        List<Node> nodes = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (removed.contains(n)) continue;
            List<String> ins = n.inputs().stream().map(i -> i.isEmpty() ? i : resolve(rename, i)).toList();
            List<String> outs = n.outputs().stream().map(o -> o.isEmpty() ? o : resolve(rename, o)).toList();
            nodes.add(new Node(n.name(), n.opType(), n.domain(), ins, outs, n.attributes()));
        }
        Map<String, io.condense.ir.ValueInfo> vi = new java.util.LinkedHashMap<>();
        g.valueInfo().forEach((k, v) -> { if (!rename.containsKey(k)) vi.put(k, v); });
        return g.toBuilder().nodes(nodes).valueInfo(vi).build();
    }

    private static String resolve(Map<String, String> rename, String v) {
        for (int guard = 0; guard < 10_000 && rename.containsKey(v); guard++) v = rename.get(v);
        return v;
    }

    private static boolean removable(Graph g, Node n, Map<String, List<Node>> consumers) {
        if (!n.domain().isEmpty() || !n.hasInput(0) || n.output(0).isEmpty()) return false;
        if (!DeadCodeElimination.subgraphReads(n).isEmpty()) return false;
        if (n.opType().equals("Identity")) return true;
        if (!n.opType().equals("Dropout")) return false;
        if (!n.output(1).isEmpty() && consumers.containsKey(n.output(1))) return false; // mask is used
        for (ValueInfo o : g.outputs()) if (o.name().equals(n.output(1))) return false;
        int opset = g.opset();
        if (opset < 7 && n.attrLong("is_test", 0) == 0) return false; // training-mode dropout in old opsets
        if (opset >= 12 && n.hasInput(2)) {
            Tensor t = g.initializers().get(n.input(2));
            return t != null && t.size() == 1 && t.getDouble(0) == 0; // training_mode must be a constant false
        }
        return true;
    }
}
