package io.condense.distill;

import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.ValueInfo;
import io.condense.passes.DeadCodeElimination;
import io.condense.passes.GraphPass;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A smaller transformer student made by dropping encoder layers from a BERT-style (post-LayerNorm) ONNX graph, the
 * kept layers initialized with the teacher's weights, as DistilBERT does (Sanh et al. 2019: "one layer out of two").
 *
 * <p>Layers are found by initializer names ({@code encoder.layer.N.*}, {@code layers.N.*}, ... : the
 * {@link Config#layerPattern}): the nodes reading layer N's initializers, plus the nodes (MatMul with anonymous
 * weights) whose output such a node reads directly. Layer N's output is the output of its topologically last node
 * (the final LayerNorm of a post-LN layer); its input is the activation its first node (the query projection) reads,
 * which must be layer N-1's output for N > 0. Dropping layer N rewires the readers of its output to its input; the
 * dropped nodes and initializers go with {@link DeadCodeElimination}. Pre-LN layers (residual Add after the last
 * named node) are refused by the structure check.
 */
public final class LayerDrop implements GraphPass {
    /** Default: {@code layer.N.} / {@code layers.N.} / {@code layer_N_} / {@code h.N.} / {@code block.N.} in initializer names. */
    public static final String DEFAULT_PATTERN = "(?:^|[./_])(?:layer|layers|h|block|blocks)[./_](\\d+)[./_]";

    /**
     * @param keep         indices of the layers to keep, as the initializer names number them (a student keeps its
     *                     teacher's numbering); empty: embeddings only
     * @param layerPattern regex with one group capturing the layer index in initializer names
     */
    public record Config(List<Integer> keep, String layerPattern) {
        public Config {
            if (keep == null) throw new ModelException("layer drop needs the layers to keep");
            keep = List.copyOf(new TreeSet<>(keep));
            for (int k : keep) if (k < 0) throw new ModelException("layer index must be >= 0, got " + k);
            if (layerPattern == null || layerPattern.isBlank()) layerPattern = DEFAULT_PATTERN;
            try {
                if (Pattern.compile(layerPattern).matcher("").groupCount() < 1) throw new ModelException("layer pattern needs a group capturing the layer index");
            } catch (java.util.regex.PatternSyntaxException e) {
                throw new ModelException("bad layer pattern: " + e.getDescription());
            }
        }

        public Config(List<Integer> keep) { this(keep, DEFAULT_PATTERN); }

        /** Keeps every {@code stride}-th of {@code layers} layers counting back from the last (6 layers, stride 2: 1, 3, 5). */
        public static Config everyNth(int layers, int stride) {
            if (layers < 1 || stride < 1) throw new ModelException("layers and stride must be positive");
            List<Integer> k = new ArrayList<>();
            for (int i = layers - 1; i >= 0; i -= stride) k.add(i);
            Collections.reverse(k);
            return new Config(k);
        }
    }

    /** One encoder layer: its index, the residual-stream value entering and leaving it, and its nodes. */
    public record Layer(int index, String input, String output, List<Node> nodes) {}

    private final Config cfg;

    public LayerDrop(Config cfg) { this.cfg = cfg; }

    @Override public String name() { return "layer-drop"; }

    /**
     * The encoder layers of {@code g} in order (indices as named, not necessarily 0..n-1); throws when none are found
     * or they do not form a chain (each layer reading the previous one's output).
     */
    public static List<Layer> layers(Graph g, String layerPattern) {
        Pattern p = Pattern.compile(layerPattern == null ? DEFAULT_PATTERN : layerPattern);
        Map<String, Integer> initLayer = new HashMap<>();
        for (String name : g.initializers().keySet()) {
            Matcher m = p.matcher(name);
            if (m.find()) initLayer.put(name, Integer.parseInt(m.group(1)));
        }
        if (initLayer.isEmpty()) throw new ModelException("no encoder layers found: no initializer name matches " + p.pattern());
        List<Node> order = g.topologicalOrder();
        Map<Node, Integer> pos = new HashMap<>();
        for (int i = 0; i < order.size(); i++) pos.put(order.get(i), i);
        Map<Node, Integer> tag = new LinkedHashMap<>();
        for (Node n : order) {
            for (String in : n.inputs()) {
                Integer l = initLayer.get(in);
                if (l == null) continue;
                Integer prev = tag.put(n, l);
                if (prev != null && !prev.equals(l)) throw new ModelException(n.label() + " reads initializers of layers " + prev + " and " + l);
            }
        }
        // nodes with anonymous weights (MatMul onnx::MatMul_787) whose output a named node of the layer reads
        Map<String, Node> producers = g.producers();
        for (Map.Entry<Node, Integer> e : new ArrayList<>(tag.entrySet())) {
            for (String in : e.getKey().inputs()) {
                Node q = producers.get(in);
                if (q == null || tag.containsKey(q)) continue;
                boolean readsWeight = q.inputs().stream().anyMatch(v -> g.initializers().containsKey(v) && !initLayer.containsKey(v));
                if (readsWeight && q.opType().matches("MatMul|Gemm|Conv")) tag.put(q, e.getValue());
            }
        }
        TreeMap<Integer, List<Node>> byLayer = new TreeMap<>();
        for (Map.Entry<Node, Integer> e : tag.entrySet()) byLayer.computeIfAbsent(e.getValue(), k -> new ArrayList<>()).add(e.getKey());
        List<Layer> out = new ArrayList<>();
        for (Map.Entry<Integer, List<Node>> e : byLayer.entrySet()) {
            List<Node> nodes = e.getValue();
            nodes.sort((a, b) -> Integer.compare(pos.get(a), pos.get(b)));
            Node first = nodes.get(0), last = nodes.get(nodes.size() - 1);
            String input = null;
            for (String in : first.inputs()) {
                if (!in.isEmpty() && !g.initializers().containsKey(in)) input = in;
            }
            if (input == null) throw new ModelException("layer " + e.getKey() + ": its first node " + first.label() + " reads no activation");
            if (last.outputs().isEmpty()) throw new ModelException("layer " + e.getKey() + ": last node has no output");
            out.add(new Layer(e.getKey(), input, last.output(0), List.copyOf(nodes)));
        }
        for (int i = 1; i < out.size(); i++) {
            if (!out.get(i).input().equals(out.get(i - 1).output())) {
                throw new ModelException("layer " + out.get(i).index() + " reads '" + out.get(i).input() + "', not layer "
                        + out.get(i - 1).index() + "'s output '" + out.get(i - 1).output()
                        + "' (only post-LayerNorm BERT-style encoders are supported)");
            }
        }
        return out;
    }

    @Override
    public Graph apply(Graph g) {
        List<Layer> layers = layers(g, cfg.layerPattern());
        Set<Integer> present = new TreeSet<>();
        for (Layer l : layers) present.add(l.index());
        for (int k : cfg.keep()) {
            if (!present.contains(k)) throw new ModelException("layer " + k + " does not exist: the model has layers " + present);
        }
        Set<Integer> keep = new HashSet<>(cfg.keep());
        // a dropped layer's output becomes the (resolved) value that entered it
        Map<String, String> rename = new HashMap<>();
        for (Layer l : layers) {
            if (keep.contains(l.index())) continue;
            rename.put(l.output(), rename.getOrDefault(l.input(), l.input()));
        }
        Graph.Builder b = g.toBuilder();
        List<Node> nodes = new ArrayList<>();
        for (Node n : g.nodes()) {
            List<String> in = new ArrayList<>(n.inputs());
            boolean changed = false;
            for (int i = 0; i < in.size(); i++) {
                String r = rename.get(in.get(i));
                if (r != null) {
                    in.set(i, r);
                    changed = true;
                }
            }
            nodes.add(changed ? n.withInputs(in) : n);
        }
        Set<String> names = new HashSet<>(g.initializers().keySet());
        for (Node n : g.nodes()) names.addAll(n.outputs());
        for (ValueInfo o : g.outputs()) {
            String r = rename.get(o.name());
            if (r == null) continue;
            String nn = o.name() + "_layerdrop";
            while (names.contains(nn)) nn += "_";
            names.add(nn);
            // the dropped layer's last node (which produced the output) goes with dead-code elimination
            nodes.removeIf(n -> n.outputs().contains(o.name()));
            nodes.add(new Node(nn, "Identity", "", List.of(r), List.of(o.name()), Map.of()));
        }
        b.nodes(nodes);
        return new DeadCodeElimination().apply(b.build().sorted());
    }
}
