package io.condense.backend.cpu;

import io.condense.backend.Session;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a graph node by node on ND4J arrays, dropping each intermediate after its last use. At open the graph
 * goes through {@link SessionOptimizer} (constant folding, identity and dead-code removal, epilogue fusion;
 * {@code -Dcondense.optimize=false} turns it off); values live in slots numbered at open, not in a map.
 */
final class CpuSession implements Session {
    /** The graph as given: the session's interface (inputs, outputs, input checks). */
    private final Graph graph;
    /** What runs: the optimized graph. */
    private final Graph exec;
    private final List<Node> order;
    private final Kernel[] kernels;
    private final int[] opsets;
    private final DType[][] declared;
    /** Slot of each value name. */
    private final Map<String, Integer> slots = new HashMap<>();
    private final String[] slotNames;
    /** Initializer values by slot (null for other slots). */
    private final INDArray[] constants;
    /** For each node index: its input slots (-1 for omitted inputs) and output slots (-1 for omitted). */
    private final int[][] inSlots, outSlots;
    /** For each node index, the slots whose last reader it is. */
    private final int[][] releaseAfter;
    private final int[] graphInputSlots, graphOutputSlots;
    private boolean profiling;
    private final long[] nodeNanos;
    private final long[] nodeCalls;

    CpuSession(Graph graph, KernelRegistry registry) { this(graph, registry, SessionOptimizer.enabled()); }

    /** @param optimize rewrite the graph at open and pick small-input kernels (false: run the graph as given) */
    CpuSession(Graph graph, KernelRegistry registry, boolean optimize) {
        this(graph, registry, optimize ? new io.condense.passes.Fusion() : null);
    }

    /** @param fusion the fusion pass of the session's rewrites (null: run the graph as given) */
    CpuSession(Graph graph, KernelRegistry registry, io.condense.passes.Fusion fusion) {
        this.graph = graph;
        boolean optimize = fusion != null;
        // every op of the graph as given needs a kernel, also in nodes the optimizer would fold or drop
        for (Node n : graph.topologicalOrder()) {
            if (registry.get(n.domain(), n.opType()) == null) throw unsupported(n, registry);
        }
        this.exec = optimize ? SessionOptimizer.optimize(graph, registry, fusion) : graph;
        this.order = exec.topologicalOrder();
        this.kernels = new Kernel[order.size()];
        this.opsets = new int[order.size()];
        this.declared = new DType[order.size()][];
        this.nodeNanos = new long[order.size()];
        this.nodeCalls = new long[order.size()];
        for (int i = 0; i < order.size(); i++) {
            Node n = order.get(i);
            Kernel k = registry.get(n.domain(), n.opType());
            if (k == null) k = FusedKernels.create(n, exec, registry);
            if (k == null) throw unsupported(n, registry);
            if (optimize) k = SparseKernels.plan(n, exec, FusedKernels.plan(n, exec, k));
            kernels[i] = k;
            opsets[i] = exec.opsetOf(n.domain());
            DType[] d = new DType[n.inputs().size()];
            for (int j = 0; j < d.length; j++) d[j] = n.input(j).isEmpty() ? null : exec.typeOf(n.input(j)).dtype();
            declared[i] = d;
        }
        java.util.List<String> names = new java.util.ArrayList<>();
        java.util.function.Function<String, Integer> slot = v -> slots.computeIfAbsent(v, k -> { names.add(k); return names.size() - 1; });
        for (String v : exec.initializers().keySet()) slot.apply(v);
        for (ValueInfo in : graph.inputs()) slot.apply(in.name());
        inSlots = new int[order.size()][];
        outSlots = new int[order.size()][];
        for (int i = 0; i < order.size(); i++) {
            Node n = order.get(i);
            inSlots[i] = n.inputs().stream().mapToInt(v -> v.isEmpty() ? -1 : slot.apply(v)).toArray();
            outSlots[i] = n.outputs().stream().mapToInt(v -> v.isEmpty() ? -1 : slot.apply(v)).toArray();
        }
        for (ValueInfo o : graph.outputs()) slot.apply(o.name());
        slotNames = names.toArray(new String[0]);
        graphInputSlots = graph.inputs().stream().mapToInt(v -> slots.get(v.name())).toArray();
        graphOutputSlots = graph.outputs().stream().mapToInt(v -> slots.get(v.name())).toArray();
        constants = new INDArray[slotNames.length];
        for (Map.Entry<String, Tensor> e : exec.initializers().entrySet()) {
            if (e.getValue().dtype() == DType.STRING) continue;
            constants[slots.get(e.getKey())] = Nd.toNd(e.getValue());
        }
        Map<Integer, Integer> lastUse = new HashMap<>();
        for (int i = 0; i < order.size(); i++) for (int in : inSlots[i]) if (in >= 0) lastUse.put(in, i);
        for (int o : graphOutputSlots) lastUse.remove(o);
        List<List<Integer>> rel = new java.util.ArrayList<>();
        for (int i = 0; i < order.size(); i++) rel.add(new java.util.ArrayList<>());
        lastUse.forEach((v, i) -> { if (constants[v] == null) rel.get(i).add(v); });
        releaseAfter = rel.stream().map(l -> l.stream().mapToInt(Integer::intValue).toArray()).toArray(int[][]::new);
    }

    @Override
    public List<ValueInfo> inputs() { return graph.inputs(); }

    @Override
    public List<ValueInfo> outputs() { return graph.outputs(); }

    @Override
    public Map<String, Tensor> run(Map<String, Tensor> feeds) {
        INDArray[] values = constants.clone();
        for (String name : feeds.keySet()) {
            if (graph.input(name) == null) {
                throw new ModelException("'" + name + "' is not an input of the model (inputs: "
                        + String.join(", ", graph.inputs().stream().map(ValueInfo::name).toList()) + ")");
            }
        }
        List<ValueInfo> ins = graph.inputs();
        for (int k = 0; k < ins.size(); k++) {
            ValueInfo in = ins.get(k);
            Tensor t = feeds.get(in.name());
            if (t == null) throw new ModelException("missing input '" + in.name() + "' of type " + in.type());
            checkInput(in, t);
            values[graphInputSlots[k]] = Nd.toNd(t);
        }
        for (int i = 0; i < order.size(); i++) {
            Node n = order.get(i);
            int[] is = inSlots[i];
            INDArray[] args = new INDArray[is.length];
            for (int j = 0; j < args.length; j++) {
                if (is[j] < 0) continue;
                args[j] = values[is[j]];
                if (args[j] == null) throw new ModelException("node " + n.label() + ": input '" + n.input(j) + "' has no value");
            }
            INDArray[] outs;
            long t0 = profiling ? System.nanoTime() : 0;
            try {
                outs = kernels[i].run(new OpContext(n, opsets[i], args, declared[i]));
                if (profiling) {
                    nodeNanos[i] += System.nanoTime() - t0;
                    nodeCalls[i]++;
                }
            } catch (ModelException e) {
                throw e;
            } catch (OutOfMemoryError e) {
                throw new ModelException("node " + n.label() + ": out of memory (" + e.getMessage() + ")");
            } catch (RuntimeException e) {
                throw new ModelException("node " + n.label() + " failed: " + oneLine(e), e);
            }
            int[] os = outSlots[i];
            for (int j = 0; j < os.length; j++) {
                if (os[j] < 0) continue;
                if (j >= outs.length || outs[j] == null) throw new ModelException("node " + n.label() + " produced no output " + j);
                values[os[j]] = outs[j];
            }
            for (int v : releaseAfter[i]) values[v] = null;
        }
        Map<String, Tensor> result = new LinkedHashMap<>();
        List<ValueInfo> outs = graph.outputs();
        for (int k = 0; k < outs.size(); k++) {
            ValueInfo o = outs.get(k);
            INDArray a = values[graphOutputSlots[k]];
            if (a == null) throw new ModelException("output '" + o.name() + "' was not computed");
            result.put(o.name(), Nd.toTensor(a, o.type().dtype()));
        }
        return result;
    }

    @Override
    public void setProfiling(boolean on) { profiling = on; }

    @Override
    public List<OpTime> profile() {
        Map<String, long[]> byOp = new LinkedHashMap<>();
        for (int i = 0; i < order.size(); i++) {
            if (nodeCalls[i] == 0) continue;
            long[] a = byOp.computeIfAbsent(order.get(i).opType(), k -> new long[2]);
            a[0] += nodeCalls[i];
            a[1] += nodeNanos[i];
        }
        return byOp.entrySet().stream().map(e -> new OpTime(e.getKey(), e.getValue()[0], e.getValue()[1]))
                .sorted((a, b) -> Long.compare(b.nanos(), a.nanos())).toList();
    }

    private static ModelException unsupported(Node n, KernelRegistry registry) {
        return new ModelException("unsupported op " + (n.domain().isEmpty() ? "" : n.domain() + ".") + n.opType()
                + " at node " + n.label() + " (the CPU backend supports: " + String.join(", ", registry.ops()) + ")");
    }

    static void checkInput(ValueInfo in, Tensor t) {
        TensorType ty = in.type();
        if (ty.dtype() != null && ty.dtype() != t.dtype()) {
            throw new ModelException("input '" + in.name() + "' must be " + ty.dtype() + ", got " + t.dtype());
        }
        if (!ty.hasRank()) return;
        long[] s = t.shape();
        List<Dim> dims = ty.dims();
        boolean ok = s.length == dims.size();
        for (int i = 0; ok && i < s.length; i++) ok = !dims.get(i).isKnown() || dims.get(i).value() == s[i];
        if (!ok) {
            throw new ModelException("input '" + in.name() + "' must have shape " + ty.dims() + ", got " + Arrays.toString(s));
        }
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage();
        if (m == null) m = e.getClass().getSimpleName();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    @Override
    public void close() {
        java.util.Arrays.fill(constants, null);
    }
}
