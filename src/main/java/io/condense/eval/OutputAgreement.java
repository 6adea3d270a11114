package io.condense.eval;

import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.stats.OrderedSum;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Running agreement of one model output with its reference: max and mean absolute difference and top-1 (argmax over
 * the last axis) agreement per row. Mergeable bit for bit: counts and the max are exact, and the sum of absolute
 * differences is one partial per batch, keyed by the batch's global index, combined by {@link OrderedSum}.
 */
public final class OutputAgreement implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String name;
    private long values, rows, agree;
    private double max;
    private final OrderedSum sum = new OrderedSum(1);

    public OutputAgreement(String name) { this.name = name; }

    public String name() { return name; }

    /**
     * Adds batch {@code batch}'s output {@code m} and reference output {@code r}; {@code mask} (text batches, may be
     * null): rows of a [batch, seq, ...] output at padded positions are skipped.
     */
    public void add(long batch, Tensor m, Tensor r, long[][] mask) {
        if (!Arrays.equals(m.shape(), r.shape())) {
            throw new ModelException("output '" + name + "' has shape " + Arrays.toString(m.shape()) + ", the reference's "
                    + Arrays.toString(r.shape()));
        }
        double[] a = m.toDoubleArray(), b = r.toDoubleArray();
        int last = m.rank() == 0 ? 1 : (int) m.dim(-1);
        double part = 0;
        if (last >= 1) {
            boolean masked = mask != null && m.rank() >= 3 && m.dim(0) == mask.length && mask.length > 0 && m.dim(1) == mask[0].length;
            int seq = masked ? mask[0].length : 1, perToken = masked ? a.length / (mask.length * seq) : 0;
            for (int row = 0; row < a.length / last; row++) {
                if (masked) {
                    int token = row * last / perToken;
                    if (mask[token / seq][token % seq] == 0) continue;
                }
                for (int i = row * last; i < (row + 1) * last; i++) {
                    double d = Math.abs(a[i] - b[i]);
                    if (Double.isNaN(d)) d = Double.POSITIVE_INFINITY;
                    max = Math.max(max, d);
                    part += d;
                }
                values += last;
                rows++;
                if (Fidelity.argmax(a, row * last, last) == Fidelity.argmax(b, row * last, last)) agree++;
            }
        }
        sum.add(batch, new double[] {part});
    }

    public OutputAgreement merge(OutputAgreement o) {
        if (!o.name.equals(name)) throw new IllegalArgumentException("cannot merge the agreement of output '" + o.name + "' into '" + name + "'");
        values += o.values;
        rows += o.rows;
        agree += o.agree;
        max = Math.max(max, o.max);
        sum.merge(o.sum);
        return this;
    }

    public Fidelity.OutputReport report() {
        double s = sum.total()[0];
        return new Fidelity.OutputReport(name, values, max, values == 0 ? 0 : s / values, rows, rows == 0 ? Double.NaN : (double) agree / rows);
    }
}
