package io.condense.distill;

import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.train.Arrays2;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A teacher: any ONNX graph run for inference on an inference backend ({@link Backends}). Intermediate tensors a
 * hint term needs are exposed as extra graph outputs. With caching on, each sample's outputs are kept by sample
 * index after its first visit (valid only while the student sees un-augmented inputs).
 */
public final class Teacher implements AutoCloseable {
    private final Graph graph;
    private final Session session;
    private final String input;
    private final List<String> tensors;
    private final boolean cache;
    private final Map<String, Map<Integer, float[]>> cached = new HashMap<>();
    private final Map<String, long[]> sampleShapes = new HashMap<>();

    /**
     * @param tensors teacher values to produce (outputs or intermediate tensor names)
     * @param backend "cpu", "cuda" or "auto"
     */
    public Teacher(Graph teacher, List<String> tensors, String backend, boolean cache) {
        if (teacher.inputs().size() != 1) throw new ModelException("the teacher must have one input, it has " + teacher.inputs().size());
        Set<String> known = new HashSet<>();
        for (ValueInfo o : teacher.outputs()) known.add(o.name());
        Set<String> produced = new HashSet<>();
        for (Node n : teacher.nodes()) produced.addAll(n.outputs());
        Graph.Builder b = teacher.toBuilder();
        for (String t : tensors) {
            if (known.contains(t)) continue;
            if (!produced.contains(t)) throw new ModelException("the teacher has no tensor '" + t + "'");
            b.addOutput(new ValueInfo(t, new TensorType(DType.FLOAT32, null)));
            known.add(t);
        }
        this.graph = b.build();
        this.input = graph.inputs().get(0).name();
        this.tensors = List.copyOf(tensors);
        this.cache = cache;
        this.session = Backends.get(backend).open(graph);
    }

    public Graph graph() { return graph; }

    /** Teacher values for a batch [n, ...]; {@code ids} are the samples' indices (for the cache), or null. */
    public Map<String, INDArray> run(INDArray x, int[] ids, DataType dtype) {
        int n = (int) x.size(0);
        Map<String, INDArray> out = new HashMap<>();
        boolean hit = cache && ids != null && !cached.isEmpty();
        if (hit) {
            for (String t : tensors) {
                Map<Integer, float[]> m = cached.get(t);
                for (int id : ids) {
                    if (!m.containsKey(id)) {
                        hit = false;
                        break;
                    }
                }
                if (!hit) break;
            }
        }
        if (hit) {
            for (String t : tensors) {
                long[] ss = sampleShapes.get(t);
                int per = (int) Arrays2.product(ss, 0, ss.length);
                float[] buf = new float[n * per];
                for (int i = 0; i < n; i++) System.arraycopy(cached.get(t).get(ids[i]), 0, buf, i * per, per);
                long[] shape = new long[ss.length + 1];
                shape[0] = n;
                System.arraycopy(ss, 0, shape, 1, ss.length);
                out.put(t, Nd4j.create(buf, shape, 'c').castTo(dtype));
            }
            return out;
        }
        Map<String, Tensor> res = session.run(Map.of(input, Arrays2.toTensor(x.castTo(DataType.FLOAT), false)));
        for (String t : tensors) {
            Tensor v = res.get(t);
            if (v == null) throw new ModelException("the teacher produced no value for '" + t + "'");
            INDArray a = Arrays2.toNd(v, dtype);
            out.put(t, a);
            if (cache && ids != null) {
                float[] f = v.toFloatArray();
                int per = f.length / n;
                long[] ss = java.util.Arrays.copyOfRange(v.shape(), 1, v.shape().length);
                sampleShapes.put(t, ss);
                Map<Integer, float[]> m = cached.computeIfAbsent(t, k -> new HashMap<>());
                for (int i = 0; i < n; i++) m.put(ids[i], java.util.Arrays.copyOfRange(f, i * per, (i + 1) * per));
            }
        }
        return out;
    }

    @Override public void close() { session.close(); }
}
