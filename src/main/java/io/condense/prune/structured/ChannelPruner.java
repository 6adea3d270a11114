package io.condense.prune.structured;

import io.condense.ir.Graph;
import io.condense.ir.GraphValidator;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.passes.DeadCodeElimination;
import io.condense.prune.structured.DependencyGraph.Layout;
import io.condense.prune.structured.DependencyGraph.Seg;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Physically removes channels of {@link DependencyGraph} groups: every member slice is cut out of its
 * constant (initializer, or the shape of a ConstantOfShape), Split/Slice/Reshape constants and depthwise group
 * counts are rewritten, and the constant output of each removed channel (its bias after the activation, the
 * BatchNorm beta, ...) is folded into the layers that read it: into the bias of a Gemm, an unpadded Conv or the
 * Add after a MatMul, and as a constant bias map added after a padded Conv (exact at the borders too).
 *
 * <p>The result computes exactly what {@link #mask} computes: the original graph with the weights that produce
 * the removed channels set to zero.
 */
public final class ChannelPruner {
    private ChannelPruner() {}

    /** Which channels are removed, keyed by group root. */
    public static final class Kept {
        private final DependencyGraph dg;
        private final Map<Integer, Set<Integer>> removed = new HashMap<>();

        Kept(DependencyGraph dg, Map<Integer, int[]> rm) {
            this.dg = dg;
            for (Map.Entry<Integer, int[]> e : rm.entrySet()) {
                Set<Integer> s = removed.computeIfAbsent(dg.find(e.getKey()), k -> new HashSet<>());
                for (int c : e.getValue()) s.add(c);
            }
        }

        boolean isRemoved(int group, int channel) {
            if (group < 0) return false;
            Set<Integer> s = removed.get(dg.find(group));
            return s != null && s.contains(channel);
        }

        int removedIn(Seg s) {
            int n = 0;
            for (int c = s.start(); c < s.start() + s.len(); c++) if (isRemoved(s.group(), c)) n++;
            return n;
        }

        /** Kept channels of a layout. */
        int count(Layout l) {
            int n = 0;
            for (Seg s : l.segs()) n += s.len() - removedIn(s);
            return n;
        }

        /** Kept positions of a layout's axis. */
        long width(Layout l) {
            if (l == null) return 0;
            long n = 0;
            for (Seg s : l.segs()) n += (long) (s.len() - removedIn(s)) * s.block();
            return n;
        }

        /** Per unit of the layout: removed? */
        boolean[] removedUnits(Layout l) {
            boolean[] r = new boolean[l.units()];
            int u = 0;
            for (Seg s : l.segs()) for (int k = 0; k < s.len(); k++, u++) r[u] = isRemoved(s.group(), s.start() + k);
            return r;
        }
    }

    /** Collects new initializers with unique names. */
    public static final class Rewriter {
        final Graph.Builder b;
        private int counter;

        Rewriter(Graph.Builder b) { this.b = b; }

        String fresh(String base) {
            String n;
            do n = base + ".pruned" + (counter++ == 0 ? "" : String.valueOf(counter)); while (b.initializers().containsKey(n));
            return n;
        }

        private final Set<String> nodeNames = new HashSet<>();

        String freshNode(String base) {
            if (nodeNames.isEmpty()) for (Node n : b.nodes()) nodeNames.add(n.name());
            String n = base;
            for (int i = 1; nodeNames.contains(n); i++) n = base + i;
            nodeNames.add(n);
            return n;
        }

        String addInitializer(String base, long[] values) {
            String n = fresh(base);
            b.initializer(n, Tensor.of(values.clone(), values.length));
            return n;
        }

        String addInitializer(String base, Tensor t) {
            String n = fresh(base);
            b.initializer(n, t);
            return n;
        }
    }

    /** Outcome of pruning: the graph and notes about inexact folds (empty when the result is exact). */
    public record Result(Graph graph, List<String> warnings) {}

    /** The analysed graph with the weights that produce the removed channels zeroed (same shapes). */
    public static Graph mask(DependencyGraph dg, Map<Integer, int[]> removed) {
        Graph g = dg.graph();
        Kept kept = new Kept(dg, removed);
        Graph.Builder b = g.toBuilder();
        Consts cs = dg.consts();
        List<Node> nodes = new ArrayList<>(g.nodes());
        for (PruningGroup grp : dg.groups()) {
            for (PruningGroup.Member m : grp.members) {
                if (m.role() != PruningGroup.Role.SOURCE) continue;
                Consts.Value v = cs.get(m.value());
                Tensor cur = b.initializers().get(m.value());
                float[] data = cur != null ? ((float[]) cur.data()).clone() : dense(v);
                long[] shape = v.shape();
                for (int c = m.groupStart(); c < m.groupStart() + m.length(); c++) {
                    if (!kept.isRemoved(grp.id(), c)) continue;
                    int from = m.axisOffset() + (c - m.groupStart()) * m.block();
                    zeroRange(data, shape, m.axis(), from, from + m.block());
                }
                if (cur == null) {
                    Node p = cs.producer(m.value());
                    nodes.set(nodes.indexOf(p), p.withOutputs(List.of(m.value() + ".unmasked")));
                }
                b.initializer(m.value(), Tensor.of(data, shape));
            }
        }
        return new DeadCodeElimination().apply(b.nodes(nodes).build());
    }

    private static float[] dense(Consts.Value v) {
        float[] d = new float[v.size()];
        for (int i = 0; i < d.length; i++) d[i] = v.get(i);
        return d;
    }

    private static void zeroRange(float[] data, long[] shape, int axis, int from, int to) {
        long inner = 1;
        for (int a = axis + 1; a < shape.length; a++) inner *= shape[a];
        long outer = 1;
        for (int a = 0; a < axis; a++) outer *= shape[a];
        for (long o = 0; o < outer; o++) {
            for (int i = from; i < to; i++) {
                long base = (o * shape[axis] + i) * inner;
                Arrays.fill(data, (int) base, (int) (base + inner), 0f);
            }
        }
    }

    /** Removes the channels (group root -> channel indices) from the analysed graph. */
    public static Result prune(DependencyGraph dg, Map<Integer, int[]> removed) {
        Graph g = dg.graph();
        for (Map.Entry<Integer, int[]> e : removed.entrySet()) {
            PruningGroup grp = dg.groups().stream().filter(x -> x.id() == dg.find(e.getKey())).findFirst().orElseThrow();
            if (!grp.prunable() && e.getValue().length > 0) {
                throw new io.condense.ir.ModelException("group " + grp.id() + " cannot be pruned: " + grp.reasons());
            }
            if (e.getValue().length >= grp.size()) throw new io.condense.ir.ModelException("group " + grp.id() + ": cannot remove all channels");
        }
        Kept kept = new Kept(dg, removed);
        Graph.Builder b = g.toBuilder();
        Rewriter rw = new Rewriter(b);
        List<String> warnings = new ArrayList<>();
        Consts cs = dg.consts();

        // 1. the constant value of every removed channel, in topological order
        Map<String, double[]> cv = new HashMap<>();
        java.util.function.Function<String, double[]> get = name -> {
            double[] a = cv.get(name);
            if (a != null) return a;
            Layout l = dg.layouts.get(name);
            double[] z = new double[l == null ? 0 : l.units()];
            Arrays.fill(z, Double.NaN);
            return z;
        };
        for (Node n : g.nodes()) {
            for (String o : n.outputs()) {
                DependencyGraph.Transfer t = dg.transfers.get(o);
                if (t != null) cv.put(o, t.apply(get));
            }
        }

        // 2. fold them into the consumers
        List<Node> nodes = new ArrayList<>(g.nodes());
        List<PruningGroup.Member> extra = new ArrayList<>();
        Map<String, List<Node>> consumers = g.consumers();
        for (int idx = 0; idx < nodes.size(); idx++) {
            Node n = nodes.get(idx);
            Layout l = dg.layouts.get(n.input(0));
            if (l == null || !dg.sourceGroup.containsKey(DependencyGraph.key(n))) continue;
            boolean[] rem = kept.removedUnits(l);
            double[] v = get.apply(n.input(0));
            boolean any = false;
            for (int u = 0; u < rem.length; u++) {
                if (!rem[u]) continue;
                if (Double.isNaN(v[u])) {
                    warnings.add(n.opType() + " " + n.name() + ": a removed input channel is not constant; its contribution is dropped");
                    v = v.clone();
                    v[u] = 0;
                }
                any |= v[u] != 0;
            }
            if (!any) continue;
            int outGroup = dg.sourceGroup.get(DependencyGraph.key(n));
            Fold f = new Fold(dg, kept, rw, b, cs, warnings, extra, outGroup);
            switch (n.opType()) {
                case "Gemm" -> nodes.set(idx, f.gemm(n, l, rem, v));
                case "MatMul" -> f.matmul(n, l, rem, v, nodes, idx, consumers);
                case "Conv" -> f.conv(n, l, rem, v, nodes, idx);
                default -> { }
            }
        }

        // 3. cut the member slices
        Map<String, Map<Integer, boolean[]>> cuts = new LinkedHashMap<>();
        List<PruningGroup.Member> all = new ArrayList<>(extra);
        Map<PruningGroup.Member, Integer> groupOf = new HashMap<>();
        for (PruningGroup grp : dg.groups()) for (PruningGroup.Member m : grp.members) { all.add(m); groupOf.put(m, grp.id()); }
        for (PruningGroup.Member m : extra) groupOf.put(m, Integer.parseInt(m.node()));
        for (PruningGroup.Member m : all) {
            int grp = groupOf.get(m);
            Tensor t = b.initializers().get(m.value());
            long[] shape = t != null ? t.shape() : cs.get(m.value()).shape();
            boolean[] cut = cuts.computeIfAbsent(m.value(), k -> new HashMap<>()).computeIfAbsent(m.axis(), k -> new boolean[(int) shape[m.axis()]]);
            for (int c = m.groupStart(); c < m.groupStart() + m.length(); c++) {
                if (!kept.isRemoved(grp, c)) continue;
                int from = m.axisOffset() + (c - m.groupStart()) * m.block();
                for (int p = from; p < from + m.block(); p++) cut[p] = true;
            }
        }
        Map<String, Node> producers = new HashMap<>();
        for (Node n : nodes) for (String o : n.outputs()) producers.put(o, n);
        for (Map.Entry<String, Map<Integer, boolean[]>> e : cuts.entrySet()) {
            String name = e.getKey();
            Tensor t = b.initializers().get(name);
            if (t != null) {
                b.initializer(name, cut(t, e.getValue()));
                continue;
            }
            Consts.Value v = cs.get(name);
            long[] shape = v.shape();
            for (Map.Entry<Integer, boolean[]> ax : e.getValue().entrySet()) {
                int n = 0;
                for (boolean x : ax.getValue()) if (!x) n++;
                shape[ax.getKey()] = n;
            }
            Node p = producers.get(name);
            Node np = p.withInputs(List.of(rw.addInitializer(name + ".shape", shape)));
            nodes.set(nodes.indexOf(p), np);
        }

        // 4. node constants that depend on the kept channels
        for (int i = 0; i < nodes.size(); i++) {
            DependencyGraph.Fixup fx = dg.fixups.get(DependencyGraph.key(nodes.get(i)));
            if (fx != null) nodes.set(i, fx.apply(nodes.get(i), kept, rw));
        }
        b.nodes(nodes);
        b.valueInfo(Map.of());
        Graph out = new DeadCodeElimination().apply(b.build());
        GraphValidator.validate(out);
        return new Result(out, List.copyOf(new java.util.LinkedHashSet<>(warnings)));
    }

    /** {@code t} without the positions marked in {@code cuts} (axis -> removed positions). */
    static Tensor cut(Tensor t, Map<Integer, boolean[]> cuts) {
        long[] shape = t.shape();
        int r = shape.length;
        int[][] keep = new int[r][];
        long[] ns = new long[r];
        for (int a = 0; a < r; a++) {
            boolean[] c = cuts.get(a);
            List<Integer> k = new ArrayList<>();
            for (int i = 0; i < shape[a]; i++) if (c == null || !c[i]) k.add(i);
            keep[a] = k.stream().mapToInt(Integer::intValue).toArray();
            ns[a] = keep[a].length;
        }
        long[] strides = new long[r];
        long s = 1;
        for (int a = r - 1; a >= 0; a--) { strides[a] = s; s *= shape[a]; }
        Tensor out = Tensor.zeros(t.dtype(), ns);
        int total = out.size();
        int[] idx = new int[r];
        Object src = t.data(), dst = out.data();
        for (int o = 0; o < total; o++) {
            long off = 0;
            for (int a = 0; a < r; a++) off += keep[a][idx[a]] * strides[a];
            System.arraycopy(src, (int) off, dst, o, 1);
            for (int a = r - 1; a >= 0; a--) {
                if (++idx[a] < ns[a]) break;
                idx[a] = 0;
            }
        }
        return out;
    }

    /** Largest exact border-correction map (elements) added after a padded Conv, unless the Conv weights are larger. */
    static final long MAX_MAP = 1 << 16;

    /** Folding of constant removed channels into one consumer. */
    private static final class Fold {
        final DependencyGraph dg;
        final Kept kept;
        final Rewriter rw;
        final Graph.Builder b;
        final Consts cs;
        final List<String> warnings;
        final List<PruningGroup.Member> extra;
        final int outGroup;

        Fold(DependencyGraph dg, Kept kept, Rewriter rw, Graph.Builder b, Consts cs, List<String> warnings,
             List<PruningGroup.Member> extra, int outGroup) {
            this.dg = dg; this.kept = kept; this.rw = rw; this.b = b; this.cs = cs; this.warnings = warnings;
            this.extra = extra; this.outGroup = outGroup;
        }

        /** Position ranges of each removed unit with nonzero value: calls {@code f(position, value)}. */
        void forRemoved(Layout l, boolean[] rem, double[] v, java.util.function.ObjIntConsumer<Double> f) {
            int u = 0, pos = 0;
            for (Seg s : l.segs()) {
                for (int k = 0; k < s.len(); k++, u++) {
                    if (rem[u] && v[u] != 0) for (int bb = 0; bb < s.block(); bb++) f.accept(v[u], pos + bb);
                    pos += s.block();
                }
            }
        }

        /** Adds {@code add} to a length-n bias {@code name} (absent: zeros), as a new initializer in the output group. */
        String bias(String name, double[] add, double scale) {
            int n = add.length;
            float[] d = new float[n];
            Consts.Value old = cs.get(name);
            if (old != null) {
                if (old.size() != 1 && old.size() != n) {
                    warnings.add("bias " + name + " has an unexpected shape; fold dropped");
                    return name;
                }
                for (int i = 0; i < n; i++) d[i] = old.get(old.size() == 1 ? 0 : i);
            }
            for (int i = 0; i < n; i++) d[i] += (float) (add[i] * scale);
            String nn = rw.addInitializer(name.isEmpty() ? "folded.bias" : name, Tensor.of(d, n));
            extra.add(new PruningGroup.Member(nn, 0, 0, 0, n, 1, PruningGroup.Role.PARAM, String.valueOf(outGroup)));
            return nn;
        }

        Node gemm(Node n, Layout l, boolean[] rem, double[] v) {
            Consts.Value w = cs.get(n.input(1));
            boolean transB = n.attrLong("transB", 0) != 0;
            int nOut = (int) w.dim(transB ? 0 : 1), kIn = (int) w.dim(transB ? 1 : 0);
            double[] add = new double[nOut];
            forRemoved(l, rem, v, (val, p) -> {
                for (int o = 0; o < nOut; o++) {
                    if (kept.isRemoved(outGroup, o)) continue;
                    add[o] += val * w.get(transB ? o * kIn + p : p * nOut + o);
                }
            });
            float alpha = n.attrFloat("alpha", 1f), beta = n.attrFloat("beta", 1f);
            Consts.Value c = cs.get(n.input(2));
            if (c != null && c.rank() == 2 && c.dim(0) != 1) { warnings.add("Gemm " + n.name() + ": C is not a row vector; fold dropped"); return n; }
            if (beta == 0) { warnings.add("Gemm " + n.name() + ": beta is 0; fold dropped"); return n; }
            String nb = bias(n.input(2), add, alpha / beta);
            List<String> in = new ArrayList<>(n.inputs());
            while (in.size() < 3) in.add("");
            in.set(2, nb);
            return n.withInputs(in);
        }

        void matmul(Node n, Layout l, boolean[] rem, double[] v, List<Node> nodes, int idx, Map<String, List<Node>> consumers) {
            Consts.Value w = cs.get(n.input(1));
            int nOut = (int) w.dim(1);
            double[] add = new double[nOut];
            forRemoved(l, rem, v, (val, p) -> {
                for (int o = 0; o < nOut; o++) if (!kept.isRemoved(outGroup, o)) add[o] += val * w.get(p * nOut + o);
            });
            List<Node> cons = consumers.getOrDefault(n.output(0), List.of());
            if (cons.size() == 1 && cons.get(0).opType().equals("Add")) {
                Node a = cons.get(0);
                int other = a.input(0).equals(n.output(0)) ? 1 : 0;
                Consts.Value c = cs.get(a.input(other));
                if (c != null && c.rank() == 1 && c.size() == nOut) {
                    List<String> in = new ArrayList<>(a.inputs());
                    in.set(other, bias(a.input(other), add, 1));
                    int ai = nodes.indexOf(a);
                    nodes.set(ai, a.withInputs(in));
                    return;
                }
            }
            String mm = n.output(0) + ".nobias";
            nodes.set(idx, n.withOutputs(List.of(mm)));
            nodes.add(idx + 1, new Node(rw.freshNode(n.name() + ".folded_bias"), "Add", "", List.of(mm, bias("", add, 1)), List.of(n.output(0)), Map.of()));
        }

        void conv(Node n, Layout l, boolean[] rem, double[] v, List<Node> nodes, int idx) {
            Consts.Value w = cs.get(n.input(1));
            long[] ws = w.shape();
            int cout = (int) ws[0], cin = (int) ws[1];
            int k = 1;
            for (int a = 2; a < ws.length; a++) k *= (int) ws[a];
            int kk = k;
            if (!DependencyGraph.padded(n)) {
                double[] add = new double[cout];
                forRemoved(l, rem, v, (val, p) -> {
                    for (int o = 0; o < cout; o++) {
                        if (kept.isRemoved(outGroup, o)) continue;
                        double s = 0;
                        for (int j = 0; j < kk; j++) s += w.get((o * cin + p) * kk + j);
                        add[o] += val * s;
                    }
                });
                List<String> in = new ArrayList<>(n.inputs());
                while (in.size() < 3) in.add("");
                in.set(2, bias(n.input(2), add, 1));
                nodes.set(idx, n.withInputs(in));
                return;
            }
            // padded: the contribution varies at the borders; add it as a constant map after the Conv
            TensorType ti = dg.type(n.input(0)), to = dg.type(n.output(0));
            boolean small = ws.length == 4 && to.hasRank() && known(to, 2, 3)
                    && (long) cout * to.dims().get(2).value() * to.dims().get(3).value() <= Math.max(MAX_MAP, w.size());
            if (ws.length != 4 || !ti.hasRank() || !to.hasRank() || !known(ti, 2, 3) || !known(to, 2, 3) || !small) {
                warnings.add("Conv " + n.name() + ": padded, with an unknown or large output; removed channels folded into the bias (borders inexact)");
                double[] add = new double[cout];
                forRemoved(l, rem, v, (val, p) -> {
                    for (int o = 0; o < cout; o++) {
                        if (kept.isRemoved(outGroup, o)) continue;
                        for (int j = 0; j < kk; j++) add[o] += val * w.get((o * cin + p) * kk + j);
                    }
                });
                List<String> in = new ArrayList<>(n.inputs());
                while (in.size() < 3) in.add("");
                in.set(2, bias(n.input(2), add, 1));
                nodes.set(idx, n.withInputs(in));
                return;
            }
            int h = (int) ti.dims().get(2).value(), wd = (int) ti.dims().get(3).value();
            int ho = (int) to.dims().get(2).value(), wo = (int) to.dims().get(3).value();
            int kh = (int) ws[2], kw = (int) ws[3];
            long[] st = n.attrLongs("strides", new long[] {1, 1}), dl = n.attrLongs("dilations", new long[] {1, 1});
            long[] pads = n.attrLongs("pads", new long[4]);
            String ap = n.attrString("auto_pad", "NOTSET");
            if (ap.startsWith("SAME")) {
                pads = new long[4];
                for (int a = 0; a < 2; a++) {
                    long in = a == 0 ? h : wd, out = a == 0 ? ho : wo, kern = (a == 0 ? kh : kw);
                    long total = Math.max(0, (out - 1) * st[a] + (kern - 1) * dl[a] + 1 - in);
                    long half = total / 2, big = total - half;
                    pads[a] = ap.equals("SAME_UPPER") ? half : big;
                    pads[a + 2] = total - pads[a];
                }
            }
            float[] map = new float[cout * ho * wo];
            long[] pd = pads;
            forRemoved(l, rem, v, (val, p) -> {
                for (int o = 0; o < cout; o++) {
                    if (kept.isRemoved(outGroup, o)) continue;
                    for (int y = 0; y < ho; y++) for (int x = 0; x < wo; x++) {
                        double s = 0;
                        for (int i = 0; i < kh; i++) {
                            long iy = y * st[0] - pd[0] + i * dl[0];
                            if (iy < 0 || iy >= h) continue;
                            for (int j = 0; j < kw; j++) {
                                long ix = x * st[1] - pd[1] + j * dl[1];
                                if (ix < 0 || ix >= wd) continue;
                                s += w.get(((o * cin + p) * kh + i) * kw + j);
                            }
                        }
                        map[(o * ho + y) * wo + x] += (float) (val * s);
                    }
                }
            });
            String mapName = rw.addInitializer(n.name().isEmpty() ? "folded.map" : n.name() + ".folded_map", Tensor.of(map, 1, cout, ho, wo));
            extra.add(new PruningGroup.Member(mapName, 1, 0, 0, cout, 1, PruningGroup.Role.PARAM, String.valueOf(outGroup)));
            String co = n.output(0) + ".nomap";
            nodes.set(idx, n.withOutputs(List.of(co)));
            nodes.add(idx + 1, new Node(rw.freshNode(n.name() + ".folded_map"), "Add", "", List.of(co, mapName), List.of(n.output(0)), Map.of()));
        }

        private static boolean known(TensorType t, int... axes) {
            for (int a : axes) { if (a >= t.rank() || !t.dims().get(a).isKnown()) return false; }
            return true;
        }
    }

}
