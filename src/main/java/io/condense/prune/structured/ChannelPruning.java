package io.condense.prune.structured;

import io.condense.ir.Graph;
import io.condense.ir.ModelException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Structured channel pruning as a graph pass: builds the {@link DependencyGraph}, removes the lowest-scoring
 * {@code ratio} of the channels of every prunable group (at least one channel stays) and physically rewrites
 * the graph with {@link ChannelPruner}.
 */
public final class ChannelPruning implements io.condense.passes.GraphPass {
    /** @param ratio fraction of each group's channels to remove, in [0, 1) */
    public record Config(double ratio, String criterion) {
        public Config {
            if (!(ratio >= 0 && ratio < 1)) throw new ModelException("channel pruning ratio must be in [0, 1), got " + ratio);
            if (criterion == null) criterion = "l1";
            if (!criterion.equals("l1") && !criterion.equals("l2")) throw new ModelException("unknown channel criterion '" + criterion + "' (l1, l2)");
        }
    }

    /** What pruning did: per group channels before/after, unprunable groups with reasons, inexact folds. */
    public record Report(int groups, int prunable, Map<Integer, int[]> removed, List<String> unprunable,
                         List<String> warnings, long paramsBefore, long paramsAfter) {}

    public record Result(Graph graph, Report report) {}

    private final Config config;
    private final GroupImportance importance;

    public ChannelPruning(Config config) {
        this.config = config;
        this.importance = config.criterion().equals("l2") ? MagnitudeGroupImportance.l2() : MagnitudeGroupImportance.l1();
    }

    @Override
    public String name() { return "channel-pruning"; }

    @Override
    public Graph apply(Graph g) { return run(g).graph(); }

    public Result run(Graph g) {
        DependencyGraph dg = DependencyGraph.build(g);
        Map<Integer, int[]> plan = plan(dg, importance, config.ratio());
        ChannelPruner.Result r = ChannelPruner.prune(dg, plan);
        List<PruningGroup> groups = dg.groups();
        List<String> un = new ArrayList<>();
        for (PruningGroup p : groups) if (!p.prunable()) un.add(p.sourceNodes() + ": " + String.join("; ", p.reasons()));
        Report rep = new Report(groups.size(), (int) groups.stream().filter(PruningGroup::prunable).count(), plan, un,
                r.warnings(), Weights.count(g), Weights.count(r.graph()));
        return new Result(r.graph(), rep);
    }

    /**
     * The uniform channel ratio whose pruned graph keeps at most {@code 1 - macsFraction} of the MACs of {@code g}
     * (bisection over the ratio; each step prunes and counts).
     */
    public static double ratioForMacs(Graph g, double macsFraction, String criterion) {
        if (!(macsFraction >= 0 && macsFraction < 1)) throw new ModelException("MACs fraction must be in [0, 1), got " + macsFraction);
        long base = Macs.count(g);
        double target = base * (1 - macsFraction), lo = 0, hi = 0.95;
        for (int i = 0; i < 12; i++) {
            double mid = (lo + hi) / 2;
            long m = Macs.count(new ChannelPruning(new Config(mid, criterion)).apply(g));
            if (m > target) lo = mid; else hi = mid;
        }
        return hi;
    }

    /** The lowest-scoring {@code round(ratio * size)} channels of every prunable group (keeping one at least). */
    public static Map<Integer, int[]> plan(DependencyGraph dg, GroupImportance imp, double ratio) {
        Map<Integer, int[]> plan = new LinkedHashMap<>();
        for (PruningGroup grp : dg.groups()) {
            if (!grp.prunable()) continue;
            int k = Math.min(grp.size() - 1, (int) Math.round(ratio * grp.size()));
            if (k <= 0) continue;
            double[] s = imp.scores(dg, grp);
            int[] order = IntStream.range(0, s.length).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(i -> s[i]).thenComparing(i -> i))
                    .mapToInt(Integer::intValue).toArray();
            int[] rm = java.util.Arrays.copyOf(order, k);
            java.util.Arrays.sort(rm);
            plan.put(grp.id(), rm);
        }
        return plan;
    }
}
