package io.condense.spark;

import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.Function2;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Samples grouped into batches by their global index (batch {@code b} = samples {@code [b * batchSize,
 * (b + 1) * batchSize)}, the same batches a single process makes) and laid out so that each partition holds a
 * contiguous range of whole batches, in order. Per-partition results are keyed by global batch index (see
 * {@link io.condense.stats.OrderedSum}), so they merge to the single-process bits.
 */
public final class Batched<S> implements Serializable {
    private static final long serialVersionUID = 1L;

    /** A per-partition computation over its batches: {@code firstBatch} is the global index of {@code batches.get(0)}. */
    @FunctionalInterface
    public interface PartitionFn<S, R> extends Serializable {
        R apply(long firstBatch, List<List<S>> batches) throws Exception;
    }

    private final JavaPairRDD<Long, S> indexed;
    private final int batchSize;
    private final long samples, batches;

    private Batched(JavaPairRDD<Long, S> indexed, int batchSize, long samples, long batches) {
        this.indexed = indexed;
        this.batchSize = batchSize;
        this.samples = samples;
        this.batches = batches;
    }

    /**
     * @param maxSamples the first samples used at most (0 = all; calibration limits)
     * @param partitions partitions to spread the batches over (at most one per batch)
     */
    public static <S> Batched<S> of(JavaRDD<S> data, int batchSize, long maxSamples, int partitions) {
        if (batchSize <= 0) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        if (partitions <= 0) throw new IllegalArgumentException("partitions must be positive, got " + partitions);
        JavaPairRDD<Long, S> idx = data.zipWithIndex().mapToPair(t -> new Tuple2<>(t._2(), t._1()));
        if (maxSamples > 0) idx = idx.filter(t -> t._1() < maxSamples);
        long n = idx.count();
        long nb = (n + batchSize - 1) / batchSize;
        int p = (int) Math.max(1, Math.min(partitions, nb));
        JavaPairRDD<Long, S> laid = idx.repartitionAndSortWithinPartitions(new BatchRangePartitioner(p, nb, batchSize));
        return new Batched<>(laid, batchSize, n, nb);
    }

    public long samples() { return samples; }

    public int batchSize() { return batchSize; }

    public long batches() { return batches; }

    public int partitions() { return indexed.getNumPartitions(); }

    /** A partition's samples grouped into its (contiguous) batches; {@code first} is the global index of the first. */
    private record PartitionBatches<S>(long first, List<List<S>> batches) {}

    private static <S> PartitionBatches<S> group(java.util.Iterator<Tuple2<Long, S>> it, int bs) {
        List<List<S>> bl = new ArrayList<>();
        long first = -1, cur = -1;
        List<S> open = null;
        while (it.hasNext()) {
            Tuple2<Long, S> t = it.next();
            long b = t._1() / bs;
            if (b != cur) {
                if (first < 0) first = b;
                else if (b != cur + 1) throw new IllegalStateException("partition batches are not contiguous: " + cur + " then " + b);
                open = new ArrayList<>();
                bl.add(open);
                cur = b;
            }
            open.add(t._2());
        }
        return new PartitionBatches<>(first, bl);
    }

    /** Runs {@code fn} on every non-empty partition's batches and merges the results with a tree reduction. */
    public <R> R aggregate(PartitionFn<S, R> fn, Function2<R, R, R> merge) {
        int bs = batchSize;
        JavaRDD<R> parts = indexed.mapPartitions(it -> {
            PartitionBatches<S> pb = group(it, bs);
            List<R> out = new ArrayList<>(1);
            if (!pb.batches().isEmpty()) out.add(fn.apply(pb.first(), pb.batches()));
            return out.iterator();
        });
        return parts.treeReduce(merge);
    }

    /** Runs {@code fn} on every partition and returns the results in global batch order (for per-sample outputs). */
    public <R> List<R> collectOrdered(PartitionFn<S, List<R>> fn) {
        int bs = batchSize;
        JavaRDD<Tuple2<Long, List<R>>> parts = indexed.mapPartitions(it -> {
            PartitionBatches<S> pb = group(it, bs);
            List<Tuple2<Long, List<R>>> out = new ArrayList<>(1);
            if (!pb.batches().isEmpty()) out.add(new Tuple2<>(pb.first(), fn.apply(pb.first(), pb.batches())));
            return out.iterator();
        });
        List<Tuple2<Long, List<R>>> all = new ArrayList<>(parts.collect());
        all.sort((a, b) -> Long.compare(a._1(), b._1()));
        List<R> res = new ArrayList<>();
        for (Tuple2<Long, List<R>> t : all) res.addAll(t._2());
        return res;
    }

    /** Sample index -> partition: contiguous ranges of whole batches, as even as possible. */
    static final class BatchRangePartitioner extends Partitioner {
        private static final long serialVersionUID = 1L;
        private final int parts;
        private final long batches;
        private final int batchSize;

        BatchRangePartitioner(int parts, long batches, int batchSize) {
            this.parts = parts;
            this.batches = Math.max(1, batches);
            this.batchSize = batchSize;
        }

        @Override public int numPartitions() { return parts; }

        @Override public int getPartition(Object key) {
            long b = ((Long) key) / batchSize;
            return (int) Math.min(parts - 1, b * parts / batches);
        }

        @Override public boolean equals(Object o) {
            return o instanceof BatchRangePartitioner p && p.parts == parts && p.batches == batches && p.batchSize == batchSize;
        }

        @Override public int hashCode() { return java.util.Objects.hash(parts, batches, batchSize); }
    }
}
