package io.condense.export.trt;

import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.onnx.ModelFiles;
import io.condense.onnx.OnnxImporter;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Everything of an engine build that needs no TensorRT: the model is loaded and checked, the shape profiles are
 * validated against its inputs, and what decides the engine's precision and sparsity is read from the file (TensorRT 11
 * is strongly typed: FP16 layers need FP16 tensors in the ONNX, INT8 layers Q/DQ pairs).
 *
 * @param bytes          the ONNX file as given to the parser
 * @param graph          the loaded model
 * @param qdqNodes       QuantizeLinear + DequantizeLinear nodes
 * @param floatWeights   float initializer element counts by dtype (FLOAT32, FLOAT16, BFLOAT16)
 * @param sparseWeights  Conv/Gemm/MatMul nodes whose weight is 2:4 sparse along its reduction axis, with the weight name
 * @param denseWeights   Conv/Gemm/MatMul nodes with a constant weight that is not 2:4 sparse
 * @param warnings       what will make the engine slower than the user may expect
 */
public record OnnxPreparation(byte[] bytes, Graph graph, int qdqNodes, Map<DType, Long> floatWeights,
                              Map<String, String> sparseWeights, List<String> denseWeights, List<String> warnings) {

    /** Loads and checks {@code cfg.model()} and validates {@code cfg.shapes()} against it. */
    public static OnnxPreparation of(TrtExportConfig cfg) {
        byte[] bytes = ModelFiles.readAll(cfg.model(), "model");
        Graph g = OnnxImporter.fromBytes(bytes, cfg.model().toAbsolutePath().getParent(), cfg.model().toString());
        ShapeProfile.validate(cfg.shapes(), g);
        int qdq = 0;
        for (Node n : g.nodes()) if (n.opType().equals("QuantizeLinear") || n.opType().equals("DequantizeLinear")) qdq++;
        Map<DType, Long> fw = new LinkedHashMap<>();
        for (Tensor t : g.initializers().values()) if (t.dtype().isFloating()) fw.merge(t.dtype(), (long) t.size(), Long::sum);
        Map<String, String> sparse = new LinkedHashMap<>();
        List<String> dense = new ArrayList<>();
        for (Node n : g.nodes()) {
            int axis = reductionAxis(g, n);
            if (axis < 0) continue;
            String wname = weightSource(g, n.input(1));
            Tensor w = wname == null ? null : g.initializers().get(wname);
            if (w == null || w.rank() < 2) continue;
            if (io.condense.prune.NmCheck.conforms(w, axis, 2, 4)) sparse.put(n.name(), wname);
            else dense.add(n.name());
        }
        List<String> warn = new ArrayList<>();
        long f32 = fw.getOrDefault(DType.FLOAT32, 0L), f16 = fw.getOrDefault(DType.FLOAT16, 0L) + fw.getOrDefault(DType.BFLOAT16, 0L);
        if (qdq == 0 && f16 == 0) {
            warn.add("the model has FP32 weights and no Q/DQ: TensorRT 11 builds an FP32/TF32 engine; export an FP16 ONNX (condense convert MODEL --float fp16; "
                    + "for INT8: condense quantize ... --float fp16) first");
        } else if (qdq > 0 && f32 > 0 && f16 == 0) {
            warn.add("Q/DQ model whose other weights are FP32: the layers between Q/DQ pairs run in FP32 (TensorRT 11 takes precision from the file); "
                    + "convert the rest to FP16 for a fast INT8 engine (condense convert MODEL --float fp16)");
        }
        if (cfg.sparsity() && sparse.isEmpty()) warn.add("--sparsity is set but no Conv/Gemm/MatMul weight is 2:4 sparse: no sparse tactic can be chosen");
        if (!cfg.sparsity() && !sparse.isEmpty()) {
            warn.add(sparse.size() + " weight(s) are 2:4 sparse but --sparsity is off: TensorRT will not use sparse tactics");
        }
        return new OnnxPreparation(bytes, g, qdq, fw, sparse, dense, warn);
    }

    /** The weight's reduction axis (input channels of Conv, K of Gemm/MatMul), or -1 for other ops. */
    static int reductionAxis(Graph g, Node n) {
        return switch (n.opType()) {
            case "Conv" -> 1;
            case "Gemm" -> n.attrLong("transB", 0) != 0 ? 1 : 0;
            case "MatMul" -> 0; // B is [K, N] (rank 2)
            default -> -1;
        };
    }

    /** The initializer behind a weight input, through a DequantizeLinear (QDQ weights), or null. */
    static String weightSource(Graph g, String value) {
        if (value == null || value.isEmpty()) return null;
        if (g.initializers().containsKey(value)) return value;
        for (Node p : g.nodes()) {
            if (p.outputs().contains(value) && p.opType().equals("DequantizeLinear") && g.initializers().containsKey(p.input(0))) return p.input(0);
        }
        return null;
    }

    /** A short summary for the command's output. */
    public String summary() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "model: %d nodes, %d Q/DQ nodes, float weights", graph.nodes().size(), qdqNodes));
        if (floatWeights.isEmpty()) b.append(" none");
        floatWeights.forEach((k, v) -> b.append(' ').append(k.name().toLowerCase(Locale.ROOT)).append('=').append(v));
        b.append(String.format(Locale.ROOT, "; 2:4-sparse weights %d of %d", sparseWeights.size(), sparseWeights.size() + denseWeights.size()));
        return b.toString();
    }
}
