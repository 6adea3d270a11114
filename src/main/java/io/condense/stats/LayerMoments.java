package io.condense.stats;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;

/**
 * Second moments of one layer's input over calibration data, for the layer-wise objectives of Wanda, SparseGPT/OBS
 * and GPTQ: per column the sum of squares {@code sum_rows x_j^2} and optionally {@code X^T X} (the layer Hessian
 * {@code H = 2 X^T X / n} up to its factor), plus the number of rows summed.
 *
 * <p>Each calibration batch contributes one chunk partial ({@link #add}: computed from that batch's rows only),
 * keyed by the batch's global index; partials are combined by {@link OrderedSum}, so the result is bit for bit the
 * same whether the batches were processed in one process or in any number of partitions merged in any order.
 * Serializable (Spark ships partition results to the driver).
 */
public final class LayerMoments implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int cols;
    private final OrderedSum sumSquares;
    private final OrderedSum xtx;
    private long rows, hessianRows;

    /** @param hessian whether to accumulate {@code X^T X} (cols^2 values) besides the column sums of squares */
    public LayerMoments(int cols, boolean hessian) {
        this.cols = cols;
        this.sumSquares = new OrderedSum(cols);
        this.xtx = hessian ? new OrderedSum(Math.multiplyExact(cols, cols)) : null;
    }

    public int cols() { return cols; }

    public boolean hasHessian() { return xtx != null; }

    /**
     * Adds batch {@code chunk}'s rows {@code a} ([rows][cols], any float type; converted to double). Only the first
     * {@code hessianTake} rows go into {@code X^T X} ({@code < 0}: all); every row goes into the sums of squares.
     */
    public void add(long chunk, INDArray a, long hessianTake) {
        if (a.rank() != 2 || a.size(1) != cols) throw new IllegalArgumentException("expected [rows][" + cols + "], got " + java.util.Arrays.toString(a.shape()));
        if (a.dataType() != DataType.DOUBLE) a = a.castTo(DataType.DOUBLE);
        sumSquares.add(chunk, a.mul(a).sum(0).toDoubleVector());
        rows += a.size(0);
        if (xtx == null) return;
        long take = hessianTake < 0 ? a.size(0) : Math.min(hessianTake, a.size(0));
        double[] c;
        if (take <= 0) {
            c = new double[cols * cols];
        } else {
            INDArray h = take < a.size(0) ? a.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, take), org.nd4j.linalg.indexing.NDArrayIndex.all()).dup('c') : a;
            c = h.transpose().mmul(h).dup('c').data().asDouble();
        }
        xtx.add(chunk, c);
        hessianRows += Math.max(0, take);
    }

    /** Adds rows given as a row-major double array. */
    public void add(long chunk, double[] rowMajor, long hessianTake) {
        add(chunk, Nd4j.create(rowMajor, new long[] {rowMajor.length / cols, cols}, DataType.DOUBLE), hessianTake);
    }

    public LayerMoments merge(LayerMoments o) {
        if (o.cols != cols || (o.xtx == null) != (xtx == null)) throw new IllegalArgumentException("layer moments differ in shape");
        sumSquares.merge(o.sumSquares);
        if (xtx != null) xtx.merge(o.xtx);
        rows += o.rows;
        hessianRows += o.hessianRows;
        return this;
    }

    /** Rows seen (all of them count for the sums of squares). */
    public long rows() { return rows; }

    /** Rows summed into {@code X^T X}. */
    public long hessianRows() { return hessianRows; }

    /** Batches (chunks) added. */
    public long chunks() { return sumSquares.chunks(); }

    public double[] sumSquares() { return sumSquares.total(); }

    /** {@code X^T X} as [cols][cols]; null when not accumulated. */
    public double[][] xtx() {
        if (xtx == null) return null;
        double[] f = xtx.total();
        double[][] h = new double[cols][cols];
        for (int i = 0; i < cols; i++) System.arraycopy(f, i * cols, h[i], 0, cols);
        return h;
    }
}
