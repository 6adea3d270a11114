package io.condense.train;

import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Predicate;

/**
 * Reverse-mode automatic differentiation over an IR {@link Graph}. The tape runs the graph's nodes forward with
 * its own training-mode op implementations ({@link TrainOps}), recording a backward closure per node, and
 * {@link #backward} walks them in reverse to produce parameter gradients.
 *
 * <p>Trainable parameters are floating initializers that some node reads as a differentiable input, filtered by a
 * predicate. Their arrays are owned by the tape and updated in place by optimizers ({@link #parameters()}).
 * Other initializers are constants; BatchNormalization running statistics are state that training-mode forward
 * passes update. {@link #toGraph()} writes current weights and state back as initializers.
 */
public final class Tape {
    static {
        // same native ND4J build (oneDNN on AVX-512 machines) as the rest of the process, whoever loads ND4J first
        io.condense.backend.cpu.NativeSetup.init();
    }

    private final Graph graph;
    private final List<Node> order;
    private final DataType dtype;
    private final Map<String, INDArray> params = new LinkedHashMap<>();
    private final Map<String, INDArray> constants = new LinkedHashMap<>();
    private final Set<String> gradInputs = new HashSet<>();
    private SplittableRandom rng;
    private Map<String, long[]> profile;

    private Map<String, INDArray> values;
    private Set<String> needsGrad;
    private final List<Step> steps = new ArrayList<>();

    private record Step(Node node, TrainOps.Backward bw, boolean[] need) {}

    /** A tape training every floating initializer in float32. */
    public Tape(Graph g) { this(g, name -> true, DataType.FLOAT, 0); }

    private static final Set<String> LAYER_OPS = Set.of("Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization",
            "LayerNormalization", "InstanceNormalization", "PRelu");

    /**
     * The initializers of {@code g} that are weights to train: all but the one-element operands of elementwise ops
     * (LayerNorm epsilons, Pow exponents, 1/sqrt(d), mask fill values: constants of the computation that exporters and
     * passes turn from Constant nodes into initializers; training them breaks the model, e.g. a LayerNorm epsilon
     * that turns negative). One-element weights of layers (a Gemm bias with one output, a PRelu slope) still train.
     */
    public static Predicate<String> weights(Graph g) {
        Map<String, List<Node>> readers = g.consumers();
        return name -> {
            Tensor t = g.initializers().get(name);
            if (t == null || t.size() > 1) return true;
            return readers.getOrDefault(name, List.of()).stream().anyMatch(n -> LAYER_OPS.contains(n.opType()));
        };
    }

    /**
     * @param trainable chooses which differentiable floating initializers are parameters
     * @param dtype FLOAT for training, DOUBLE for gradient checks
     * @param seed seeds Dropout masks
     */
    public Tape(Graph g, Predicate<String> trainable, DataType dtype, long seed) {
        if (dtype != DataType.FLOAT && dtype != DataType.DOUBLE) throw new IllegalArgumentException("dtype must be FLOAT or DOUBLE");
        this.graph = g;
        this.order = g.topologicalOrder();
        this.dtype = dtype;
        this.rng = new SplittableRandom(seed);
        Set<String> differentiable = new HashSet<>();
        for (Node n : order) {
            if (!TrainOps.supports(n.opType()) || !n.domain().isEmpty()) {
                throw new ModelException("training does not support op " + n.label());
            }
            for (int i = 0; i < n.inputs().size(); i++) {
                if (n.hasInput(i) && TrainOps.differentiable(n.opType(), i)) differentiable.add(n.input(i));
            }
        }
        for (Map.Entry<String, Tensor> e : g.initializers().entrySet()) {
            Tensor t = e.getValue();
            INDArray a = Arrays2.toNd(t, dtype);
            if (t.dtype().isFloating() && differentiable.contains(e.getKey()) && trainable.test(e.getKey())) params.put(e.getKey(), a);
            else constants.put(e.getKey(), a);
        }
    }

    public DataType dtype() { return dtype; }

    public Graph graph() { return graph; }

    /** Trainable parameters by name (live arrays: optimizers update them in place). */
    public Map<String, INDArray> parameters() { return params; }

    /** Non-trainable initializers and state (live arrays). */
    public Map<String, INDArray> constants() { return constants; }

    /** Also compute gradients for these graph inputs (e.g. for dataset distillation). */
    public Tape requireInputGrad(String input) { gradInputs.add(input); return this; }

    public void reseed(long seed) { rng = new SplittableRandom(seed); }

    private final Map<Node, INDArray> constantNodes = new java.util.IdentityHashMap<>();

    /** The (cached) array of a Constant node's tensor. */
    INDArray constantValue(Node n, Tensor t) {
        return constantNodes.computeIfAbsent(n, k -> Arrays2.toNd(t, t.dtype().isFloating() ? dtype : DataType.LONG));
    }

    /** Starts collecting calling-thread CPU time per op type: [forward nanos, backward nanos, calls]. */
    public Map<String, long[]> profile() {
        if (profile == null) profile = new java.util.TreeMap<>();
        return profile;
    }

    /** Stops collecting the {@link #profile()}. */
    public void stopProfile() { profile = null; }

    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

    /** Calling thread's CPU time when profiling (ND4J runs single-threaded ops on the caller), else 0. */
    long now() { return profile == null ? 0 : THREADS.getCurrentThreadCpuTime(); }

    void record(String op, int slot, long nanos) {
        if (profile != null) {
            long[] p = profile.computeIfAbsent(op, k -> new long[3]);
            p[slot] += nanos;
            if (slot == 0) p[2]++;
        }
    }

    SplittableRandom rng() { return rng; }

    /** Runs the graph; {@code training} selects batch statistics for BatchNormalization and active Dropout. */
    public Map<String, INDArray> forward(Map<String, INDArray> inputs, boolean training) {
        return forward(inputs, training, true);
    }

    /** Forward pass without recording anything for backward (evaluation). */
    public Map<String, INDArray> infer(Map<String, INDArray> inputs) { return forward(inputs, false, false); }

    private Map<String, INDArray> forward(Map<String, INDArray> inputs, boolean training, boolean record) {
        values = new LinkedHashMap<>();
        needsGrad = new HashSet<>();
        steps.clear();
        values.putAll(constants);
        values.putAll(params);
        if (record) needsGrad.addAll(params.keySet());
        for (ValueInfo in : graph.inputs()) {
            INDArray a = inputs.get(in.name());
            if (a == null) throw new ModelException("missing graph input '" + in.name() + "'");
            if (a.dataType().isFPType() && a.dataType() != dtype) a = a.castTo(dtype);
            values.put(in.name(), a);
            if (record && gradInputs.contains(in.name())) needsGrad.add(in.name());
        }
        for (Node n : order) {
            INDArray[] in = new INDArray[n.inputs().size()];
            for (int i = 0; i < in.length; i++) {
                if (!n.hasInput(i)) continue;
                in[i] = values.get(n.input(i));
                if (in[i] == null) throw new ModelException(n.label() + ": input '" + n.input(i) + "' has no value");
            }
            TrainOps.Result r;
            long t0 = now();
            try {
                r = TrainOps.run(new TrainOps.Call(n, in, training, graph.opset(), this));
                record(n.opType(), 0, now() - t0);
            } catch (ModelException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new ModelException(n.label() + ": " + e.getMessage());
            }
            boolean[] need = new boolean[in.length];
            boolean any = false;
            for (int i = 0; i < in.length; i++) {
                need[i] = n.hasInput(i) && TrainOps.differentiable(n.opType(), i) && needsGrad.contains(n.input(i));
                any |= need[i];
            }
            for (int o = 0; o < n.outputs().size() && o < r.out().length; o++) {
                if (n.output(o).isEmpty()) continue;
                values.put(n.output(o), r.out()[o]);
                if (any && r.bw() != null) needsGrad.add(n.output(o));
            }
            if (any && r.bw() != null) steps.add(new Step(n, r.bw(), need));
        }
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (ValueInfo o : graph.outputs()) out.put(o.name(), values.get(o.name()));
        return out;
    }

    /** The value computed for {@code name} by the last forward pass (intermediate values included). */
    public INDArray value(String name) { return values == null ? null : values.get(name); }

    /**
     * Back-propagates {@code outputGrads} (d loss / d value, by value name) through the last forward pass.
     * Returns gradients of the trainable parameters (and of inputs asked for with {@link #requireInputGrad});
     * parameters the loss does not reach get zero gradients.
     */
    public Map<String, INDArray> backward(Map<String, INDArray> outputGrads) {
        if (values == null) throw new IllegalStateException("backward before forward");
        Map<String, INDArray> grads = new LinkedHashMap<>();
        for (Map.Entry<String, INDArray> e : outputGrads.entrySet()) {
            INDArray g = e.getValue();
            if (g.dataType() != dtype) g = g.castTo(dtype);
            accumulate(grads, e.getKey(), g);
        }
        for (int s = steps.size() - 1; s >= 0; s--) {
            Step st = steps.get(s);
            Node n = st.node();
            INDArray[] dOut = new INDArray[n.outputs().size()];
            boolean any = false;
            for (int o = 0; o < dOut.length; o++) {
                dOut[o] = n.output(o).isEmpty() ? null : grads.get(n.output(o));
                any |= dOut[o] != null;
            }
            if (!any) continue;
            for (int o = 0; o < dOut.length; o++) {
                if (dOut[o] == null && !n.output(o).isEmpty() && o == 0) dOut[o] = Nd4j.zerosLike(values.get(n.output(o)));
            }
            INDArray[] dIn;
            long t0 = now();
            try {
                dIn = st.bw().apply(dOut, st.need());
                record(n.opType(), 1, now() - t0);
            } catch (ModelException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new ModelException(n.label() + " backward: " + e.getMessage());
            }
            for (int i = 0; i < st.need().length; i++) {
                if (st.need()[i] && dIn[i] != null) accumulate(grads, n.input(i), dIn[i]);
            }
        }
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, INDArray> p : params.entrySet()) {
            INDArray g = grads.get(p.getKey());
            out.put(p.getKey(), g == null ? Nd4j.zerosLike(p.getValue()) : g.reshape(p.getValue().shape()));
        }
        for (String in : gradInputs) {
            INDArray g = grads.get(in);
            out.put(in, g == null ? Nd4j.zerosLike(values.get(in)) : g);
        }
        return out;
    }

    private static void accumulate(Map<String, INDArray> grads, String name, INDArray g) {
        INDArray prev = grads.get(name);
        // never add in place: backward closures may return their incoming gradient unchanged (shared arrays)
        grads.put(name, prev == null ? g : prev.add(g));
    }

    /** The graph with current parameters and state as float32 initializers (float64 if the original was). */
    public Graph toGraph() {
        Graph.Builder b = graph.toBuilder();
        for (Map.Entry<String, INDArray> e : params.entrySet()) b.initializer(e.getKey(), export(e.getKey(), e.getValue()));
        for (Map.Entry<String, INDArray> e : constants.entrySet()) {
            Tensor orig = graph.initializers().get(e.getKey());
            if (orig.dtype().isFloating()) b.initializer(e.getKey(), export(e.getKey(), e.getValue()));
        }
        return b.build();
    }

    private Tensor export(String name, INDArray a) {
        Tensor orig = graph.initializers().get(name);
        Tensor t = Arrays2.toTensor(a, orig.dtype() == DType.FLOAT64);
        return t.reshape(orig.shape());
    }
}
