package io.condense.export.trt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.condense.ir.ModelException;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The per-layer view of a built engine, from TensorRT's engine inspector
 * ({@code IEngineInspector.getEngineInformation(LayerInformationFormat::kJSON)} of an engine built with
 * {@code ProfilingVerbosity::kDETAILED}): {@code {"Layers": [{"Name", "LayerType", "Inputs": [{"Name", "Dimensions",
 * "Format/Datatype"}], "Outputs": [...], "TacticName", ...}], "Bindings": [...]}}. Each layer's input and output
 * precisions are read from the "Format/Datatype" strings ("Row major linear FP32", "Channel major FP16 format where
 * channel % 8 == 0", "Thirty-two wide channel vectorized row major Int8 format", ...).
 *
 * <p>The report answers what users otherwise find out from a slow benchmark: which compute layers did not run in INT8
 * although the model has Q/DQ, which stayed in FP32, how many reformat (copy) layers TensorRT inserted, and whether
 * sparse tactics were chosen for the 2:4 weights.
 */
public final class EngineReport {
    /** One tensor of a layer: name and precision ("FP32", "FP16", "BF16", "INT8", "FP8", "INT32", "INT64", "BOOL", "?"). */
    public record Io(String name, String precision, String format) {}

    /** One engine layer (possibly several fused ONNX nodes, joined with " + " in the name). */
    public record Layer(String name, String type, List<Io> inputs, List<Io> outputs, String tactic) {
        /** A layer that does the network's GEMM/convolution work (the ones INT8 and 2:4 sparsity speed up). */
        public boolean isCompute() {
            String t = type.toLowerCase(Locale.ROOT);
            return t.contains("conv") || t.contains("gemm") || t.contains("matrixmultiply") || t.contains("matmul") || t.contains("fullyconnected");
        }

        /** Inserted by TensorRT to change a tensor's format or precision. */
        public boolean isReformat() { return type.equals("Reformat") || name.startsWith("Reformatting CopyNode"); }

        /** Tactic names of TensorRT's 2:4 kernels contain "sparse". */
        public boolean isSparseTactic() { return tactic.toLowerCase(Locale.ROOT).contains("sparse"); }

        /** A fused layer of the compiler backend (transformers): its inner precisions are not listed. */
        public boolean isMyelin() { return type.equalsIgnoreCase("Myelin"); }

        /** The lowest-precision input, or "?" when none is known. */
        public String inputPrecision() { return lowest(inputs); }

        public String outputPrecision() { return lowest(outputs); }
    }

    private final List<Layer> layers;
    private final List<String> bindings;

    private EngineReport(List<Layer> layers, List<String> bindings) {
        this.layers = List.copyOf(layers);
        this.bindings = List.copyOf(bindings);
    }

    public List<Layer> layers() { return layers; }

    public List<String> bindings() { return bindings; }

    /**
     * Parses the inspector's JSON.
     *
     * @throws ModelException for text that is not the inspector's JSON, or was built without detailed verbosity
     *                        (then "Layers" holds only names)
     */
    public static EngineReport parse(String json) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ModelException("engine inspector output is not JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.has("Layers") || !root.get("Layers").isArray()) {
            throw new ModelException("engine inspector output has no \"Layers\" array");
        }
        List<Layer> out = new ArrayList<>();
        for (JsonNode l : root.get("Layers")) {
            if (l.isTextual()) {
                throw new ModelException("the engine was built without detailed profiling verbosity: the inspector lists layer names only");
            }
            out.add(new Layer(l.path("Name").asText("?"), l.path("LayerType").asText("?"), ios(l.get("Inputs")), ios(l.get("Outputs")),
                    l.path("TacticName").asText("")));
        }
        List<String> b = new ArrayList<>();
        if (root.has("Bindings")) for (JsonNode n : root.get("Bindings")) b.add(n.asText());
        return new EngineReport(out, b);
    }

    private static List<Io> ios(JsonNode a) {
        List<Io> l = new ArrayList<>();
        if (a == null || !a.isArray()) return l;
        for (JsonNode t : a) {
            String f = t.path("Format/Datatype").asText("");
            l.add(new Io(t.path("Name").asText("?"), precision(f), f));
        }
        return l;
    }

    /** The precision named in a "Format/Datatype" string. */
    public static String precision(String formatDatatype) {
        String s = " " + formatDatatype.toLowerCase(Locale.ROOT).replace('.', ' ').replace(',', ' ') + " ";
        if (s.contains(" bf16 ") || s.contains("bfloat16")) return "BF16";
        if (s.contains(" fp16 ") || s.contains(" half ")) return "FP16";
        if (s.contains(" fp32 ") || s.contains(" float ")) return "FP32";
        if (s.contains(" fp8 ") || s.contains(" e4m3 ")) return "FP8";
        if (s.contains(" int8 ") || s.contains(" uint8 ")) return "INT8";
        if (s.contains(" int4 ")) return "INT4";
        if (s.contains(" int32 ")) return "INT32";
        if (s.contains(" int64 ")) return "INT64";
        if (s.contains(" bool ")) return "BOOL";
        return "?";
    }

    private static final List<String> ORDER = List.of("INT4", "FP8", "INT8", "FP16", "BF16", "FP32", "INT32", "INT64", "BOOL");

    static String lowest(List<Io> ios) {
        String best = "?";
        for (Io i : ios) {
            int r = ORDER.indexOf(i.precision());
            if (r >= 0 && (best.equals("?") || r < ORDER.indexOf(best))) best = i.precision();
        }
        return best;
    }

    /** Layers TensorRT inserted to convert formats or precisions. */
    public List<Layer> reformats() { return layers.stream().filter(Layer::isReformat).toList(); }

    /** Layers with a sparse tactic. */
    public List<Layer> sparseLayers() { return layers.stream().filter(Layer::isSparseTactic).toList(); }

    /** Compute layers whose inputs are FP32 (or FP16 where {@code int8} is expected): higher precision than asked. */
    public List<Layer> higherPrecision(boolean int8Expected) {
        return layers.stream().filter(l -> l.isCompute() && !l.isReformat()).filter(l -> {
            String p = l.inputPrecision();
            return p.equals("FP32") || (int8Expected && (p.equals("FP16") || p.equals("BF16")));
        }).toList();
    }

    /** Count of layers per output precision (non-reformat layers). */
    public Map<String, Integer> precisionHistogram() {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (Layer l : layers) if (!l.isReformat()) m.merge(l.outputPrecision(), 1, Integer::sum);
        return m;
    }

    /**
     * Warnings naming the layers that defeat INT8 (compute layers not on INT8 inputs in a Q/DQ model) or 2:4 sparsity
     * (compute layers over 2:4 weights without a sparse tactic, when sparsity was asked for), and the reformat count.
     *
     * @param int8Expected  the ONNX had Q/DQ nodes
     * @param sparseNodes   ONNX node names with 2:4 weights (matched inside fused layer names); empty: any compute layer
     * @param sparsityAsked the sparse-weights flag was set
     */
    public List<String> warnings(boolean int8Expected, Collection<String> sparseNodes, boolean sparsityAsked) {
        List<String> w = new ArrayList<>();
        if (int8Expected) {
            List<String> names = higherPrecision(true).stream().map(Layer::name).toList();
            if (!names.isEmpty()) {
                w.add(names.size() + " compute layer(s) are not INT8 although the model has Q/DQ (missing or misplaced Q/DQ, or no INT8 tactic): "
                        + String.join("; ", names));
            }
        } else {
            List<String> names = higherPrecision(false).stream().map(Layer::name).toList();
            if (!names.isEmpty()) w.add(names.size() + " compute layer(s) run in FP32: " + String.join("; ", names));
        }
        if (sparsityAsked) {
            List<String> names = layers.stream().filter(Layer::isCompute).filter(l -> !l.isSparseTactic())
                    .filter(l -> sparseNodes.isEmpty() || sparseNodes.stream().anyMatch(n -> containsNode(l.name(), n)))
                    .map(Layer::name).toList();
            if (!names.isEmpty()) w.add(names.size() + " layer(s) over 2:4 weights got a dense tactic (2:4 bought nothing there): " + String.join("; ", names));
        }
        int ref = reformats().size();
        if (ref > 0) w.add(ref + " reformat layer(s) inserted (each is a copy, often a precision change between Q/DQ islands)");
        long myelin = layers.stream().filter(Layer::isMyelin).count();
        if (myelin > 0) w.add(myelin + " Myelin layer(s): their inner precisions are not reported by the inspector");
        return w;
    }

    static boolean containsNode(String layerName, String node) {
        for (String part : layerName.split(" \\+ ")) if (part.trim().equals(node)) return true;
        return layerName.equals(node);
    }

    /** A per-layer table, the precision histogram, reformat and sparse counts, then the warnings. */
    public void print(PrintStream out, boolean int8Expected, Collection<String> sparseNodes, boolean sparsityAsked) {
        out.printf(Locale.ROOT, "%-4s %-48s %-22s %-6s %-6s %-6s %s%n", "#", "layer", "type", "in", "out", "sparse", "tactic");
        int i = 0;
        Set<Layer> higher = Set.copyOf(higherPrecision(int8Expected));
        for (Layer l : layers) {
            out.printf(Locale.ROOT, "%-4d %-48s %-22s %-6s %-6s %-6s %s%s%n", i++, cut(l.name(), 48), cut(l.type(), 22), l.inputPrecision(),
                    l.outputPrecision(), l.isSparseTactic() ? "yes" : "", cut(l.tactic(), 60), higher.contains(l) ? "  <- higher precision" : "");
        }
        out.println("layers by output precision: " + precisionHistogram() + "; reformat layers: " + reformats().size()
                + "; sparse tactics: " + sparseLayers().size());
        for (String w : warnings(int8Expected, sparseNodes, sparsityAsked)) out.println("warning: " + w);
    }

    private static String cut(String s, int n) { return s.length() <= n ? s : s.substring(0, n - 3) + "..."; }
}
