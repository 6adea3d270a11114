package io.condense.backend.cpu;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.shape.Gather;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * CPU kernels: shape ops (ONNX opsets 7..21). Reshape/Flatten/Squeeze/Unsqueeze return views where ND4J can;
 * data movement (Transpose, Slice, Gather, Pad, Tile, Expand) produces dense C-ordered arrays.
 */
final class ShapeKernels implements KernelRegistry.Group {
    @Override
    public void register(KernelRegistry r) {
        r.add("Flatten", ShapeKernels::flatten);
        r.add("Reshape", ShapeKernels::reshape);
        r.add("Transpose", ShapeKernels::transpose);
        r.add("Concat", ShapeKernels::concat);
        r.add("Split", ShapeKernels::split);
        r.add("Slice", ShapeKernels::slice);
        r.add("Gather", ShapeKernels::gather);
        r.add("Squeeze", ShapeKernels::squeeze);
        r.add("Unsqueeze", ShapeKernels::unsqueeze);
        r.add("Shape", ShapeKernels::shape);
        r.add("Size", c -> OpContext.one(Nd4j.scalar(c.in(0).length())));
        r.add("Pad", ShapeKernels::pad);
        r.add("Expand", c -> {
            INDArray a = c.in(0);
            long[] want = ints(c, 1, "shape");
            return OpContext.one(Broadcast.to(a, Broadcast.shape(c, a.shape(), want)));
        });
        r.add("Tile", ShapeKernels::tile);
    }

    /** Up to this many elements, integer Gather/Concat (shape arithmetic) run as Java loops. */
    private static final long SMALL = 1024;

    private static boolean isInteger(DataType t) {
        return t == DataType.LONG || t == DataType.INT || t == DataType.SHORT || t == DataType.BYTE || t == DataType.UBYTE;
    }

    /** A 1-D integer input as longs; errors if it is not integer. */
    static long[] ints(OpContext c, int i, String what) {
        INDArray a = c.in(i);
        if (Broadcast.isFloat(a.dataType()) || a.dataType() == DataType.BOOL) {
            throw c.error(what + " must be an integer tensor, got " + a.dataType());
        }
        return Broadcast.longs(a);
    }

    /** Axes from the attribute (before {@code inputFrom}) or from optional input {@code input}; null when absent. */
    static long[] axes(OpContext c, int inputFrom, int input) {
        if (c.opset() < inputFrom) return c.attrLongs("axes", null);
        return c.has(input) ? ints(c, input, "axes") : null;
    }

    private static INDArray[] flatten(OpContext c) {
        INDArray a = c.in(0);
        int r = a.rank();
        long axis = c.attrLong("axis", 1);
        if (axis < 0) axis += r;
        if (axis < 0 || axis > r) throw c.error("axis " + c.attrLong("axis", 1) + " is out of range for rank " + r);
        long[] s = a.shape().clone();
        long rows = 1;
        for (int i = 0; i < axis; i++) rows *= s[i];
        long cols = 1;
        for (int i = (int) axis; i < r; i++) cols *= s[i];
        return OpContext.one(Broadcast.reshape(a, new long[] {rows, cols}));
    }

    private static INDArray[] reshape(OpContext c) {
        INDArray a = c.in(0);
        long[] want = c.opset() < 5 ? c.attrLongs("shape", new long[0]) : ints(c, 1, "shape");
        boolean allowZero = c.attrLong("allowzero", 0) != 0;
        long[] in = a.shape().clone();
        long[] out = want.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == 0 && !allowZero) {
                if (i >= in.length) throw c.error("shape " + Arrays.toString(want) + " copies dimension " + i + " which input " + Arrays.toString(in) + " lacks");
                out[i] = in[i];
            }
            if (out[i] == -1) {
                if (infer >= 0) throw c.error("shape " + Arrays.toString(want) + " has more than one -1");
                infer = i;
            } else if (out[i] < 0) {
                throw c.error("shape " + Arrays.toString(want) + " has an invalid dimension " + out[i]);
            } else {
                known *= out[i];
            }
        }
        long total = a.length();
        if (infer >= 0) {
            if (known == 0 || total % known != 0) {
                throw c.error("cannot reshape " + Arrays.toString(in) + " to " + Arrays.toString(want));
            }
            out[infer] = total / known;
        } else if (known != total) {
            throw c.error("cannot reshape " + Arrays.toString(in) + " (" + total + " elements) to " + Arrays.toString(want));
        }
        return OpContext.one(Broadcast.reshape(a, out));
    }

    private static INDArray[] transpose(OpContext c) {
        INDArray a = c.in(0);
        int r = a.rank();
        long[] p = c.attrLongs("perm", null);
        int[] perm = new int[r];
        if (p == null) {
            for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
        } else {
            if (p.length != r) throw c.error("perm " + Arrays.toString(p) + " does not match rank " + r);
            boolean[] seen = new boolean[r];
            for (int i = 0; i < r; i++) {
                int ax = Broadcast.axis(c, p[i], r);
                if (seen[ax]) throw c.error("perm " + Arrays.toString(p) + " repeats axis " + ax);
                seen[ax] = true;
                perm[i] = ax;
            }
        }
        boolean identity = true;
        for (int i = 0; i < r; i++) identity &= perm[i] == i;
        if (identity || r < 2) return OpContext.one(a);
        long[] s = a.shape().clone();
        long[] os = new long[r];
        for (int i = 0; i < r; i++) os[i] = s[perm[i]];
        if (a.length() == 0) return OpContext.one(Nd4j.create(a.dataType(), os));
        INDArray fast = FloatKernels.transpose(a, perm);
        if (fast != null) return OpContext.one(fast);
        return OpContext.one(a.permute(perm).dup('c'));
    }

    private static INDArray[] concat(OpContext c) {
        int n = c.inputCount();
        if (n == 0) throw c.error("needs at least one input");
        INDArray first = c.in(0);
        int r = first.rank();
        if (r == 0) throw c.error("cannot concatenate scalars");
        int axis = Broadcast.axis(c, c.attrLong("axis", Long.MIN_VALUE) == Long.MIN_VALUE ? missing(c, "axis") : c.attrLong("axis", 0), r);
        long[] out = first.shape().clone();
        out[axis] = 0;
        List<INDArray> parts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            INDArray a = c.in(i);
            if (a.dataType() != first.dataType()) throw c.error("inputs must share a type, got " + first.dataType() + " and " + a.dataType());
            long[] s = a.shape().clone();
            boolean ok = s.length == r;
            for (int d = 0; ok && d < r; d++) ok = d == axis || s[d] == out[d];
            if (!ok) throw c.error("input " + i + " has shape " + Arrays.toString(s) + ", incompatible with " + Arrays.toString(first.shape()) + " on axis " + axis);
            out[axis] += s[axis];
            if (a.length() > 0) parts.add(a);
        }
        if (parts.isEmpty() || Broadcast.size(out) == 0) return OpContext.one(Nd4j.create(first.dataType(), out));
        if (parts.size() == 1) return OpContext.one(parts.get(0));
        if (Broadcast.size(out) <= SMALL && isInteger(first.dataType())) {
            // shape arithmetic (Concat of dims): copy blocks in Java
            long outer = 1;
            for (int d = 0; d < axis; d++) outer *= out[d];
            long[] res = new long[(int) Broadcast.size(out)];
            long[][] vals = new long[parts.size()][];
            long[] block = new long[parts.size()];
            for (int i = 0; i < vals.length; i++) {
                vals[i] = Broadcast.longs(parts.get(i));
                block[i] = vals[i].length / outer;
            }
            int o = 0;
            for (long p = 0; p < outer; p++) {
                for (int i = 0; i < vals.length; i++) {
                    System.arraycopy(vals[i], (int) (p * block[i]), res, o, (int) block[i]);
                    o += (int) block[i];
                }
            }
            return OpContext.one(Broadcast.fromLongs(res, out, first.dataType()));
        }
        INDArray z = Nd4j.createUninitialized(first.dataType(), out, 'c');
        long off = 0;
        INDArrayIndex[] idx = new INDArrayIndex[r];
        Arrays.fill(idx, NDArrayIndex.all());
        for (INDArray p : parts) {
            long len = p.shape()[axis];
            idx[axis] = NDArrayIndex.interval(off, off + len);
            z.get(idx).assign(p);
            off += len;
        }
        return OpContext.one(z);
    }

    private static long missing(OpContext c, String attr) {
        throw c.error("missing attribute '" + attr + "'");
    }

    private static INDArray[] split(OpContext c) {
        INDArray a = c.in(0);
        int r = a.rank();
        int axis = Broadcast.axis(c, c.attrLong("axis", 0), r);
        long dim = a.shape()[axis];
        int outs = c.node().outputs().size();
        long[] sizes = c.opset() < 13 ? c.attrLongs("split", null) : c.has(1) ? ints(c, 1, "split") : null;
        if (sizes == null) {
            if (c.opset() >= 18 && c.node().hasAttr("num_outputs")) {
                long k = c.attrLong("num_outputs", 0);
                if (k != outs) throw c.error("num_outputs " + k + " does not match " + outs + " outputs");
                long chunk = (dim + k - 1) / k;
                sizes = new long[outs];
                long left = dim;
                for (int i = 0; i < outs; i++) {
                    sizes[i] = Math.min(chunk, left);
                    left -= sizes[i];
                }
            } else {
                if (dim % outs != 0) throw c.error("dimension " + dim + " of axis " + axis + " does not split evenly into " + outs + " outputs");
                sizes = new long[outs];
                Arrays.fill(sizes, dim / outs);
            }
        }
        if (sizes.length != outs) throw c.error("split " + Arrays.toString(sizes) + " does not match " + outs + " outputs");
        long sum = 0;
        for (long s : sizes) {
            if (s < 0) throw c.error("split " + Arrays.toString(sizes) + " has a negative size");
            sum += s;
        }
        if (sum != dim) throw c.error("split " + Arrays.toString(sizes) + " does not sum to dimension " + dim);
        INDArray[] res = new INDArray[outs];
        INDArrayIndex[] idx = new INDArrayIndex[r];
        Arrays.fill(idx, NDArrayIndex.all());
        long off = 0;
        for (int i = 0; i < outs; i++) {
            long[] s = a.shape().clone();
            s[axis] = sizes[i];
            if (Broadcast.size(s) == 0) {
                res[i] = Nd4j.create(a.dataType(), s);
            } else {
                idx[axis] = NDArrayIndex.interval(off, off + sizes[i]);
                res[i] = a.get(idx).dup('c');
            }
            off += sizes[i];
        }
        return res;
    }

    private static INDArray[] slice(OpContext c) {
        INDArray a = c.in(0);
        int r = a.rank();
        long[] starts;
        long[] ends;
        long[] axes;
        long[] steps = null;
        if (c.opset() < 10) {
            starts = c.attrLongs("starts", null);
            ends = c.attrLongs("ends", null);
            if (starts == null || ends == null) throw c.error("missing attribute starts or ends");
            axes = c.attrLongs("axes", null);
        } else {
            starts = ints(c, 1, "starts");
            ends = ints(c, 2, "ends");
            axes = c.has(3) ? ints(c, 3, "axes") : null;
            if (c.has(4)) steps = ints(c, 4, "steps");
        }
        int k = starts.length;
        if (ends.length != k || axes != null && axes.length != k || steps != null && steps.length != k) {
            throw c.error("starts, ends, axes and steps must have the same length");
        }
        long[] s = a.shape().clone();
        long[] begin = new long[r];
        long[] step = new long[r];
        long[] count = new long[r];
        boolean[] seen = new boolean[r];
        for (int d = 0; d < r; d++) {
            step[d] = 1;
            count[d] = s[d];
        }
        for (int i = 0; i < k; i++) {
            int ax = Broadcast.axis(c, axes == null ? i : axes[i], r);
            if (seen[ax]) throw c.error("axis " + ax + " is sliced twice");
            seen[ax] = true;
            long st = steps == null ? 1 : steps[i];
            if (st == 0) throw c.error("step must not be 0");
            long dim = s[ax];
            long b = starts[i];
            long e = ends[i];
            if (b < 0) b += dim;
            if (e < 0) e += dim;
            long n;
            if (st > 0) {
                b = clamp(b, 0, dim);
                e = clamp(e, 0, dim);
                n = e > b ? (e - b + st - 1) / st : 0;
            } else {
                b = clamp(b, 0, dim - 1);
                e = clamp(e, -1, dim - 1);
                n = b > e ? (b - e + (-st) - 1) / (-st) : 0;
            }
            begin[ax] = b;
            step[ax] = st;
            count[ax] = n;
        }
        if (Broadcast.size(count) == 0) return OpContext.one(Nd4j.create(a.dataType(), count));
        INDArray v = a;
        INDArrayIndex[] idx = new INDArrayIndex[r];
        boolean anyInterval = false;
        for (int d = 0; d < r; d++) {
            if (step[d] == 1 && (begin[d] != 0 || count[d] != s[d])) {
                idx[d] = NDArrayIndex.interval(begin[d], begin[d] + count[d]);
                anyInterval = true;
            } else {
                idx[d] = NDArrayIndex.all();
            }
        }
        if (anyInterval) v = a.get(idx);
        for (int d = 0; d < r; d++) {
            if (step[d] == 1) continue;
            long[] pick = new long[(int) count[d]];
            for (int j = 0; j < pick.length; j++) pick[j] = begin[d] + j * step[d];
            v = take(v, d, pick);
        }
        return OpContext.one(v == a ? a : Nd.contiguous(v));
    }

    private static long clamp(long v, long lo, long hi) { return Math.max(lo, Math.min(hi, v)); }

    /** Elements of {@code a} at positions {@code idx} (already in range) along {@code axis}, as a new dense array. */
    static INDArray take(INDArray a, int axis, long[] idx) {
        long[] s = a.shape().clone();
        long[] os = s.clone();
        os[axis] = idx.length;
        if (Broadcast.size(os) == 0) return Nd4j.create(a.dataType(), os);
        DataType dt = a.dataType();
        if (dt != DataType.FLOAT && dt != DataType.DOUBLE && dt != DataType.INT && dt != DataType.LONG) {
            // ND4J's gather rejects some element types: move through an exact wider type
            DataType wide = Broadcast.isHalf(dt) ? DataType.FLOAT : DataType.LONG;
            return take(a.castTo(wide), axis, idx).castTo(dt);
        }
        INDArray indices = Nd4j.createFromArray(Broadcast.toInts(idx));
        INDArray z = Nd4j.createUninitialized(a.dataType(), os, 'c');
        Gather g = new Gather(Nd.contiguous(a), indices, axis);
        g.addOutputArgument(z);
        Nd4j.exec(g);
        return z;
    }

    private static INDArray[] gather(OpContext c) {
        INDArray a = c.in(0);
        INDArray ind = c.in(1);
        int r = a.rank();
        if (r == 0) throw c.error("data must have rank >= 1");
        int axis = Broadcast.axis(c, c.attrLong("axis", 0), r);
        long dim = a.shape()[axis];
        long[] idx = ints(c, 1, "indices");
        for (int i = 0; i < idx.length; i++) {
            long v = idx[i] < 0 ? idx[i] + dim : idx[i];
            if (v < 0 || v >= dim) throw c.error("index " + idx[i] + " is out of range for dimension " + dim + " of axis " + axis);
            idx[i] = v;
        }
        long[] s = a.shape().clone();
        long[] is = ind.shape().clone();
        long[] os = new long[r - 1 + is.length];
        int o = 0;
        for (int i = 0; i < axis; i++) os[o++] = s[i];
        for (long d : is) os[o++] = d;
        for (int i = axis + 1; i < r; i++) os[o++] = s[i];
        if (Broadcast.size(os) == 0) return OpContext.one(Nd4j.create(a.dataType(), os));
        if (a.length() <= SMALL && isInteger(a.dataType())) {
            // shape arithmetic (Shape -> Gather): plain Java beats three ND4J allocations and a custom op
            long[] v = Broadcast.longs(a);
            long inner = 1;
            for (int i = axis + 1; i < r; i++) inner *= s[i];
            long outer = a.length() / (dim * inner);
            long[] out = new long[(int) (outer * idx.length * inner)];
            int w = 0;
            for (long p = 0; p < outer; p++) {
                for (long j : idx) {
                    long base = (p * dim + j) * inner;
                    for (long q = 0; q < inner; q++) out[w++] = v[(int) (base + q)];
                }
            }
            return OpContext.one(Broadcast.fromLongs(out, os, a.dataType()));
        }
        INDArray fast = FloatKernels.gather(a, axis, idx, os);
        if (fast == null) fast = gatherBytes(a, axis, idx, os);
        if (fast != null) return OpContext.one(fast);
        return OpContext.one(Broadcast.reshape(take(a, axis, idx), os));
    }

    /**
     * Gather as a byte copy of whole rows, for element types ND4J's gather rejects (INT8/UINT8 embedding tables:
     * widening a 30522 x 384 table to int64 on every run would cost more than the model's matrix products);
     * null when {@code a} is not a dense C-order array addressable with int offsets.
     */
    static INDArray gatherBytes(INDArray a, int axis, long[] idx, long[] os) {
        DataType dt = a.dataType();
        if (dt != DataType.BYTE && dt != DataType.UBYTE && dt != DataType.BOOL) return null;
        INDArray d = ConvOps.dense(a);
        long[] s = d.shape();
        long dim = s[axis], inner = 1;
        for (int i = axis + 1; i < s.length; i++) inner *= s[i];
        long outer = d.length() / (dim * inner);
        if (outer * idx.length * inner > Integer.MAX_VALUE || d.offset() + d.length() > Integer.MAX_VALUE) return null;
        java.nio.ByteBuffer src = d.data().asNio();
        INDArray z = Nd4j.createUninitialized(dt, os, 'c');
        java.nio.ByteBuffer dst = z.data().asNio();
        int off = (int) d.offset(), in = (int) inner, w = 0;
        for (long p = 0; p < outer; p++) {
            for (long j : idx) {
                dst.put(w, src, (int) (off + (p * dim + j) * inner), in);
                w += in;
            }
        }
        return z;
    }

    private static INDArray[] squeeze(OpContext c) {
        INDArray a = c.in(0);
        int r = a.rank();
        long[] s = a.shape().clone();
        long[] axes = axes(c, 13, 1);
        boolean[] drop = new boolean[r];
        if (axes == null) {
            for (int i = 0; i < r; i++) drop[i] = s[i] == 1;
        } else {
            for (long ax : axes) {
                int d = Broadcast.axis(c, ax, r);
                if (s[d] != 1) throw c.error("cannot squeeze axis " + ax + " of size " + s[d] + " in shape " + Arrays.toString(s));
                drop[d] = true;
            }
        }
        long[] out = new long[r];
        int n = 0;
        for (int i = 0; i < r; i++) if (!drop[i]) out[n++] = s[i];
        return OpContext.one(Broadcast.reshape(a, Arrays.copyOf(out, n)));
    }

    private static INDArray[] unsqueeze(OpContext c) {
        INDArray a = c.in(0);
        long[] axes = axes(c, 13, 1);
        if (axes == null) throw c.error("missing axes");
        long[] s = a.shape().clone();
        int r = s.length + axes.length;
        boolean[] ins = new boolean[r];
        for (long ax : axes) {
            int d = Broadcast.axis(c, ax, r);
            if (ins[d]) throw c.error("axes " + Arrays.toString(axes) + " repeat axis " + d);
            ins[d] = true;
        }
        long[] out = new long[r];
        for (int i = 0, j = 0; i < r; i++) out[i] = ins[i] ? 1 : s[j++];
        return OpContext.one(Broadcast.reshape(a, out));
    }

    private static INDArray[] shape(OpContext c) {
        long[] s = c.in(0).shape().clone();
        int r = s.length;
        long start = c.attrLong("start", 0);
        long end = c.node().hasAttr("end") ? c.attrLong("end", r) : r;
        if (start < 0) start += r;
        if (end < 0) end += r;
        start = clamp(start, 0, r);
        end = clamp(end, 0, r);
        long[] v = end > start ? Arrays.copyOfRange(s, (int) start, (int) end) : new long[0];
        return OpContext.one(v.length == 0 ? Nd4j.create(DataType.LONG, 0) : Nd4j.createFromArray(v));
    }

    private static INDArray[] pad(OpContext c) {
        INDArray a = c.in(0);
        int r = a.rank();
        String mode = c.attrString("mode", "constant");
        long[] pads;
        double value = 0;
        long[] axes = null;
        if (c.opset() < 11) {
            pads = c.attrLongs("pads", null);
            if (pads == null) throw c.error("missing attribute 'pads'");
            value = c.attrFloat("value", 0f);
        } else {
            pads = ints(c, 1, "pads");
            if (c.has(2) && c.in(2).length() > 0) value = c.in(2).getDouble(0);
            if (c.has(3)) axes = ints(c, 3, "axes");
        }
        long[] pb = new long[r];
        long[] pe = new long[r];
        if (axes == null) {
            if (pads.length != 2L * r) throw c.error("pads " + Arrays.toString(pads) + " must have " + 2 * r + " values for rank " + r);
            for (int i = 0; i < r; i++) {
                pb[i] = pads[i];
                pe[i] = pads[i + r];
            }
        } else {
            int k = axes.length;
            if (pads.length != 2L * k) throw c.error("pads " + Arrays.toString(pads) + " must have " + 2 * k + " values for " + k + " axes");
            for (int i = 0; i < k; i++) {
                int d = Broadcast.axis(c, axes[i], r);
                pb[d] = pads[i];
                pe[d] = pads[i + k];
            }
        }
        long[] s = a.shape().clone();
        long[] os = new long[r];
        for (int i = 0; i < r; i++) {
            os[i] = s[i] + pb[i] + pe[i];
            if (os[i] < 0) throw c.error("pads " + Arrays.toString(pads) + " remove more than dimension " + i + " holds");
        }
        DataType dt = a.dataType();
        if (Broadcast.size(os) == 0) return OpContext.one(Nd4j.create(dt, os));
        switch (mode) {
            case "constant" -> {
                INDArray z = Nd4j.createUninitialized(dt, os, 'c');
                z.assign(value);
                INDArrayIndex[] src = new INDArrayIndex[r];
                INDArrayIndex[] dst = new INDArrayIndex[r];
                for (int i = 0; i < r; i++) {
                    long s0 = Math.max(0, -pb[i]);
                    long s1 = s[i] - Math.max(0, -pe[i]);
                    if (s1 <= s0) return OpContext.one(z);
                    long d0 = Math.max(0, pb[i]);
                    src[i] = NDArrayIndex.interval(s0, s1);
                    dst[i] = NDArrayIndex.interval(d0, d0 + s1 - s0);
                }
                if (r == 0) return OpContext.one(a);
                z.get(dst).assign(a.get(src));
                return OpContext.one(z);
            }
            case "reflect", "edge", "wrap" -> {
                INDArray v = a;
                for (int d = 0; d < r; d++) {
                    if (pb[d] == 0 && pe[d] == 0) continue;
                    long n = s[d];
                    if (n == 0) throw c.error("cannot " + mode + "-pad an empty axis " + d);
                    long[] pick = new long[(int) os[d]];
                    for (int j = 0; j < pick.length; j++) {
                        long src = j - pb[d];
                        pick[j] = switch (mode) {
                            case "edge" -> clamp(src, 0, n - 1);
                            case "wrap" -> Math.floorMod(src, n);
                            default -> reflect(src, n);
                        };
                    }
                    v = take(v, d, pick);
                }
                return OpContext.one(v);
            }
            default -> throw c.error("unsupported pad mode '" + mode + "'");
        }
    }

    private static long reflect(long i, long n) {
        if (n == 1) return 0;
        long period = 2 * (n - 1);
        long m = Math.floorMod(i, period);
        return m < n ? m : period - m;
    }

    private static INDArray[] tile(OpContext c) {
        INDArray a = c.in(0);
        long[] reps = ints(c, 1, "repeats");
        int r = a.rank();
        if (reps.length != r) throw c.error("repeats " + Arrays.toString(reps) + " must have " + r + " values");
        long[] s = a.shape().clone();
        long[] os = new long[r];
        for (int i = 0; i < r; i++) {
            if (reps[i] < 0) throw c.error("repeats " + Arrays.toString(reps) + " has a negative value");
            os[i] = s[i] * reps[i];
        }
        if (Broadcast.size(os) == 0) return OpContext.one(Nd4j.create(a.dataType(), os));
        INDArray v = a;
        for (int d = 0; d < r; d++) {
            if (reps[d] == 1) continue;
            long[] pick = new long[(int) os[d]];
            for (int j = 0; j < pick.length; j++) pick[j] = j % s[d];
            v = take(v, d, pick);
        }
        return OpContext.one(v);
    }
}
