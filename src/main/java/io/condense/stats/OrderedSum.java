package io.condense.stats;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A sum of double vectors that gives the same bits however its terms are split between partial sums and merged.
 *
 * <p>Floating-point addition is not associative, so a plain running sum depends on the order the terms came in
 * and on where a data set was cut into partitions. Here every term is a <em>chunk partial</em> keyed by its global
 * chunk index (in condense: the global index of a calibration / evaluation batch, whose samples are fixed by their
 * global sample indices). The total is defined as the pairwise sum over the infinite binary tree on chunk indices:
 * a node's value is the sum of its two children's values ({@code left + right}), a node with one non-empty child
 * passes that child's value up unchanged. That total is a pure function of the map chunk index -> partial, so it
 * does not depend on the order {@link #add} and {@link #merge} were called in: merging is associative and
 * commutative bit for bit, and a single process that adds the chunks one after another gets exactly the bits of any
 * partitioned computation (as long as each chunk's partial is computed from the same samples the same way).
 *
 * <p>Storage: two complete sibling subtrees are combined as soon as both are present, so a state that holds a
 * contiguous range of {@code n} chunks keeps at most ~log2(n)+2 vectors; partitions should therefore hold
 * contiguous chunk ranges (non-adjacent chunks are kept until their siblings arrive). Pairwise summation is also
 * more accurate than a running sum (error O(log n) instead of O(n) ulps).
 *
 * <p>Each chunk index may be added once; adding it twice is an error (it would mean a partition was counted twice).
 */
public final class OrderedSum implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int length;
    /** Complete subtrees: key = level << 58 | index at that level. */
    private final HashMap<Long, double[]> nodes = new HashMap<>();
    private long chunks;

    public OrderedSum(int length) {
        if (length < 0) throw new IllegalArgumentException("length must be >= 0");
        this.length = length;
    }

    public int length() { return length; }

    /** Number of chunks added (directly or through merges). */
    public long chunks() { return chunks; }

    /** Adds the partial of chunk {@code chunk} (>= 0, below 2^58); {@code partial} is copied. */
    public void add(long chunk, double[] partial) {
        if (chunk < 0 || chunk >= (1L << 58)) throw new IllegalArgumentException("chunk index out of range: " + chunk);
        if (partial.length != length) throw new IllegalArgumentException("partial has " + partial.length + " values, sum has " + length);
        insert(0, chunk, partial.clone());
        chunks++;
    }

    /** Merges {@code o} into this sum (its chunks must be disjoint from this one's); {@code o} is not changed. */
    public OrderedSum merge(OrderedSum o) {
        if (o.length != length) throw new IllegalArgumentException("sums differ in length: " + length + " vs " + o.length);
        List<Map.Entry<Long, double[]>> es = new ArrayList<>(o.nodes.entrySet());
        for (Map.Entry<Long, double[]> e : es) insert((int) (e.getKey() >>> 58), e.getKey() & ((1L << 58) - 1), e.getValue().clone());
        chunks += o.chunks;
        return this;
    }

    private void insert(int level, long index, double[] v) {
        while (true) {
            long key = key(level, index);
            if (covered(level, index)) throw new IllegalStateException("chunk range added twice (level " + level + ", index " + index + ")");
            double[] sib = nodes.remove(key(level, index ^ 1));
            if (sib == null) {
                nodes.put(key, v);
                return;
            }
            double[] left = (index & 1) == 0 ? v : sib, right = (index & 1) == 0 ? sib : v;
            for (int i = 0; i < length; i++) left[i] += right[i];
            v = left;
            level++;
            index >>= 1;
        }
    }

    /** Whether a stored node's chunk range overlaps that of (level, index). */
    private boolean covered(int level, long index) {
        long lo = index << level, hi = lo + (1L << level);
        for (long k : nodes.keySet()) {
            int l = (int) (k >>> 58);
            long i = k & ((1L << 58) - 1), a = i << l, b = a + (1L << l);
            if (a < hi && lo < b) return true;
        }
        return false;
    }

    private static long key(int level, long index) { return ((long) level << 58) | index; }

    /** The total (zeros when nothing was added); this sum is not changed. */
    public double[] total() {
        if (nodes.isEmpty()) return new double[length];
        HashMap<Long, double[]> cur = new HashMap<>();
        for (Map.Entry<Long, double[]> e : nodes.entrySet()) cur.put(e.getKey(), e.getValue());
        // bottom-up: at each level pair siblings, pass single children up; copies only where values are combined
        for (int level = 0; cur.size() > 1; level++) {
            HashMap<Long, double[]> next = new HashMap<>();
            for (Map.Entry<Long, double[]> e : cur.entrySet()) {
                int l = (int) (e.getKey() >>> 58);
                long idx = e.getKey() & ((1L << 58) - 1);
                if (l > level) {
                    next.put(e.getKey(), e.getValue());
                    continue;
                }
                long parent = key(level + 1, idx >> 1);
                double[] other = next.get(parent);
                if (other == null) {
                    next.put(parent, e.getValue());
                } else {
                    // both children of parent: left + right (IEEE addition is commutative, so which came first does not matter)
                    double[] s = new double[length];
                    for (int i = 0; i < length; i++) s[i] = other[i] + e.getValue()[i];
                    next.put(parent, s);
                }
            }
            cur = next;
        }
        return cur.values().iterator().next().clone();
    }

    /** A deep copy. */
    public OrderedSum copy() {
        OrderedSum c = new OrderedSum(length);
        nodes.forEach((k, v) -> c.nodes.put(k, v.clone()));
        c.chunks = chunks;
        return c;
    }
}
