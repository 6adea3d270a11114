package io.condense.ir;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An immutable computation graph with the model-level facts an ONNX file carries (opsets, producer,
 * metadata). Passes take a Graph and return a new one: use {@link #toBuilder()}.
 *
 * <p>{@code inputs} are the graph's runtime inputs (old ONNX files also list initializers there; the importer
 * drops those). {@code valueInfo} holds inferred or imported types of intermediate values.
 */
public final class Graph {
    private final String name;
    private final List<Node> nodes;
    private final List<ValueInfo> inputs;
    private final List<ValueInfo> outputs;
    private final Map<String, Tensor> initializers;
    private final Map<String, ValueInfo> valueInfo;
    private final Map<String, Integer> opsets;
    private final long irVersion;
    private final String producerName;
    private final String producerVersion;
    private final Map<String, String> metadata;

    private Graph(Builder b) {
        this.name = b.name == null ? "" : b.name;
        this.nodes = List.copyOf(b.nodes);
        this.inputs = List.copyOf(b.inputs);
        this.outputs = List.copyOf(b.outputs);
        this.initializers = Collections.unmodifiableMap(new LinkedHashMap<>(b.initializers));
        this.valueInfo = Collections.unmodifiableMap(new LinkedHashMap<>(b.valueInfo));
        this.opsets = Collections.unmodifiableMap(new LinkedHashMap<>(b.opsets));
        this.irVersion = b.irVersion;
        this.producerName = b.producerName == null ? "" : b.producerName;
        this.producerVersion = b.producerVersion == null ? "" : b.producerVersion;
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(b.metadata));
    }

    public static Builder builder() { return new Builder(); }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.name = name;
        b.nodes.addAll(nodes);
        b.inputs.addAll(inputs);
        b.outputs.addAll(outputs);
        b.initializers.putAll(initializers);
        b.valueInfo.putAll(valueInfo);
        b.opsets.putAll(opsets);
        b.irVersion = irVersion;
        b.producerName = producerName;
        b.producerVersion = producerVersion;
        b.metadata.putAll(metadata);
        return b;
    }

    public String name() { return name; }

    public List<Node> nodes() { return nodes; }

    public List<ValueInfo> inputs() { return inputs; }

    public List<ValueInfo> outputs() { return outputs; }

    public Map<String, Tensor> initializers() { return initializers; }

    public Map<String, ValueInfo> valueInfo() { return valueInfo; }

    /** Opset imports: domain ("" for ai.onnx) to version. */
    public Map<String, Integer> opsets() { return opsets; }

    public long irVersion() { return irVersion; }

    public String producerName() { return producerName; }

    public String producerVersion() { return producerVersion; }

    public Map<String, String> metadata() { return metadata; }

    /** The ai.onnx opset version this graph was built for. */
    public int opset() { return opsetOf(""); }

    public int opsetOf(String domain) {
        Integer v = opsets.get(domain);
        if (v == null && domain.isEmpty()) v = opsets.get("ai.onnx");
        return v == null ? 1 : v;
    }

    public ValueInfo input(String n) {
        for (ValueInfo v : inputs) if (v.name().equals(n)) return v;
        return null;
    }

    /** The best known type of a value: graph input/output, value_info or initializer. */
    public TensorType typeOf(String value) {
        Tensor t = initializers.get(value);
        if (t != null) return t.type();
        for (ValueInfo v : inputs) if (v.name().equals(value)) return v.type();
        ValueInfo vi = valueInfo.get(value);
        if (vi != null) return vi.type();
        for (ValueInfo v : outputs) if (v.name().equals(value)) return v.type();
        return TensorType.unknown();
    }

    /** Map from each value to the node that produces it. */
    public Map<String, Node> producers() {
        Map<String, Node> m = new HashMap<>();
        for (Node n : nodes) for (String o : n.outputs()) if (!o.isEmpty()) m.put(o, n);
        return m;
    }

    /** Map from each value to the nodes that read it (in node order). */
    public Map<String, List<Node>> consumers() {
        Map<String, List<Node>> m = new HashMap<>();
        for (Node n : nodes) {
            for (String i : n.inputs()) if (!i.isEmpty()) m.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
        }
        return m;
    }

    /** Number of parameters (elements of all initializers). */
    public long parameterCount() {
        long n = 0;
        for (Tensor t : initializers.values()) n += t.size();
        return n;
    }

    /**
     * The nodes in an order where every node comes after the producers of its inputs (Kahn's algorithm,
     * stable: independent nodes keep their original order). Throws when the graph has a cycle or reads a
     * value nothing defines.
     */
    public List<Node> topologicalOrder() { return topologicalOrder(Set.of()); }

    /** As {@link #topologicalOrder()}, for a subgraph that may also read {@code outerScope} values. */
    public List<Node> topologicalOrder(Set<String> outerScope) {
        Set<String> available = new HashSet<>(initializers.keySet());
        available.addAll(outerScope);
        for (ValueInfo v : inputs) available.add(v.name());
        Map<String, Node> producers = producers();
        Map<Node, Integer> pending = new java.util.IdentityHashMap<>();
        Map<String, List<Node>> waiting = new HashMap<>();
        Deque<Node> ready = new ArrayDeque<>();
        for (Node n : nodes) {
            int missing = 0;
            for (String i : new LinkedHashSetOf(n.inputs())) {
                if (i.isEmpty() || available.contains(i)) continue;
                if (!producers.containsKey(i)) {
                    throw new ModelException("node " + n.label() + " reads '" + i + "', which no node, input or initializer defines");
                }
                missing++;
                waiting.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
            }
            pending.put(n, missing);
            if (missing == 0) ready.add(n);
        }
        List<Node> order = new ArrayList<>(nodes.size());
        while (!ready.isEmpty()) {
            Node n = ready.poll();
            order.add(n);
            for (String o : n.outputs()) {
                List<Node> ws = waiting.remove(o);
                if (ws == null) continue;
                for (Node w : ws) {
                    int left = pending.merge(w, -1, Integer::sum);
                    if (left == 0) ready.add(w);
                }
            }
        }
        if (order.size() != nodes.size()) {
            for (Node n : nodes) {
                if (pending.get(n) > 0) throw new ModelException("graph has a cycle through node " + n.label());
            }
        }
        return order;
    }

    /** This graph with its nodes in topological order. */
    public Graph sorted() { return toBuilder().nodes(topologicalOrder()).build(); }

    @Override
    public String toString() {
        return "Graph(" + name + ", " + nodes.size() + " nodes, inputs=" + inputs + ", outputs=" + outputs + ")";
    }

    /** Ordered distinct view of a list of names (a node may read the same value twice). */
    private static final class LinkedHashSetOf extends java.util.LinkedHashSet<String> {
        LinkedHashSetOf(List<String> l) { super(l); }
    }

    /** Mutable builder; {@link #build()} copies everything. */
    public static final class Builder {
        private String name;
        private final List<Node> nodes = new ArrayList<>();
        private final List<ValueInfo> inputs = new ArrayList<>();
        private final List<ValueInfo> outputs = new ArrayList<>();
        private final Map<String, Tensor> initializers = new LinkedHashMap<>();
        private final Map<String, ValueInfo> valueInfo = new LinkedHashMap<>();
        private final Map<String, Integer> opsets = new LinkedHashMap<>();
        private long irVersion = 8;
        private String producerName = "condense";
        private String producerVersion;
        private final Map<String, String> metadata = new LinkedHashMap<>();

        public Builder name(String n) { name = n; return this; }

        public Builder nodes(List<Node> n) { nodes.clear(); nodes.addAll(n); return this; }

        public Builder addNode(Node n) { nodes.add(n); return this; }

        public Builder inputs(List<ValueInfo> v) { inputs.clear(); inputs.addAll(v); return this; }

        public Builder addInput(ValueInfo v) { inputs.add(v); return this; }

        public Builder outputs(List<ValueInfo> v) { outputs.clear(); outputs.addAll(v); return this; }

        public Builder addOutput(ValueInfo v) { outputs.add(v); return this; }

        public Builder initializers(Map<String, Tensor> m) { initializers.clear(); initializers.putAll(m); return this; }

        public Builder initializer(String n, Tensor t) { initializers.put(n, t); return this; }

        public Builder removeInitializer(String n) { initializers.remove(n); return this; }

        public Builder valueInfo(Map<String, ValueInfo> m) { valueInfo.clear(); valueInfo.putAll(m); return this; }

        public Builder putValueInfo(ValueInfo v) { valueInfo.put(v.name(), v); return this; }

        public Builder opset(String domain, int version) { opsets.put(domain, version); return this; }

        public Builder opsets(Map<String, Integer> m) { opsets.clear(); opsets.putAll(m); return this; }

        public Builder irVersion(long v) { irVersion = v; return this; }

        public Builder producer(String n, String v) { producerName = n; producerVersion = v; return this; }

        public Builder metadata(String k, String v) { metadata.put(k, v); return this; }

        public Builder metadata(Map<String, String> m) { metadata.clear(); metadata.putAll(m); return this; }

        public List<Node> nodes() { return nodes; }

        public Map<String, Tensor> initializers() { return initializers; }

        public Graph build() { return new Graph(this); }
    }
}
