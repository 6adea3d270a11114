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

/** Runs a graph node by node on ND4J arrays, dropping each intermediate after its last use. */
final class CpuSession implements Session {
    private final Graph graph;
    private final List<Node> order;
    private final Kernel[] kernels;
    private final int[] opsets;
    private final DType[][] declared;
    private final Map<String, INDArray> constants = new HashMap<>();
    /** For each node index, the values whose last reader it is. */
    private final String[][] releaseAfter;
    private boolean profiling;
    private final long[] nodeNanos;
    private final long[] nodeCalls;

    CpuSession(Graph graph, KernelRegistry registry) {
        this.graph = graph;
        this.order = graph.topologicalOrder();
        this.kernels = new Kernel[order.size()];
        this.opsets = new int[order.size()];
        this.declared = new DType[order.size()][];
        this.nodeNanos = new long[order.size()];
        this.nodeCalls = new long[order.size()];
        for (int i = 0; i < order.size(); i++) {
            Node n = order.get(i);
            Kernel k = registry.get(n.domain(), n.opType());
            if (k == null) {
                throw new ModelException("unsupported op " + (n.domain().isEmpty() ? "" : n.domain() + ".") + n.opType()
                        + " at node " + n.label() + " (the CPU backend supports: " + String.join(", ", registry.ops()) + ")");
            }
            kernels[i] = k;
            opsets[i] = graph.opsetOf(n.domain());
            DType[] d = new DType[n.inputs().size()];
            for (int j = 0; j < d.length; j++) d[j] = n.input(j).isEmpty() ? null : graph.typeOf(n.input(j)).dtype();
            declared[i] = d;
        }
        for (Map.Entry<String, Tensor> e : graph.initializers().entrySet()) {
            if (e.getValue().dtype() == DType.STRING) continue;
            constants.put(e.getKey(), Nd.toNd(e.getValue()));
        }
        Map<String, Integer> lastUse = new HashMap<>();
        for (int i = 0; i < order.size(); i++) for (String in : order.get(i).inputs()) if (!in.isEmpty()) lastUse.put(in, i);
        for (ValueInfo o : graph.outputs()) lastUse.remove(o.name());
        List<List<String>> rel = new java.util.ArrayList<>();
        for (int i = 0; i < order.size(); i++) rel.add(new java.util.ArrayList<>());
        lastUse.forEach((v, i) -> { if (!constants.containsKey(v)) rel.get(i).add(v); });
        releaseAfter = rel.stream().map(l -> l.toArray(new String[0])).toArray(String[][]::new);
    }

    @Override
    public List<ValueInfo> inputs() { return graph.inputs(); }

    @Override
    public List<ValueInfo> outputs() { return graph.outputs(); }

    @Override
    public Map<String, Tensor> run(Map<String, Tensor> feeds) {
        Map<String, INDArray> values = new HashMap<>(constants);
        for (String name : feeds.keySet()) {
            if (graph.input(name) == null) {
                throw new ModelException("'" + name + "' is not an input of the model (inputs: "
                        + String.join(", ", graph.inputs().stream().map(ValueInfo::name).toList()) + ")");
            }
        }
        for (ValueInfo in : graph.inputs()) {
            Tensor t = feeds.get(in.name());
            if (t == null) throw new ModelException("missing input '" + in.name() + "' of type " + in.type());
            checkInput(in, t);
            values.put(in.name(), Nd.toNd(t));
        }
        for (int i = 0; i < order.size(); i++) {
            Node n = order.get(i);
            INDArray[] args = new INDArray[n.inputs().size()];
            for (int j = 0; j < args.length; j++) {
                String name = n.input(j);
                if (name.isEmpty()) continue;
                args[j] = values.get(name);
                if (args[j] == null) throw new ModelException("node " + n.label() + ": input '" + name + "' has no value");
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
            for (int j = 0; j < n.outputs().size(); j++) {
                String name = n.output(j);
                if (name.isEmpty()) continue;
                if (j >= outs.length || outs[j] == null) throw new ModelException("node " + n.label() + " produced no output " + j);
                values.put(name, outs[j]);
            }
            for (String v : releaseAfter[i]) values.remove(v);
        }
        Map<String, Tensor> result = new LinkedHashMap<>();
        for (ValueInfo o : graph.outputs()) {
            INDArray a = values.get(o.name());
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
        constants.clear();
    }
}
