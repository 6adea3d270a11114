package io.condense.distill;

import io.condense.ir.ModelException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Map;

/**
 * FitNets-style hint: weight * mean((s W - t)^2) between a named intermediate student tensor and a teacher tensor.
 * Rank-2 tensors [N, D] compare rows; rank >= 3 tensors [N, C, ...] compare channel vectors at each position, so
 * spatial sizes must agree. When the widths (D or C) differ, a learned linear projection W [ds, dt] (a 1x1
 * convolution for feature maps) maps the student into the teacher's width; it is trained with the student and
 * dropped afterwards. Equal widths use the identity.
 */
public final class HintTerm implements LossTerm {
    private final String student, teacher;
    private final double weight;
    private final long seed;
    private INDArray w;

    public HintTerm(String student, String teacher, double weight, long seed) {
        this.student = student;
        this.teacher = teacher;
        this.weight = weight;
        this.seed = seed;
    }

    @Override public String name() { return "hint:" + student; }

    @Override public List<String> studentTensors() { return List.of(student); }

    @Override public List<String> teacherTensors() { return List.of(teacher); }

    @Override public Map<String, INDArray> parameters() { return w == null ? Map.of() : Map.of("hint." + student + ".proj", w); }

    /** [rows, width] view with the channel axis last. */
    static INDArray rows(INDArray x) {
        if (x.rank() == 2) return x;
        int r = x.rank();
        int[] perm = new int[r];
        perm[0] = 0;
        for (int i = 1; i < r - 1; i++) perm[i] = i + 1;
        perm[r - 1] = 1;
        return x.permute(perm).dup('c').reshape('c', x.length() / x.size(1), x.size(1));
    }

    static INDArray unrows(INDArray g, long[] shape) {
        if (shape.length == 2) return g;
        int r = shape.length;
        long[] perm = new long[r];
        perm[0] = shape[0];
        for (int i = 1; i < r - 1; i++) perm[i] = shape[i + 1];
        perm[r - 1] = shape[1];
        int[] back = new int[r];
        back[0] = 0;
        back[1] = r - 1;
        for (int i = 2; i < r; i++) back[i] = i - 1;
        return g.reshape('c', perm).permute(back).dup('c');
    }

    @Override public Value apply(Map<String, INDArray> s, Map<String, INDArray> t, int[] labels) {
        INDArray xs = s.get(student), xt = t.get(teacher).castTo(xs.dataType());
        if (xs.rank() != xt.rank() || xs.size(0) != xt.size(0)) {
            throw new ModelException("hint: student '" + student + "' " + java.util.Arrays.toString(xs.shape()) + " and teacher '" + teacher + "' "
                    + java.util.Arrays.toString(xt.shape()) + " are incompatible");
        }
        for (int i = 2; i < xs.rank(); i++) {
            if (xs.size(i) != xt.size(i)) throw new ModelException("hint: spatial sizes of '" + student + "' and '" + teacher + "' differ");
        }
        INDArray a = rows(xs), b = rows(xt);
        long ds = a.size(1), dt = b.size(1);
        if (ds != dt && w == null) {
            java.util.Random r = new java.util.Random(seed);
            double lim = Math.sqrt(6.0 / (ds + dt));
            double[] v = new double[(int) (ds * dt)];
            for (int i = 0; i < v.length; i++) v[i] = (r.nextDouble() * 2 - 1) * lim;
            w = Nd4j.create(v, new long[] {ds, dt}, 'c').castTo(xs.dataType());
        }
        INDArray p = w == null ? a : a.mmul(w);
        INDArray diff = p.sub(b);
        double n = diff.length();
        double value = weight * diff.mul(diff).sumNumber().doubleValue() / n;
        INDArray dP = diff.mul(2 * weight / n);
        INDArray dA = w == null ? dP : dP.mmul(w.transpose());
        Map<String, INDArray> pg = w == null ? Map.of() : Map.of("hint." + student + ".proj", a.transpose().mmul(dP));
        return new Value(value, Map.of(student, unrows(dA, xs.shape()).castTo(xs.dataType() == DataType.DOUBLE ? DataType.DOUBLE : xs.dataType())), pg);
    }
}
