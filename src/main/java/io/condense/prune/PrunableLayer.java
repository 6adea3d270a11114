package io.condense.prune;

import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.ShapeInference;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A weight that pruning can mask: the float32 weight initializer of a Conv, Gemm or MatMul node, seen as a matrix
 * {@code [rows = output features][cols = input features]}: Gemm with {@code transB=1} stores {@code [N, K]} as is,
 * Gemm {@code transB=0} and MatMul store {@code [K, N]} (transposed here), Conv stores
 * {@code [Cout, Cin/group, kh, kw]} (columns ordered {@code ci * kh*kw + position}).
 *
 * <p>N:M groups run along the input channels as NVIDIA's sparse tensor cores require: {@code M} consecutive input
 * channels of one output at one kernel position, i.e. columns {@code c, c + stride, ..., c + (M-1) stride} with
 * {@code stride = kh*kw} for Conv and 1 for Gemm/MatMul.
 *
 * @param node       the (first) node reading the weight
 * @param op         Conv, Gemm or MatMul
 * @param weight     initializer name
 * @param activation the node's data input (the layer input calibration statistics are taken of)
 * @param shape      the initializer's shape
 * @param kLast      for 2-D weights: stored {@code [N, K]} (Gemm transB=1)
 * @param transA     Gemm transA=1 (the activation is {@code [K, batch]})
 * @param macs       multiply-accumulates per sample (Conv: times the output spatial size; -1 when unknown)
 */
public record PrunableLayer(String node, String op, String weight, String activation, long[] shape, boolean kLast, boolean transA,
                            long group, long macs) {
    public int rows() { return (int) (op.equals("Conv") ? shape[0] : kLast ? shape[0] : shape[1]); }

    public int cols() { return (int) (Tensor.checkedSize(shape) / rows()); }

    public long size() { return Tensor.checkedSize(shape); }

    /** Column stride between the members of an N:M group (kh*kw for Conv, 1 otherwise). */
    public int nmStride() { return op.equals("Conv") ? (int) (Tensor.checkedSize(shape) / (shape[0] * shape[1])) : 1; }

    /** Input channels (Conv: Cin per group; Gemm/MatMul: K). */
    public int inChannels() { return op.equals("Conv") ? (int) shape[1] : cols(); }

    /** The weight as {@code [rows][cols]} doubles. */
    public double[][] matrix(Tensor w) {
        float[] f = w.toFloatArray();
        int r = rows(), c = cols();
        double[][] m = new double[r][c];
        if (op.equals("Conv") || kLast) {
            for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) m[i][j] = f[i * c + j];
        } else { // [K, N]
            for (int k = 0; k < c; k++) for (int n = 0; n < r; n++) m[n][k] = f[k * r + n];
        }
        return m;
    }

    /** Index into the initializer's flat data of matrix element (row, col). */
    public int flatIndex(int row, int col) {
        return op.equals("Conv") || kLast ? row * cols() + col : col * rows() + row;
    }

    /** A float32 initializer of this layer's shape from a {@code [rows][cols]} matrix. */
    public Tensor tensor(double[][] m) {
        float[] f = new float[(int) size()];
        for (int i = 0; i < rows(); i++) for (int j = 0; j < cols(); j++) f[flatIndex(i, j)] = (float) m[i][j];
        return Tensor.of(f, shape.clone());
    }

    /** A float32 0/1 mask of this layer's shape from a {@code [rows][cols]} keep matrix. */
    public Tensor maskTensor(boolean[][] keep) {
        float[] f = new float[(int) size()];
        for (int i = 0; i < rows(); i++) for (int j = 0; j < cols(); j++) if (keep[i][j]) f[flatIndex(i, j)] = 1f;
        return Tensor.of(f, shape.clone());
    }

    /**
     * The prunable layers of {@code g}, in node order: Conv/Gemm/MatMul whose weight input is a float32
     * initializer (not a graph input) of rank 4 (Conv) or 2 (Gemm/MatMul). A weight read by several nodes is
     * listed once (its first reader).
     */
    public static List<PrunableLayer> find(Graph g) {
        Set<String> inputs = new HashSet<>();
        for (ValueInfo v : g.inputs()) inputs.add(v.name());
        Map<String, TensorType> types;
        try {
            types = ShapeInference.inferTypes(g);
        } catch (RuntimeException e) {
            types = Map.of();
        }
        Map<String, PrunableLayer> out = new LinkedHashMap<>();
        for (Node n : g.nodes()) {
            if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx")) continue;
            String op = n.opType();
            if (!op.equals("Conv") && !op.equals("Gemm") && !op.equals("MatMul")) continue;
            String w = n.input(1);
            Tensor t = inputs.contains(w) ? null : g.initializers().get(w);
            if (t == null || t.dtype() != DType.FLOAT32 || out.containsKey(w)) continue;
            if (op.equals("Conv") ? t.rank() != 4 : t.rank() != 2) continue;
            boolean gemm = op.equals("Gemm");
            long macs = Tensor.checkedSize(t.shape());
            if (op.equals("Conv")) {
                TensorType y = types.get(n.output(0));
                long spatial = -1;
                if (y != null && y.hasRank() && y.rank() == 4 && y.dims().get(2).isKnown() && y.dims().get(3).isKnown()) {
                    spatial = y.dims().get(2).value() * y.dims().get(3).value();
                }
                macs = spatial < 0 ? -1 : macs * spatial;
            } else if (op.equals("MatMul")) {
                TensorType x = types.get(n.input(0));
                if (x != null && x.hasRank() && x.rank() > 2) { // [.., S, K] x [K, N]: times the rows per sample
                    long rows = 1;
                    for (int i = 1; i < x.rank() - 1; i++) rows = x.dims().get(i).isKnown() && rows > 0 ? rows * x.dims().get(i).value() : -1;
                    macs = rows < 0 ? -1 : macs * rows;
                }
            }
            out.put(w, new PrunableLayer(n.name().isEmpty() ? n.output(0) : n.name(), op, w, n.input(0), t.shape(),
                    gemm && n.attrLong("transB", 0) != 0, gemm && n.attrLong("transA", 0) != 0, n.attrLong("group", 1), macs));
        }
        return new ArrayList<>(out.values());
    }

    @Override
    public String toString() { return node + " (" + op + " " + weight + " " + java.util.Arrays.toString(shape) + ")"; }

    @Override
    public boolean equals(Object o) { return o instanceof PrunableLayer p && p.weight.equals(weight) && p.node.equals(node); }

    @Override
    public int hashCode() { return weight.hashCode(); }
}
