package io.condense.spark;

import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.dataset.Herding;
import io.condense.dataset.KCenter;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.stats.ClassSums;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Coreset selection (herding, k-center) in the embedding of a feature model, with the embedding fanned out over
 * the data partitions: each partition runs the broadcast feature model (its first output, [batch, features]) on
 * batches of {@link ClassSums#CHUNK} samples and returns per-class feature sums ({@link ClassSums}, merged
 * exactly) and the features; the greedy selection runs on the driver per class, as {@link Herding} / {@link KCenter}
 * do. The selection equals {@link #select} on the same features in one process.
 */
public final class DistributedCoreset {
    private DistributedCoreset() {}

    /** Per-partition result: class sums and the features of each sample by global index. */
    static final class Part implements Serializable {
        private static final long serialVersionUID = 1L;
        ClassSums sums;
        final TreeMap<Long, float[]> features = new TreeMap<>();
        final TreeMap<Long, Integer> labels = new TreeMap<>();

        Part merge(Part o) {
            sums.merge(o.sums);
            features.putAll(o.features);
            labels.putAll(o.labels);
            return this;
        }
    }

    /** Features of one batch: the model's first output as [batch][features]. */
    public static float[][] features(Session s, Graph g, Map<String, Tensor> feeds) {
        Tensor y = s.run(feeds).get(g.outputs().get(0).name());
        if (y.rank() != 2) throw new ModelException("the feature model's first output must be [batch, features], got rank " + y.rank());
        int n = (int) y.dim(0), d = (int) y.dim(1);
        float[] f = y.toFloatArray();
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) out[i] = java.util.Arrays.copyOfRange(f, i * d, (i + 1) * d);
        return out;
    }

    /**
     * @return indices of the selected samples, class by class ({@code ipc} per class)
     */
    public static int[] run(Batched<DistributedStats.Labelled> data, SparkModel model, int classes, int ipc, String method, long seed, int threads) {
        if (data.batchSize() != ClassSums.CHUNK) throw new IllegalArgumentException("coreset data must be batched by ClassSums.CHUNK (" + ClassSums.CHUNK + ")");
        Feeds<float[]> arrays = Feeds.arrays();
        Part p = data.aggregate((first, batches) -> {
            ExecutorEnv.ensure(threads);
            Graph g = model.graph();
            Part part = null;
            try (Session s = Backends.cpu().open(g)) {
                long idx = first * ClassSums.CHUNK, chunk = first;
                for (List<DistributedStats.Labelled> b : batches) {
                    // a model with a fixed batch dimension runs the chunk in sub-batches of that size
                    int fixed = io.condense.quant.CalibrationData.batchSize(io.condense.quant.CalibrationData.singleInput(g), -1);
                    int step = fixed > 0 ? fixed : b.size();
                    if (b.size() % step != 0) throw new ModelException(b.size() + " samples do not fill batches of the model's fixed batch size " + fixed);
                    List<float[]> rows = new ArrayList<>();
                    for (int from = 0; from < b.size(); from += step) {
                        Map<String, Tensor> feeds = arrays.feeds(g, b.subList(from, from + step).stream().map(DistributedStats.Labelled::x).toList());
                        rows.addAll(List.of(features(s, g, feeds)));
                    }
                    float[][] f = rows.toArray(new float[0][]);
                    int[] l = b.stream().mapToInt(DistributedStats.Labelled::label).toArray();
                    if (part == null) {
                        part = new Part();
                        part.sums = new ClassSums(classes, f[0].length);
                    }
                    part.sums.addChunk(chunk++, l, f);
                    for (int i = 0; i < f.length; i++, idx++) {
                        part.features.put(idx, f[i]);
                        part.labels.put(idx, l[i]);
                    }
                }
            }
            return part;
        }, Part::merge);
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < classes; c++) byClass.add(new ArrayList<>());
        p.labels.forEach((i, l) -> byClass.get(l).add(i.intValue()));
        float[][] all = p.features.values().toArray(new float[0][]);
        List<int[]> out = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(seed);
        for (int c = 0; c < classes; c++) {
            int[] ids = byClass.get(c).stream().mapToInt(Integer::intValue).toArray();
            if (ids.length < ipc) throw new ModelException("--ipc " + ipc + " is larger than class " + c + ", which has " + ids.length + " samples");
            float[][] f = new float[ids.length][];
            for (int i = 0; i < ids.length; i++) f[i] = all[ids[i]];
            out.add(switch (method) {
                case "herding" -> Herding.herd(f, ids, ipc, p.sums.mean(c));
                case "kcenter" -> KCenter.greedy(f, ids, ipc, r.nextInt(ids.length));
                default -> throw new ModelException("unknown coreset method '" + method + "' (herding, kcenter)");
            });
        }
        return out.stream().flatMapToInt(java.util.Arrays::stream).toArray();
    }
}
