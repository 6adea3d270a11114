package io.condense.prune.structured;

/**
 * L1 or L2 norm of the weights that produce each channel (the group's SOURCE slices: conv filters, Gemm/MatMul
 * columns), summed over the coupled sources of the group (Li et al. 2017, "Pruning Filters for Efficient ConvNets").
 */
public final class MagnitudeGroupImportance implements GroupImportance {
    private final int p;

    public MagnitudeGroupImportance(int p) {
        if (p != 1 && p != 2) throw new IllegalArgumentException("norm must be 1 or 2, got " + p);
        this.p = p;
    }

    public static MagnitudeGroupImportance l1() { return new MagnitudeGroupImportance(1); }

    public static MagnitudeGroupImportance l2() { return new MagnitudeGroupImportance(2); }

    @Override
    public String name() { return "l" + p; }

    @Override
    public double[] scores(DependencyGraph dg, PruningGroup group) {
        double[] s = new double[group.size()];
        for (PruningGroup.Member m : group.members) {
            if (m.role() != PruningGroup.Role.SOURCE) continue;
            Consts.Value v = dg.consts().get(m.value());
            if (v == null) continue;
            long[] shape = v.shape();
            long inner = 1, outer = 1;
            for (int a = m.axis() + 1; a < shape.length; a++) inner *= shape[a];
            for (int a = 0; a < m.axis(); a++) outer *= shape[a];
            double[] norm = new double[group.size()];
            for (int c = m.groupStart(); c < m.groupStart() + m.length(); c++) {
                int from = m.axisOffset() + (c - m.groupStart()) * m.block();
                double acc = 0;
                for (long o = 0; o < outer; o++) {
                    for (int i = from; i < from + m.block(); i++) {
                        long base = (o * shape[m.axis()] + i) * inner;
                        for (long e = base; e < base + inner; e++) {
                            double x = Math.abs(v.get((int) e));
                            acc += p == 1 ? x : x * x;
                        }
                    }
                }
                norm[c] += acc;
            }
            for (int c = 0; c < s.length; c++) s[c] += p == 1 ? norm[c] : Math.sqrt(norm[c]);
        }
        return s;
    }
}
