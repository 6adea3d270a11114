package io.condense.quant;

import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.passes.DeadCodeElimination;
import io.condense.passes.GraphPass;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Dynamic INT8 quantization of MatMul (and Gemm) weights, in the form ONNX Runtime's {@code quantize_dynamic}
 * writes (which ORT fuses into its DynamicQuantizeMatMul / MatMulIntegerToFloat kernels):
 *
 * <pre>
 *   x -&gt; DynamicQuantizeLinear -&gt; (xq uint8, x_scale, x_zero_point)      (one per activation, shared by its readers)
 *   MatMulInteger(xq, Wq int8 [K, N], x_zero_point, W_zero_point int8 [N]) -&gt; int32
 *   Cast(float) -&gt; Mul(Mul(x_scale, W_scale [N])) -&gt; y        (Gemm: + Add(bias))
 * </pre>
 *
 * Weights are symmetric INT8, one scale per output column (or per tensor); activations are quantized per tensor at
 * run time, so no calibration data is needed. {@code reduceRange} keeps weights in [-64, 63] (7 bits), which avoids
 * the int16 saturation of u8 x s8 products on CPUs without VNNI.
 *
 * @see <a href="https://onnxruntime.ai/docs/performance/model-optimizations/quantization.html">ORT quantization</a>
 */
public final class DynamicQuantization implements GraphPass {
    /**
     * @param perChannel one weight scale per output column (default) or one per tensor
     * @param reduceRange 7-bit weights
     * @param exclude    node names kept in float
     */
    public record Config(boolean perChannel, boolean reduceRange, List<String> exclude) {
        public Config {
            exclude = exclude == null ? List.of() : List.copyOf(exclude);
        }

        public static Config defaults() { return new Config(true, false, List.of()); }
    }

    private final Config cfg;
    private int quantized;

    public DynamicQuantization(Config cfg) { this.cfg = cfg; }

    @Override
    public String name() { return "dynamic-int8"; }

    /** MatMul/Gemm nodes the last {@link #apply} quantized. */
    public int quantizedNodes() { return quantized; }

    @Override
    public Graph apply(Graph g) {
        quantized = 0;
        Set<String> inputs = new HashSet<>();
        for (ValueInfo v : g.inputs()) inputs.add(v.name());
        Set<String> names = new HashSet<>(g.initializers().keySet());
        for (Node n : g.nodes()) {
            names.add(n.name());
            names.addAll(n.outputs());
        }
        names.addAll(inputs);
        Map<String, Tensor> inits = new LinkedHashMap<>(g.initializers());
        Map<String, String[]> dql = new HashMap<>();
        Map<String, String[]> weights = new HashMap<>();
        List<Node> out = new ArrayList<>();
        java.util.function.Function<String, String> fresh = b -> {
            String s = b;
            for (int i = 1; names.contains(s); i++) s = b + "_" + i;
            names.add(s);
            return s;
        };
        for (Node n : g.nodes()) {
            Tensor w = weightOf(g, n, inputs);
            if (w == null || cfg.exclude().contains(n.name())) {
                out.add(n);
                continue;
            }
            boolean gemm = n.opType().equals("Gemm");
            boolean transB = gemm && n.attrLong("transB", 0) != 0;
            String x = n.input(0);
            String[] q = dql.get(x);
            if (q == null) {
                q = new String[] {fresh.apply(x + "_quantized"), fresh.apply(x + "_scale"), fresh.apply(x + "_zero_point")};
                out.add(new Node(fresh.apply(x + "_DynamicQuantizeLinear"), "DynamicQuantizeLinear", "", List.of(x), List.of(q), Map.of()));
                dql.put(x, q);
            }
            String key = n.input(1) + (transB ? "#T" : "");
            String[] wq = weights.get(key);
            if (wq == null) {
                Tensor kn = transB ? transpose(w) : w;
                QParams p = params(kn);
                wq = new String[] {fresh.apply(n.input(1) + "_quantized"), fresh.apply(n.input(1) + "_scale"), fresh.apply(n.input(1) + "_zero_point")};
                inits.put(wq[0], p.quantize(kn));
                inits.put(wq[1], p.scale());
                inits.put(wq[2], p.zeroPoint());
                weights.put(key, wq);
            }
            String base = n.name().isEmpty() ? n.output(0) : n.name();
            String acc = fresh.apply(base + "_int32"), accF = fresh.apply(base + "_float"), sc = fresh.apply(base + "_scales");
            out.add(new Node(fresh.apply(base + "_MatMulInteger"), "MatMulInteger", "", List.of(q[0], wq[0], q[2], wq[2]), List.of(acc), Map.of()));
            out.add(new Node(fresh.apply(base + "_scales_Mul"), "Mul", "", List.of(q[1], wq[1]), List.of(sc), Map.of()));
            out.add(new Node(fresh.apply(base + "_Cast"), "Cast", "", List.of(acc), List.of(accF), Map.of("to", Attribute.of((long) DType.FLOAT32.onnxCode()))));
            if (gemm && n.hasInput(2)) {
                String y = fresh.apply(base + "_no_bias");
                out.add(new Node(fresh.apply(base + "_Mul"), "Mul", "", List.of(accF, sc), List.of(y), Map.of()));
                out.add(new Node(base + "_bias_Add", "Add", "", List.of(y, n.input(2)), List.of(n.output(0)), Map.of()));
            } else {
                out.add(new Node(base, "Mul", "", List.of(accF, sc), List.of(n.output(0)), Map.of()));
            }
            quantized++;
        }
        if (quantized == 0) throw new ModelException("no MatMul/Gemm with a 2-D float32 weight initializer to quantize dynamically");
        Graph r = g.toBuilder().nodes(out).initializers(inits).build();
        r = QdqEditor.raiseOpset(r, 13); // opset 10 has the ops; 13 keeps one upgrade path with the other modes
        return new DeadCodeElimination().apply(r);
    }

    /**
     * The embedding tables Gather reads (2-D float32 initializers gathered along axis 0, read by nothing else) as
     * INT8 with one symmetric scale per row. The rows are gathered first and dequantized after the Gather
     * ({@link GatherDequantize}), as ONNX Runtime's own INT8 MiniLM does with its (per-tensor) embeddings: a
     * DequantizeLinear of the whole table would run on every inference.
     */
    public static Graph quantizeEmbeddings(Graph g) {
        Set<String> inputs = new HashSet<>();
        for (ValueInfo v : g.inputs()) inputs.add(v.name());
        Map<String, List<Node>> readers = g.consumers();
        QdqEditor e = new QdqEditor(g);
        int n = 0;
        for (int i = 0; i < g.nodes().size(); i++) {
            Node node = g.nodes().get(i);
            if (!node.domain().isEmpty() || !node.opType().equals("Gather") || node.attrLong("axis", 0) != 0) continue;
            Tensor t = inputs.contains(node.input(0)) ? null : g.initializers().get(node.input(0));
            if (t == null || t.dtype() != DType.FLOAT32 || t.rank() != 2) continue;
            if (readers.get(node.input(0)).stream().anyMatch(r -> !r.opType().equals("Gather"))) continue;
            String dq = e.weight(node.input(0), QParams.perChannelSymmetric(QParams.channelAbsMax(t, 0), 0, DType.INT8));
            e.rewire(i, 0, dq);
            n++;
        }
        return n == 0 ? g : new GatherDequantize().apply(e.build());
    }

    private QParams params(Tensor kn) {
        int qmax = cfg.reduceRange() ? 63 : 127;
        double[] amax = cfg.perChannel() ? QParams.channelAbsMax(kn, 1) : new double[] {QParams.absMax(kn)};
        int n = amax.length;
        float[] s = new float[n];
        for (int i = 0; i < n; i++) s[i] = (float) (amax[i] > 0 ? amax[i] / qmax : 1.0);
        Tensor scale = cfg.perChannel() ? Tensor.of(s, n) : Tensor.of(new float[] {s[0]});
        Tensor zp = cfg.perChannel() ? Tensor.zeros(DType.INT8, n) : Tensor.zeros(DType.INT8);
        return new QParams(DType.INT8, scale, zp, cfg.perChannel() ? 1 : QParams.PER_TENSOR, 0);
    }

    /**
     * The 2-D float32 weight initializer of a MatMul (input 1) or of a plain Gemm (alpha = beta = 1, no transA), else null.
     */
    static Tensor weightOf(Graph g, Node n, Set<String> inputs) {
        if (!n.domain().isEmpty()) return null;
        boolean gemm = n.opType().equals("Gemm");
        if (!gemm && !n.opType().equals("MatMul")) return null;
        if (gemm && (n.attrLong("transA", 0) != 0 || n.attrFloat("alpha", 1f) != 1f || n.attrFloat("beta", 1f) != 1f)) return null;
        String w = n.input(1);
        Tensor t = inputs.contains(w) ? null : g.initializers().get(w);
        if (t == null || t.dtype() != DType.FLOAT32 || t.rank() != 2) return null;
        return t;
    }

    static Tensor transpose(Tensor w) {
        int r = (int) w.dim(0), c = (int) w.dim(1);
        float[] a = w.toFloatArray(), b = new float[a.length];
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) b[j * r + i] = a[i * c + j];
        return Tensor.of(b, c, r);
    }
}
