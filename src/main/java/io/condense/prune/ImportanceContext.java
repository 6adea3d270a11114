package io.condense.prune;

import io.condense.data.Dataset;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.train.Losses;
import io.condense.train.Tape;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.PrintStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What criteria may need besides the weights, computed lazily and cached for the current graph: calibration
 * statistics of the layer inputs ({@link LayerInputStats}: norms, Hessians) and first-order Taylor scores from
 * labelled batches. {@link #update} moves the context to a partly pruned graph (sequential layer-by-layer pruning
 * takes each layer's inputs from the already pruned layers before it, as Wanda and SparseGPT do).
 */
public final class ImportanceContext {
    private Graph graph;
    private final Iterable<Map<String, Tensor>> calibration;
    private final int calibrationBatches;
    private final long maxHessianRows;
    private final Dataset labelled;
    private final int gradientBatches, batchSize;
    private final PrintStream progress;
    private final Map<String, LayerInputStats> stats = new HashMap<>();
    private Map<String, double[][]> taylor;
    private boolean hessian;

    /**
     * @param calibration        feeds for the graph inputs (null when no criterion needs them)
     * @param calibrationBatches batches read at most (0 = all)
     * @param maxHessianRows     rows summed into a layer Hessian at most (0 = all)
     * @param labelled           labelled data for Taylor scores (null when not needed)
     * @param gradientBatches    batches of {@code batchSize} for Taylor scores
     */
    public ImportanceContext(Graph graph, Iterable<Map<String, Tensor>> calibration, int calibrationBatches, long maxHessianRows,
                             Dataset labelled, int gradientBatches, int batchSize, PrintStream progress) {
        this.graph = graph;
        this.calibration = calibration;
        this.calibrationBatches = calibrationBatches;
        this.maxHessianRows = maxHessianRows;
        this.labelled = labelled;
        this.gradientBatches = gradientBatches;
        this.batchSize = batchSize;
        this.progress = progress;
    }

    /** A context for criteria that need nothing but the weights. */
    public static ImportanceContext weightsOnly(Graph g) { return new ImportanceContext(g, null, 0, 0, null, 0, 64, null); }

    public Graph graph() { return graph; }

    public boolean hasCalibration() { return calibration != null; }

    public boolean hasLabelledData() { return labelled != null; }

    /** Continue on {@code g} (cached calibration statistics are dropped; Taylor scores are kept). */
    public void update(Graph g) {
        graph = g;
        stats.clear();
    }

    /** Also collect Hessians (X^T X) when statistics are next collected. */
    public void needHessians() { hessian = true; }

    /** Input statistics of {@code layer} in the current graph (collected for this layer alone on first use). */
    public LayerInputStats inputStats(PrunableLayer layer) {
        return inputStats(List.of(layer)).get(layer.weight());
    }

    /** Input statistics of several layers, collected in one pass over the calibration data. */
    public Map<String, LayerInputStats> inputStats(List<PrunableLayer> layers) {
        if (calibration == null) throw new ModelException("this pruning criterion needs calibration data (--data DIR)");
        List<PrunableLayer> missing = layers.stream().filter(l -> !stats.containsKey(l.weight())).toList();
        if (!missing.isEmpty()) stats.putAll(LayerInputStats.collect(graph, missing, calibration, calibrationBatches, hessian, maxHessianRows, progress));
        Map<String, LayerInputStats> out = new HashMap<>();
        for (PrunableLayer l : layers) out.put(l.weight(), stats.get(l.weight()));
        return out;
    }

    /** {@code |w * dL/dw|} averaged over the gradient batches, as [rows][cols] of the layer's matrix. */
    public double[][] taylorScores(PrunableLayer layer) {
        if (labelled == null) throw new ModelException("the taylor criterion needs labelled data (--data DIR)");
        if (taylor == null) taylor = computeTaylor();
        double[][] s = taylor.get(layer.weight());
        if (s == null) throw new ModelException("taylor: no gradient for " + layer.weight());
        return s;
    }

    private Map<String, double[][]> computeTaylor() {
        List<PrunableLayer> layers = PrunableLayer.find(graph);
        java.util.Set<String> weights = new java.util.HashSet<>();
        for (PrunableLayer l : layers) weights.add(l.weight());
        Tape tape = new Tape(graph, weights::contains, DataType.FLOAT, 0);
        String in = graph.inputs().get(0).name(), out = graph.outputs().get(0).name();
        Map<String, INDArray> acc = new HashMap<>();
        int nb = 0;
        for (Dataset.Batch b : labelled.batches(batchSize, true, 12345, true, null)) {
            if (nb >= Math.max(1, gradientBatches)) break;
            Map<String, INDArray> o = tape.forward(Map.of(in, b.x()), false);
            Losses.Loss l = Losses.softmaxCrossEntropy(o.get(out), b.labels(), 0);
            Map<String, INDArray> g = tape.backward(Map.of(out, l.grad()));
            for (String w : weights) {
                INDArray t = org.nd4j.linalg.ops.transforms.Transforms.abs(g.get(w).mul(tape.parameters().get(w)), false);
                acc.merge(w, t, INDArray::addi);
            }
            nb++;
        }
        if (nb == 0) throw new ModelException("taylor: no labelled batches of " + batchSize);
        Map<String, double[][]> res = new HashMap<>();
        for (PrunableLayer l : layers) {
            INDArray a = acc.get(l.weight()).divi(nb);
            float[] f = a.castTo(DataType.FLOAT).dup('c').data().asFloat();
            res.put(l.weight(), l.matrix(Tensor.of(f, l.shape())));
        }
        return res;
    }
}
