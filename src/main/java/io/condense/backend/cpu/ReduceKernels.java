package io.condense.backend.cpu;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Arrays;

/**
 * CPU kernels: reductions (ONNX opsets 7..21). Axes come from the {@code axes} attribute before opset 13
 * (ReduceSum) or 18 (the others) and from the optional second input after; {@code noop_with_empty_axes} applies
 * to the input form. Float32/float64 reduce on ND4J (float16 via float32); integers reduce exactly in Java.
 */
final class ReduceKernels implements KernelRegistry.Group {
    enum Kind { SUM, MEAN, MAX, MIN, PROD, L1, L2, SUM_SQUARE, LOG_SUM, LOG_SUM_EXP }

    @Override
    public void register(KernelRegistry r) {
        r.add("ReduceSum", c -> OpContext.one(reduce(c, Kind.SUM, 13)));
        r.add("ReduceMean", c -> OpContext.one(reduce(c, Kind.MEAN, 18)));
        r.add("ReduceMax", c -> OpContext.one(reduce(c, Kind.MAX, 18)));
        r.add("ReduceMin", c -> OpContext.one(reduce(c, Kind.MIN, 18)));
        r.add("ReduceProd", c -> OpContext.one(reduce(c, Kind.PROD, 18)));
        r.add("ReduceL1", c -> OpContext.one(reduce(c, Kind.L1, 18)));
        r.add("ReduceL2", c -> OpContext.one(reduce(c, Kind.L2, 18)));
        r.add("ReduceSumSquare", c -> OpContext.one(reduce(c, Kind.SUM_SQUARE, 18)));
        r.add("ReduceLogSum", c -> OpContext.one(reduce(c, Kind.LOG_SUM, 18)));
        r.add("ReduceLogSumExp", c -> OpContext.one(reduce(c, Kind.LOG_SUM_EXP, 18)));
        r.add("ArgMax", c -> OpContext.one(arg(c, true)));
        r.add("ArgMin", c -> OpContext.one(arg(c, false)));
    }

    private static INDArray reduce(OpContext c, Kind kind, int axesInputFrom) {
        INDArray a = c.in(0);
        int r = a.rank();
        boolean keep = c.attrLong("keepdims", 1) != 0;
        long[] axes = ShapeKernels.axes(c, axesInputFrom, 1);
        if (axes == null || axes.length == 0) {
            // no reduction, "but other operations will be performed" (ReduceSumSquare acts as Square)
            if (c.opset() >= axesInputFrom && c.attrLong("noop_with_empty_axes", 0) != 0) return noop(c, kind, a);
            axes = new long[r];
            for (int i = 0; i < r; i++) axes[i] = i;
        }
        boolean[] red = new boolean[r];
        for (long ax : axes) red[Broadcast.axis(c, ax, r)] = true;
        long[] s = a.shape().clone();
        long[] keepShape = s.clone();
        int n = 0;
        for (int i = 0; i < r; i++) if (red[i]) n++;
        int[] dims = new int[n];
        long[] outShape = new long[keep ? r : r - n];
        long count = 1;
        for (int i = 0, j = 0, o = 0; i < r; i++) {
            if (red[i]) {
                dims[j++] = i;
                keepShape[i] = 1;
                count *= s[i];
                if (keep) outShape[o++] = 1;
            } else {
                outShape[o++] = s[i];
            }
        }
        DataType dt = a.dataType();
        if (dt == DataType.BOOL) throw c.error("not defined for bool inputs");
        if (n == 0) return a;
        if (Broadcast.isFloat(dt)) {
            if (a.length() == 0) return emptyReduce(c, kind, keepShape, outShape, dt);
            final long cnt = count;
            return ElementwiseKernels.floatOp(a, x -> Broadcast.reshape(floatReduce(kind, x, dims, cnt), outShape));
        }
        return Broadcast.reshape(intReduce(c, kind, a, red, keepShape, count), outShape);
    }

    private static INDArray noop(OpContext c, Kind kind, INDArray a) {
        if (kind != Kind.L1 && kind != Kind.L2 && kind != Kind.SUM_SQUARE && kind != Kind.LOG_SUM) return a;
        if (a.length() == 0) return a;
        if (Broadcast.isFloat(a.dataType())) {
            return ElementwiseKernels.floatOp(a, x -> switch (kind) {
                case SUM_SQUARE -> x.mul(x);
                case LOG_SUM -> Transforms.log(x, true);
                default -> Transforms.abs(x, true);
            });
        }
        long[] v = Broadcast.longs(a);
        for (int i = 0; i < v.length; i++) {
            v[i] = switch (kind) {
                case SUM_SQUARE -> v[i] * v[i];
                case LOG_SUM -> (long) Math.log((double) v[i]);
                default -> Math.abs(v[i]);
            };
        }
        return Broadcast.fromLongs(v, a.shape().clone(), a.dataType());
    }

    private static INDArray floatReduce(Kind kind, INDArray x, int[] dims, long count) {
        return switch (kind) {
            case SUM -> x.sum(true, dims);
            case MEAN -> x.mean(true, dims);
            case MAX -> x.max(true, dims);
            case MIN -> x.min(true, dims);
            case PROD -> x.prod(true, dims);
            case L1 -> Transforms.abs(x, true).sum(true, dims);
            case L2 -> Transforms.sqrt(x.mul(x).sum(true, dims), false);
            case SUM_SQUARE -> x.mul(x).sum(true, dims);
            case LOG_SUM -> Transforms.log(x.sum(true, dims), false);
            case LOG_SUM_EXP -> {
                INDArray m = x.max(true, dims);
                INDArray mb = Broadcast.to(m, x.shape());
                INDArray e = Transforms.exp(x.sub(mb), false).sum(true, dims);
                yield Transforms.log(e, false).addi(m);
            }
        };
    }

    private static INDArray emptyReduce(OpContext c, Kind kind, long[] keepShape, long[] outShape, DataType dt) {
        double v = switch (kind) {
            case SUM, L1, L2, SUM_SQUARE -> 0;
            case PROD -> 1;
            case MAX -> Double.NEGATIVE_INFINITY;
            case MIN -> Double.POSITIVE_INFINITY;
            case LOG_SUM, LOG_SUM_EXP -> Double.NEGATIVE_INFINITY;
            case MEAN -> Double.NaN;
        };
        if (Broadcast.size(outShape) == 0) return Nd4j.create(dt, outShape);
        INDArray z = Nd4j.createUninitialized(dt, outShape.length == 0 ? new long[] {1} : outShape, 'c').assign(v);
        return Broadcast.reshape(z, outShape);
    }

    private static INDArray intReduce(OpContext c, Kind kind, INDArray a, boolean[] red, long[] keepShape, long count) {
        long[] s = a.shape().clone();
        long[] v = Broadcast.longs(a);
        int outN = (int) Broadcast.size(keepShape);
        long[] acc = new long[outN];
        long init = switch (kind) {
            case PROD -> 1;
            case MAX -> Long.MIN_VALUE;
            case MIN -> Long.MAX_VALUE;
            default -> 0;
        };
        Arrays.fill(acc, init);
        int[] map = outIndex(s, red);
        for (int i = 0; i < v.length; i++) {
            int o = map[i];
            long x = v[i];
            acc[o] = switch (kind) {
                case SUM, MEAN, LOG_SUM -> acc[o] + x;
                case MAX -> Math.max(acc[o], x);
                case MIN -> Math.min(acc[o], x);
                case PROD -> acc[o] * x;
                case L1 -> acc[o] + Math.abs(x);
                case L2, SUM_SQUARE -> acc[o] + x * x;
                case LOG_SUM_EXP -> throw c.error("ReduceLogSumExp needs a float input");
            };
        }
        for (int o = 0; o < outN; o++) {
            switch (kind) {
                case MEAN -> acc[o] = count == 0 ? 0 : acc[o] / count;
                case L2 -> acc[o] = (long) Math.sqrt((double) acc[o]);
                case LOG_SUM -> acc[o] = (long) Math.log((double) acc[o]);
                default -> { }
            }
        }
        return Broadcast.fromLongs(acc, keepShape, a.dataType());
    }

    /** For each element of a C-ordered array of shape {@code s}, its index in the reduced (kept-dims) output. */
    private static int[] outIndex(long[] s, boolean[] red) {
        int r = s.length;
        long[] ostr = new long[r];
        long st = 1;
        for (int i = r - 1; i >= 0; i--) {
            ostr[i] = red[i] ? 0 : st;
            if (!red[i]) st *= s[i];
        }
        return Broadcast.walk(s, ostr, (int) Broadcast.size(s));
    }

    private static INDArray arg(OpContext c, boolean max) {
        INDArray a = c.in(0);
        int r = a.rank();
        if (r == 0) throw c.error("input must have rank >= 1");
        int axis = Broadcast.axis(c, c.attrLong("axis", 0), r);
        boolean keep = c.attrLong("keepdims", 1) != 0;
        boolean last = c.attrLong("select_last_index", 0) != 0;
        long[] s = a.shape().clone();
        long d = s[axis];
        if (d == 0) throw c.error("cannot take Arg" + (max ? "Max" : "Min") + " over an empty axis");
        long outer = 1;
        for (int i = 0; i < axis; i++) outer *= s[i];
        long inner = 1;
        for (int i = axis + 1; i < r; i++) inner *= s[i];
        long[] res = new long[(int) (outer * inner)];
        if (Broadcast.isFloat(a.dataType())) {
            double[] v = Broadcast.doubles(a);
            for (long o = 0; o < outer; o++) {
                for (long in = 0; in < inner; in++) {
                    long base = o * d * inner + in;
                    double best = v[(int) base];
                    long bi = 0;
                    boolean nan = Double.isNaN(best);
                    for (long j = 1; j < d && !nan; j++) {
                        double x = v[(int) (base + j * inner)];
                        if (Double.isNaN(x)) {
                            best = x;
                            bi = j;
                            nan = true;
                        } else if (max ? (x > best || last && x == best) : (x < best || last && x == best)) {
                            best = x;
                            bi = j;
                        }
                    }
                    res[(int) (o * inner + in)] = bi;
                }
            }
        } else {
            long[] v = Broadcast.longs(a);
            for (long o = 0; o < outer; o++) {
                for (long in = 0; in < inner; in++) {
                    long base = o * d * inner + in;
                    long best = v[(int) base];
                    long bi = 0;
                    for (long j = 1; j < d; j++) {
                        long x = v[(int) (base + j * inner)];
                        if (max ? (x > best || last && x == best) : (x < best || last && x == best)) {
                            best = x;
                            bi = j;
                        }
                    }
                    res[(int) (o * inner + in)] = bi;
                }
            }
        }
        long[] os;
        if (keep) {
            os = s.clone();
            os[axis] = 1;
        } else {
            os = new long[r - 1];
            for (int i = 0, j = 0; i < r; i++) if (i != axis) os[j++] = s[i];
        }
        return Broadcast.fromLongs(res, os, DataType.LONG);
    }
}
