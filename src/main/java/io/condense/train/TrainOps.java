package io.condense.train;

import io.condense.ir.Attribute;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Training-mode implementations of ONNX ops: each forward returns its outputs and a closure computing input
 * gradients from output gradients. Ops in {@link #SHARED} run the CPU backend's inference kernel forward and a
 * {@link GradRules} rule backward; the rest still have their own ND4J implementation here.
 */
public final class TrainOps {
    private TrainOps() {}

    /** Input gradients (null where not needed or not differentiable) from output gradients (null where unused). */
    public interface Backward { INDArray[] apply(INDArray[] dOut, boolean[] need); }

    public record Result(INDArray[] out, Backward bw) {
        static Result of(INDArray y, Backward bw) { return new Result(new INDArray[] {y}, bw); }
    }

    public record Call(Node node, INDArray[] in, boolean training, int opset, Tape tape) {
        INDArray in(int i) {
            if (i >= in.length || in[i] == null) throw err("missing input " + i);
            return in[i];
        }
        boolean has(int i) { return i < in.length && in[i] != null; }
        ModelException err(String msg) { return new ModelException(node.label() + ": " + msg); }
        long attrLong(String k, long d) { return node.attrLong(k, d); }
        float attrFloat(String k, float d) { return node.attrFloat(k, d); }
        long[] attrLongs(String k, long[] d) { return node.attrLongs(k, d); }
        String attrString(String k, String d) { return node.attrString(k, d); }
    }

    interface Op { Result run(Call c); }

    private static final Map<String, Op> OPS = new HashMap<>();
    private static final boolean ONEDNN;

    static {
        io.condense.backend.cpu.NativeSetup.init();
        ONEDNN = io.condense.backend.cpu.NativeSetup.extension().contains("onednn");
    }
    /** Inputs that carry no gradient, by op (ops outside {@link #SHARED}; GradRules knows its own). */
    private static final Map<String, Set<Integer>> NON_DIFF = new HashMap<>();
    private static final io.condense.backend.cpu.KernelRegistry KERNELS = io.condense.backend.cpu.KernelRegistry.standard();
    /**
     * Ops trained through the CPU backend's inference kernel (forward) and {@link GradRules} (backward): one
     * definition of each op's semantics for inference and training.
     */
    static final Set<String> SHARED = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Log", "Neg", "Reciprocal",
            "Tanh", "Erf", "Identity", "Softmax", "MatMul", "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze",
            "Expand", "Concat", "Slice", "Gather", "Where", "Cast", "ReduceMean", "ReduceSum",
            "Shape", "Size", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor",
            "ConstantOfShape", "ArgMax", "ArgMin");

    static {
        // ops whose forward is the inference backend's kernel and whose backward is a GradRules rule
        for (String op : SHARED) {
            io.condense.backend.cpu.Kernel k = KERNELS.get("", op);
            if (k == null) throw new IllegalStateException("no CPU kernel for shared training op " + op);
            GradRules.Rule rule = GradRules.rule(op);
            OPS.put(op, c -> shared(c, k, rule));
        }
        // ops with their own training implementation (ND4J; not yet moved to kernels + GradRules)
        OPS.put("Relu", TrainOps::relu);
        OPS.put("LeakyRelu", TrainOps::leakyRelu);
        OPS.put("Sigmoid", TrainOps::sigmoid);
        OPS.put("Gelu", TrainOps::gelu);
        OPS.put("LogSoftmax", c -> softmax(c, true));
        OPS.put("Gemm", TrainOps::gemm);
        OPS.put("Conv", TrainOps::conv);
        OPS.put("MaxPool", c -> pool(c, true));
        OPS.put("AveragePool", c -> pool(c, false));
        OPS.put("GlobalAveragePool", TrainOps::globalAveragePool);
        OPS.put("BatchNormalization", TrainOps::batchNorm);
        OPS.put("LayerNormalization", TrainOps::layerNorm);
        OPS.put("InstanceNormalization", TrainOps::instanceNorm);
        OPS.put("Dropout", TrainOps::dropout);
        OPS.put("Constant", TrainOps::constant);
        NON_DIFF.put("BatchNormalization", Set.of(3, 4));
        NON_DIFF.put("Dropout", Set.of(1, 2));
        FakeQuantOps.register(OPS, NON_DIFF);
    }

    public static boolean supports(String opType) { return OPS.containsKey(opType); }

    public static Set<String> supportedOps() { return OPS.keySet(); }

    public static boolean differentiable(String opType, int input) {
        if (SHARED.contains(opType)) return GradRules.differentiable(opType, input);
        Set<Integer> s = NON_DIFF.get(opType);
        return s == null || !s.contains(input);
    }

    static Result run(Call c) { return OPS.get(c.node().opType()).run(c); }

    // ---------------------------------------------------------------- shared: kernel forward, GradRules backward

    private static Result shared(Call c, io.condense.backend.cpu.Kernel k, GradRules.Rule rule) {
        INDArray[] in = c.in().clone();
        // the tape holds every integer initializer as INT64: re-align integer operands a Cast made narrower
        if (in.length >= 2 && in[0] != null && in[1] != null && !in[0].dataType().isFPType() && !in[1].dataType().isFPType()
                && in[0].dataType() != in[1].dataType() && in[0].dataType() != DataType.BOOL && !c.node().opType().equals("Where")) {
            in[1] = in[1].castTo(in[0].dataType());
        }
        io.condense.ir.DType[] declared = new io.condense.ir.DType[in.length];
        for (int i = 0; i < in.length; i++) declared[i] = in[i] == null ? null : io.condense.backend.cpu.Nd.fromNd(in[i].dataType());
        // floating values live in the tape's float type (float64 for gradient checks): Cast/ConstantOfShape to float
        DataType ft = c.tape() == null ? null : c.tape().dtype();
        INDArray[] out;
        if (ft != null && c.node().opType().equals("Cast") && in[0].dataType().isFPType()
                && io.condense.ir.DType.fromOnnx((int) c.attrLong("to", 0)).isFloating()) {
            out = new INDArray[] {in[0].dataType() == ft ? in[0] : in[0].castTo(ft)};
        } else {
            out = k.run(new io.condense.backend.cpu.OpContext(c.node(), c.opset(), in, declared));
        }
        for (int i = 0; i < out.length; i++) {
            if (ft != null && out[i] != null && out[i].dataType().isFPType() && out[i].dataType() != ft) out[i] = out[i].castTo(ft);
        }
        if (rule == null) return new Result(out, null);
        GradRules.Ctx<INDArray> ctx = new GradRules.Ctx<>(Nd4jArrayOps.INSTANCE, c.node(), c.opset(), Arrays.asList(in), Arrays.asList(out));
        return new Result(out, (d, need) -> {
            java.util.List<INDArray> g = rule.apply(ctx, Arrays.asList(d), need);
            INDArray[] r = new INDArray[in.length];
            for (int i = 0; i < r.length && i < g.size(); i++) r[i] = need[i] ? g.get(i) : null;
            return r;
        });
    }

    // ---------------------------------------------------------------- elementwise


    private static Result relu(Call c) {
        INDArray y = Transforms.relu(c.in(0), true);
        return Result.of(y, (d, n) -> {
            // one native pass (relu_bp: d where y > 0, else 0) instead of compare, cast and multiply
            INDArray dx = Nd4j.createUninitialized(y.dataType(), y.shape());
            INDArray dy = d[0].dataType() == y.dataType() ? d[0] : d[0].castTo(y.dataType());
            Nd4j.exec(DynamicCustomOp.builder("relu_bp").addInputs(y, dy).addOutputs(dx).addFloatingPointArguments(0.0).build());
            return new INDArray[] {dx};
        });
    }

    private static Result leakyRelu(Call c) {
        INDArray x = c.in(0);
        double alpha = c.attrFloat("alpha", 0.01f);
        // slope: 1 where x > 0, alpha elsewhere
        INDArray slope = x.gt(0).castTo(x.dataType()).muli(1 - alpha).addi(alpha);
        INDArray y = x.mul(slope);
        return Result.of(y, (d, n) -> new INDArray[] {d[0].mul(slope)});
    }

    private static Result sigmoid(Call c) {
        INDArray y = Transforms.sigmoid(c.in(0), true);
        return Result.of(y, (d, n) -> new INDArray[] {d[0].mul(y).muli(y.rsub(1))});
    }


    private static INDArray erf(INDArray x) {
        INDArray out = Nd4j.createUninitialized(x.dataType(), x.shape());
        Nd4j.exec(new Erf(x, out));
        return out;
    }


    private static Result gelu(Call c) {
        INDArray x = c.in(0);
        boolean tanhApprox = "tanh".equals(c.attrString("approximate", "none"));
        INDArray y, dydx;
        if (tanhApprox) {
            double k = Math.sqrt(2 / Math.PI);
            INDArray x2 = x.mul(x);
            INDArray t = Transforms.tanh(x2.mul(0.044715).addi(1).muli(x).muli(k), false);
            y = t.add(1).muli(x).muli(0.5);
            // 0.5(1+t) + 0.5 x (1-t^2) k (1 + 3*0.044715 x^2)
            INDArray sech2 = t.mul(t).rsubi(1);
            dydx = t.add(1).muli(0.5).addi(sech2.muli(x).muli(x2.mul(3 * 0.044715).addi(1)).muli(0.5 * k));
        } else {
            INDArray cdf = erf(x.mul(1 / Math.sqrt(2))).addi(1).muli(0.5);
            y = x.mul(cdf);
            INDArray pdf = Transforms.exp(x.mul(x).muli(-0.5), false).muli(1 / Math.sqrt(2 * Math.PI));
            dydx = cdf.add(pdf.muli(x));
        }
        final INDArray g = dydx;
        return Result.of(y, (d, n) -> new INDArray[] {d[0].mul(g)});
    }

    private static Result softmax(Call c, boolean log) {
        INDArray x = c.in(0);
        long[] shape = x.shape();
        int rank = shape.length;
        INDArray v;
        int axis;
        if (c.opset() >= 13) {
            axis = Arrays2.axis(c.attrLong("axis", -1), rank, c.node().label());
            v = x;
        } else {
            int ax = Arrays2.axis(c.attrLong("axis", 1), rank, c.node().label());
            v = x.reshape('c', Arrays2.product(shape, 0, ax), Arrays2.product(shape, ax, rank));
            axis = 1;
        }
        INDArray m = v.max(true, axis);
        INDArray sh = v.sub(m);
        INDArray e = Transforms.exp(sh, true);
        INDArray s = e.sum(true, axis);
        INDArray y;
        if (log) y = sh.subi(Transforms.log(s, false));
        else y = e.divi(s);
        final int ax = axis;
        final INDArray fy = y;
        return Result.of(y.reshape('c', shape), (d, n) -> {
            INDArray g = d[0].reshape('c', fy.shape());
            INDArray dx;
            if (log) dx = g.sub(Transforms.exp(fy, true).muli(g.sum(true, ax)));
            else dx = g.sub(g.mul(fy).sum(true, ax)).muli(fy);
            return new INDArray[] {dx.reshape('c', shape)};
        });
    }

    // ---------------------------------------------------------------- linear algebra

    private static Result gemm(Call c) {
        INDArray a = c.in(0), b = c.in(1);
        boolean ta = c.attrLong("transA", 0) != 0, tb = c.attrLong("transB", 0) != 0;
        double alpha = c.attrFloat("alpha", 1f), beta = c.attrFloat("beta", 1f);
        if (a.rank() != 2 || b.rank() != 2) throw c.err("Gemm needs 2-D A and B");
        long k = ta ? a.size(0) : a.size(1);
        if (k != (tb ? b.size(1) : b.size(0))) {
            INDArray ea = ta ? a.transpose() : a, eb = tb ? b.transpose() : b;
            throw c.err("Gemm inner dimensions differ: " + Arrays.toString(ea.shape()) + " x " + Arrays.toString(eb.shape()));
        }
        INDArray y = mm(a, ta, b, tb, alpha);
        INDArray cc = c.has(2) ? c.in(2) : null;
        if (cc != null && beta != 0) y = beta == 1 ? y.addi(cc) : y.addi(cc.mul(beta));
        long[] cs = cc == null ? null : cc.shape();
        return Result.of(y, (d, need) -> {
            INDArray g = d[0];
            INDArray ga = null, gb = null, gc = null;
            // y = alpha op(a) op(b): d op(a) = alpha g op(b)^T, d op(b) = alpha op(a)^T g, transposed back where op transposes
            if (need[0]) ga = ta ? mm(b, tb, g, true, alpha) : mm(g, false, b, !tb, alpha);
            if (need[1]) gb = tb ? mm(g, true, a, ta, alpha) : mm(a, !ta, g, false, alpha);
            if (need.length > 2 && need[2]) gc = Arrays2.unbroadcast(beta == 1 ? g : g.mul(beta), cs);
            return new INDArray[] {ga, gb, gc};
        });
    }

    /**
     * alpha op(a) op(b) into a new C-order matrix with one GEMM call. ND4J's {@code mmul} on transposed views is
     * 2-7x slower than its gemm with transpose flags (it copies and reorders), measured on the LeNet-300-100 shapes.
     */
    static INDArray mm(INDArray a, boolean ta, INDArray b, boolean tb, double alpha) {
        long m = ta ? a.size(1) : a.size(0), n = tb ? b.size(0) : b.size(1);
        // uninitialized: with beta = 0 the GEMM never reads C (BLAS semantics; checked with a NaN-filled C on the
        // OpenBLAS and oneDNN paths, float and double)
        INDArray y = Nd4j.createUninitialized(a.dataType(), m, n);
        Nd4j.gemm(a, b, y, ta, tb, alpha, 0.0);
        return y;
    }


    // ---------------------------------------------------------------- convolution and pooling

    /** Begin and end padding per spatial axis: [b0, b1, ..., e0, e1, ...] as ONNX, auto_pad resolved. */
    private static long[] pads(Call c, long[] spatial, long[] k, long[] s, long[] dil) {
        int n = spatial.length;
        String auto = c.attrString("auto_pad", "NOTSET");
        long[] p = new long[2 * n];
        if (auto.equals("NOTSET")) {
            long[] given = c.attrLongs("pads", null);
            if (given != null) {
                if (given.length != 2 * n) throw c.err("pads has " + given.length + " values, expected " + 2 * n);
                p = given.clone();
            }
        } else if (auto.startsWith("SAME")) {
            for (int i = 0; i < n; i++) {
                long out = (spatial[i] + s[i] - 1) / s[i];
                long total = Math.max(0, (out - 1) * s[i] + (k[i] - 1) * dil[i] + 1 - spatial[i]);
                long small = total / 2;
                p[i] = auto.equals("SAME_UPPER") ? small : total - small;
                p[i + n] = total - p[i];
            }
        } else if (!auto.equals("VALID")) {
            throw c.err("unknown auto_pad " + auto);
        }
        return p;
    }

    private static long[] ints(Call c, String key, int n, long dflt) {
        long[] v = c.attrLongs(key, null);
        if (v == null) {
            v = new long[n];
            Arrays.fill(v, dflt);
        }
        if (v.length != n) throw c.err(key + " has " + v.length + " values, expected " + n);
        return v;
    }

    /** Copy of x with spatial pads (ONNX layout) filled with {@code value}. */
    private static INDArray padSpatial(INDArray x, long[] p, double value) {
        long[] s = x.shape();
        int n = s.length - 2;
        long[] ps = s.clone();
        for (int i = 0; i < n; i++) ps[i + 2] += p[i] + p[i + n];
        INDArray out = Nd4j.valueArrayOf(ps, value, x.dataType());
        out.get(interior(s, p)).assign(x);
        return out;
    }

    private static INDArrayIndex[] interior(long[] s, long[] p) {
        int n = s.length - 2;
        INDArrayIndex[] idx = new INDArrayIndex[s.length];
        idx[0] = NDArrayIndex.all();
        idx[1] = NDArrayIndex.all();
        for (int i = 0; i < n; i++) idx[i + 2] = NDArrayIndex.interval(p[i], p[i] + s[i + 2]);
        return idx;
    }

    private static boolean symmetric(long[] p) {
        int n = p.length / 2;
        for (int i = 0; i < n; i++) if (p[i] != p[i + n]) return false;
        return true;
    }

    private static boolean anyPad(long[] p) {
        for (long v : p) if (v != 0) return true;
        return false;
    }

    private static Result conv(Call c) {
        INDArray x = c.in(0), w = c.in(1);
        INDArray bias = c.has(2) ? c.in(2) : null;
        int rank = x.rank();
        if (rank != 3 && rank != 4) throw c.err("training supports 1-D and 2-D Conv only (input rank " + rank + ")");
        boolean oneD = rank == 3;
        if (oneD) {
            x = x.reshape('c', x.size(0), x.size(1), x.size(2), 1);
            w = w.reshape('c', w.size(0), w.size(1), w.size(2), 1);
        }
        long group = c.attrLong("group", 1);
        long[] ws = w.shape(), xs = x.shape();
        if (xs[1] != ws[1] * group) throw c.err("input has " + xs[1] + " channels, weights expect " + ws[1] + " x group " + group);
        if (ws[0] % group != 0) throw c.err("output channels " + ws[0] + " not divisible by group " + group);
        int sp = oneD ? 1 : 2;
        long[] k = {ws[2], ws[3]};
        long[] s = widen(ints(c, "strides", sp, 1), oneD, 1);
        long[] dil = widen(ints(c, "dilations", sp, 1), oneD, 1);
        long[] p;
        if (!oneD) p = pads(c, new long[] {xs[2], xs[3]}, k, s, dil);
        else {
            long[] p1 = pads(c, new long[] {xs[2]}, new long[] {k[0]}, new long[] {s[0]}, new long[] {dil[0]});
            p = new long[] {p1[0], 0, p1[1], 0};
        }
        final long[] pads = p;
        boolean explicit = !symmetric(pads);
        INDArray xp = explicit ? padSpatial(x, pads, 0) : x;
        long pH = explicit ? 0 : pads[0], pW = explicit ? 0 : pads[1];
        long[] iargs = {k[0], k[1], s[0], s[1], pH, pW, dil[0], dil[1], 0, 0, 1};
        long oH = (xp.size(2) + 2 * pH - ((k[0] - 1) * dil[0] + 1)) / s[0] + 1;
        long oW = (xp.size(3) + 2 * pW - ((k[1] - 1) * dil[1] + 1)) / s[1] + 1;
        if (oH <= 0 || oW <= 0) throw c.err("kernel larger than padded input");
        long cg = ws[1], mg = ws[0] / group;
        INDArray y = Nd4j.create(x.dataType(), xs[0], ws[0], oH, oW);
        for (int g = 0; g < group; g++) {
            INDArray xg = group == 1 ? xp : xp.get(NDArrayIndex.all(), NDArrayIndex.interval(g * cg, (g + 1) * cg)).dup('c');
            INDArray wg = group == 1 ? w : w.get(NDArrayIndex.interval(g * mg, (g + 1) * mg)).dup('c');
            INDArray yg = group == 1 ? y : Nd4j.create(x.dataType(), xs[0], mg, oH, oW);
            convForward(xg, wg, yg, iargs);
            if (group != 1) y.get(NDArrayIndex.all(), NDArrayIndex.interval(g * mg, (g + 1) * mg)).assign(yg);
        }
        if (bias != null) y.addi(bias.reshape(1, ws[0], 1, 1));
        final INDArray fx = xp, fw = w;
        final long[] wShape = c.in(1).shape(), xShape = c.in(0).shape();
        INDArray out = oneD ? y.reshape('c', xs[0], ws[0], oH) : y;
        return Result.of(out, (d, need) -> {
            INDArray dy = d[0];
            if (oneD) dy = dy.reshape('c', xs[0], ws[0], oH, 1);
            dy = dy.dup('c');
            boolean needDx = need[0];
            INDArray dx = needDx && group != 1 ? Nd4j.create(fx.dataType(), fx.shape()) : null;
            INDArray dw = group != 1 ? Nd4j.create(fw.dataType(), fw.shape()) : null;
            for (int g = 0; g < group; g++) {
                INDArray xg = group == 1 ? fx : fx.get(NDArrayIndex.all(), NDArrayIndex.interval(g * cg, (g + 1) * cg)).dup('c');
                INDArray wg = group == 1 ? fw : fw.get(NDArrayIndex.interval(g * mg, (g + 1) * mg)).dup('c');
                INDArray dyg = group == 1 ? dy : dy.get(NDArrayIndex.all(), NDArrayIndex.interval(g * mg, (g + 1) * mg)).dup('c');
                INDArray[] r = convBackward(xg, wg, dyg, iargs, needDx);
                if (needDx) {
                    if (group == 1) dx = r[0];
                    else dx.get(NDArrayIndex.all(), NDArrayIndex.interval(g * cg, (g + 1) * cg)).assign(r[0]);
                }
                if (group == 1) dw = r[1];
                else dw.get(NDArrayIndex.interval(g * mg, (g + 1) * mg)).assign(r[1]);
            }
            if (dx != null && explicit) dx = dx.get(interior(xs, pads)).dup('c');
            if (dx != null) dx = dx.reshape('c', xShape);
            INDArray db = need.length > 2 && need[2] ? dy.sum(0, 2, 3) : null;
            return new INDArray[] {dx, dw.reshape('c', wShape), db};
        });
    }

    /**
     * y = conv2d(x, w) for one group. ND4J's conv2d for dilation 1 (its oneDNN build rejects some dilated
     * convolutions); im2col and one matrix product otherwise, or when conv2d fails.
     */
    static void convForward(INDArray x, INDArray w, INDArray y, long[] iargs) {
        if (iargs[6] == 1 && iargs[7] == 1) {
            try {
                Nd4j.exec(DynamicCustomOp.builder("conv2d").addInputs(x, w).addOutputs(y).addIntegerArguments(toInts(iargs)).build());
                return;
            } catch (RuntimeException e) {
                // fall through to im2col
            }
        }
        long n = x.size(0), c = x.size(1), m = w.size(0), kh = w.size(2), kw = w.size(3);
        long oh = y.size(2), ow = y.size(3), p = oh * ow, ckk = c * kh * kw;
        INDArray cols = Nd4j.create(x.dataType(), n, c, kh, kw, oh, ow);
        int[] im = {(int) kh, (int) kw, (int) iargs[2], (int) iargs[3], (int) iargs[4], (int) iargs[5], (int) iargs[6], (int) iargs[7], 0};
        Nd4j.exec(DynamicCustomOp.builder("im2col").addInputs(x).addOutputs(cols).addIntegerArguments(im).addFloatingPointArguments(0.0).build());
        INDArray cm = cols.reshape('c', n, ckk, p).permute(1, 0, 2).dup('c').reshape('c', ckk, n * p);
        INDArray r = w.reshape('c', m, ckk).mmul(cm).reshape('c', m, n, p).permute(1, 0, 2);
        y.assign(r.reshape('c', n, m, oh, ow));
    }

    /**
     * Gradients of a 2-D convolution (one group, NCHW, OIHW weights) by im2col and matrix products: ND4J's
     * conv2d_bp is several times slower than its forward pass, and always computes the input gradient.
     * Returns {dx or null, dw}.
     */
    static INDArray[] convBackward(INDArray x, INDArray w, INDArray dy, long[] iargs, boolean needDx) {
        if (needDx && ONEDNN && iargs[6] == 1 && iargs[7] == 1) {
            // oneDNN's backward convolution is fast (unlike the plain build's conv2d_bp)
            try {
                INDArray dx = Nd4j.create(x.dataType(), x.shape()), dw = Nd4j.create(w.dataType(), w.shape());
                Nd4j.exec(DynamicCustomOp.builder("conv2d_bp").addInputs(x, w, dy).addOutputs(dx, dw).addIntegerArguments(toInts(iargs)).build());
                return new INDArray[] {dx, dw};
            } catch (RuntimeException e) {
                // fall through
            }
        }
        long n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
        long m = w.size(0), kh = w.size(2), kw = w.size(3);
        long oh = dy.size(2), ow = dy.size(3), p = oh * ow, ckk = c * kh * kw;
        INDArray cols = Nd4j.create(x.dataType(), n, c, kh, kw, oh, ow);
        int[] im = {(int) kh, (int) kw, (int) iargs[2], (int) iargs[3], (int) iargs[4], (int) iargs[5], (int) iargs[6], (int) iargs[7], 0};
        Nd4j.exec(DynamicCustomOp.builder("im2col").addInputs(x).addOutputs(cols).addIntegerArguments(im).addFloatingPointArguments(0.0).build());
        INDArray dy3 = dy.reshape('c', n, m, p);
        // dW[m, ckk] = sum_n dy_n [m, p] . cols_n^T [p, ckk]
        INDArray dw = Nd4j.matmul(dy3, cols.reshape('c', n, ckk, p), false, true, false).sum(0).reshape('c', w.shape());
        INDArray dx = null;
        if (needDx) {
            // dCols = W^T [ckk, m] . dY [m, n*p], then fold back with col2im
            INDArray dyT = dy3.permute(1, 0, 2).dup('c').reshape('c', m, n * p);
            INDArray dcols = w.reshape('c', m, ckk).transpose().mmul(dyT).reshape('c', ckk, n, p).permute(1, 0, 2).dup('c')
                    .reshape('c', n, c, kh, kw, oh, ow);
            dx = Nd4j.create(x.dataType(), n, c, h, wd);
            int[] ci = {(int) iargs[2], (int) iargs[3], (int) iargs[4], (int) iargs[5], (int) h, (int) wd, (int) iargs[6], (int) iargs[7], 0};
            Nd4j.exec(DynamicCustomOp.builder("col2im").addInputs(dcols).addOutputs(dx).addIntegerArguments(ci).build());
        }
        return new INDArray[] {dx, dw};
    }

    private static int[] toInts(long[] v) {
        int[] r = new int[v.length];
        for (int i = 0; i < v.length; i++) r[i] = Math.toIntExact(v[i]);
        return r;
    }

    private static long[] widen(long[] v, boolean oneD, long fill) {
        return oneD ? new long[] {v[0], fill} : v;
    }

    private static Result pool(Call c, boolean max) {
        INDArray x = c.in(0);
        if (x.rank() != 4) throw c.err("training supports 2-D pooling only (input rank " + x.rank() + ")");
        if (max && c.node().outputs().size() > 1 && !c.node().output(1).isEmpty()) throw c.err("MaxPool indices output is not supported in training");
        long[] xs = x.shape();
        long[] k = c.attrLongs("kernel_shape", null);
        if (k == null || k.length != 2) throw c.err("kernel_shape must have 2 values");
        long[] s = ints(c, "strides", 2, 1);
        long[] dil = ints(c, "dilations", 2, 1);
        long[] p = pads(c, new long[] {xs[2], xs[3]}, k, s, dil);
        if (c.attrLong("ceil_mode", 0) != 0) {
            for (int i = 0; i < 2; i++) {
                long span = xs[i + 2] + p[i] + p[i + 2] - ((k[i] - 1) * dil[i] + 1);
                long floor = span / s[i] + 1, ceil = (span + s[i] - 1) / s[i] + 1;
                // ONNX: the last window must start inside the input or the begin padding
                if ((ceil - 1) * s[i] >= xs[i + 2] + p[i]) ceil--;
                if (ceil > floor) p[i + 2] += (ceil - 1) * s[i] + (k[i] - 1) * dil[i] + 1 - (xs[i + 2] + p[i] + p[i + 2]);
            }
        }
        boolean includePad = c.attrLong("count_include_pad", 0) != 0;
        boolean explicit = !symmetric(p);
        if (explicit && !max && (!includePad || true) && anyPad(p)) {
            if (!includePad) throw c.err("AveragePool with asymmetric padding (or ceil_mode) and count_include_pad=0 is not supported in training");
        }
        final long[] pads = p;
        INDArray xp = explicit ? padSpatial(x, p, max ? -Double.MAX_VALUE : 0) : x;
        long pH = explicit ? 0 : p[0], pW = explicit ? 0 : p[1];
        long[] iargs = {k[0], k[1], s[0], s[1], pH, pW, dil[0], dil[1], 0, max ? 0 : (includePad ? 1 : 0), 0};
        long oH = (xp.size(2) + 2 * pH - ((k[0] - 1) * dil[0] + 1)) / s[0] + 1;
        long oW = (xp.size(3) + 2 * pW - ((k[1] - 1) * dil[1] + 1)) / s[1] + 1;
        INDArray y = Nd4j.create(x.dataType(), xs[0], xs[1], oH, oW);
        String op = max ? "maxpool2d" : "avgpool2d";
        Nd4j.exec(DynamicCustomOp.builder(op).addInputs(xp).addOutputs(y).addIntegerArguments(toInts(iargs)).build());
        return Result.of(y, (d, need) -> {
            INDArray dx = Nd4j.create(xp.dataType(), xp.shape());
            Nd4j.exec(DynamicCustomOp.builder(op + "_bp").addInputs(xp, d[0].dup('c')).addOutputs(dx).addIntegerArguments(toInts(iargs)).build());
            if (explicit) dx = dx.get(interior(xs, pads)).dup('c');
            return new INDArray[] {dx};
        });
    }

    private static Result globalAveragePool(Call c) {
        INDArray x = c.in(0);
        long[] xs = x.shape();
        if (xs.length < 3) throw c.err("GlobalAveragePool needs rank >= 3");
        int[] dims = new int[xs.length - 2];
        for (int i = 0; i < dims.length; i++) dims[i] = i + 2;
        long count = Arrays2.product(xs, 2, xs.length);
        INDArray y = x.mean(true, dims);
        return Result.of(y, (d, n) -> new INDArray[] {Nd4j.zeros(x.dataType(), xs).addi(d[0].div(count))});
    }

    // ---------------------------------------------------------------- normalization

    private static Result batchNorm(Call c) {
        INDArray x = c.in(0), gamma = c.in(1), beta = c.in(2), rm = c.in(3), rv = c.in(4);
        double eps = c.attrFloat("epsilon", 1e-5f);
        double momentum = c.attrFloat("momentum", 0.9f);
        long[] xs = x.shape();
        int rank = xs.length;
        long ch = xs[1];
        long[] bshape = new long[rank];
        Arrays.fill(bshape, 1);
        bshape[1] = ch;
        int[] red = new int[rank - 1];
        red[0] = 0;
        for (int i = 2; i < rank; i++) red[i - 1] = i;
        long m = x.length() / ch;
        INDArray g = gamma.reshape(bshape), b = beta.reshape(bshape);
        // the tape's mode decides (the ONNX training_mode attribute describes how the graph was exported, not how it is run here)
        boolean train = c.training();
        INDArray mean, invStd;
        if (train) {
            mean = x.mean(true, red);
            INDArray xc = x.sub(mean);
            INDArray var = xc.mul(xc).mean(true, red);
            invStd = Transforms.pow(var.add(eps), -0.5, false);
            // running statistics (ONNX convention: running = running * momentum + batch * (1 - momentum))
            if (c.tape().constants().get(c.node().input(3)) == rm) rm.muli(momentum).addi(mean.reshape(ch).mul(1 - momentum));
            if (c.tape().constants().get(c.node().input(4)) == rv) rv.muli(momentum).addi(var.reshape(ch).mul(1 - momentum));
        } else {
            mean = rm.reshape(bshape);
            invStd = Transforms.pow(rv.reshape(bshape).add(eps), -0.5, false);
        }
        if (!train) {
            // inference: y = x * (gamma / std) + (beta - mean * gamma / std), two passes over x
            INDArray a = invStd.mul(g), shift = b.sub(mean.mul(a));
            INDArray y = x.mul(a).addi(shift);
            return Result.of(y, (d, need) -> {
                INDArray dy = d[0];
                INDArray dx = need[0] ? dy.mul(a) : null;
                INDArray dg = need[1] ? dy.mul(x.sub(mean).muli(invStd)).sum(red) : null;
                INDArray db = need[2] ? dy.sum(red) : null;
                return new INDArray[] {dx, dg, db, null, null};
            });
        }
        INDArray xhat = x.sub(mean).muli(invStd);
        INDArray y = xhat.mul(g).addi(b);
        return Result.of(y, (d, need) -> {
            INDArray dy = d[0];
            INDArray dx = null;
            if (need[0]) {
                INDArray dxhat = dy.mul(g);
                if (train) {
                    INDArray s1 = dxhat.sum(true, red);
                    INDArray s2 = dxhat.mul(xhat).sum(true, red);
                    dx = dxhat.muli(m).subi(s1).subi(xhat.mul(s2)).muli(invStd.div(m));
                } else {
                    dx = dxhat.muli(invStd);
                }
            }
            INDArray dg = need[1] ? dy.mul(xhat).sum(red) : null;
            INDArray db = need[2] ? dy.sum(red) : null;
            return new INDArray[] {dx, dg, db, null, null};
        });
    }

    private static Result layerNorm(Call c) {
        INDArray x = c.in(0), gamma = c.in(1);
        INDArray beta = c.has(2) ? c.in(2) : null;
        long[] xs = x.shape();
        int axis = Arrays2.axis(c.attrLong("axis", -1), xs.length, c.node().label());
        double eps = c.attrFloat("epsilon", 1e-5f);
        long rows = Arrays2.product(xs, 0, axis), n = Arrays2.product(xs, axis, xs.length);
        if (gamma.length() != n || beta != null && beta.length() != n) throw c.err("Scale/B must have " + n + " elements (broadcast scale is not supported in training)");
        INDArray x2 = x.reshape('c', rows, n);
        INDArray g = gamma.reshape(1, n);
        INDArray mean = x2.mean(true, 1);
        INDArray xc = x2.sub(mean);
        INDArray invStd = Transforms.pow(xc.mul(xc).mean(true, 1).addi(eps), -0.5, false);
        INDArray xhat = xc.muli(invStd);
        INDArray y2 = xhat.mul(g);
        if (beta != null) y2.addi(beta.reshape(1, n));
        long[] statShape = xs.clone();
        for (int i = axis; i < xs.length; i++) statShape[i] = 1;
        INDArray[] outs = {y2.reshape('c', xs), mean.reshape('c', statShape), invStd.reshape('c', statShape)};
        long[] gs = gamma.shape();
        long[] bs = beta == null ? null : beta.shape();
        return new Result(outs, (d, need) -> {
            if (d.length > 1 && d[1] != null || d.length > 2 && d[2] != null) throw c.err("gradients through Mean/InvStdDev outputs are not supported");
            INDArray dy = d[0].reshape('c', rows, n);
            INDArray dx = null;
            if (need[0]) {
                INDArray dxhat = dy.mul(g);
                INDArray s1 = dxhat.sum(true, 1);
                INDArray s2 = dxhat.mul(xhat).sum(true, 1);
                dx = dxhat.muli(n).subi(s1).subi(xhat.mul(s2)).muli(invStd.div(n)).reshape('c', xs);
            }
            INDArray dg = need[1] ? dy.mul(xhat).sum(0).reshape(gs) : null;
            INDArray db = need.length > 2 && need[2] ? dy.sum(0).reshape(bs) : null;
            return new INDArray[] {dx, dg, db};
        });
    }

    /** ONNX InstanceNormalization: per (sample, channel) statistics over the spatial axes, then scale[c] and B[c]. */
    private static Result instanceNorm(Call c) {
        INDArray x = c.in(0), gamma = c.in(1), beta = c.in(2);
        long[] xs = x.shape();
        if (xs.length < 3) throw c.err("InstanceNormalization needs rank >= 3, got " + xs.length);
        double eps = c.attrFloat("epsilon", 1e-5f);
        long ch = xs[1], rows = xs[0] * ch, n = Arrays2.product(xs, 2, xs.length);
        if (gamma.length() != ch || beta.length() != ch) throw c.err("scale and B must have " + ch + " elements");
        if (x.dataType() == DataType.FLOAT) return instanceNormFloat(x, gamma, beta, eps, xs, ch, n);
        INDArray x2 = x.reshape('c', rows, n);
        INDArray mean = x2.mean(true, 1);
        INDArray xc = x2.sub(mean);
        INDArray invStd = Transforms.pow(xc.mul(xc).mean(true, 1).addi(eps), -0.5, false);
        INDArray xhat = xc.muli(invStd);
        // per-row scale and shift: row r belongs to channel r % C
        INDArray g = Nd4j.tile(gamma.reshape(1, ch), (int) xs[0], 1).reshape('c', rows, 1);
        INDArray b = Nd4j.tile(beta.reshape(1, ch), (int) xs[0], 1).reshape('c', rows, 1);
        INDArray y = xhat.mul(g).addi(b).reshape('c', xs);
        long[] gs = gamma.shape(), bs = beta.shape();
        long batch = xs[0];
        return Result.of(y, (d, need) -> {
            INDArray dy = d[0].dup('c').reshape('c', rows, n);
            INDArray dx = null;
            if (need[0]) {
                INDArray dxhat = dy.mul(g);
                INDArray s1 = dxhat.sum(true, 1);
                INDArray s2 = dxhat.mul(xhat).sum(true, 1);
                dx = dxhat.muli(n).subi(s1).subi(xhat.mul(s2)).muli(invStd.div(n)).reshape('c', xs);
            }
            INDArray dg = need[1] ? dy.mul(xhat).sum(1).reshape('c', batch, ch).sum(0).reshape(gs) : null;
            INDArray db = need[2] ? dy.sum(1).reshape('c', batch, ch).sum(0).reshape(bs) : null;
            return new INDArray[] {dx, dg, db};
        });
    }

    /** A float32 array's values in C order, copied in bulk from native memory. */
    static float[] floats(INDArray a) {
        boolean dense = a.ordering() == 'c' && a.elementWiseStride() == 1 && a.data().length() == a.length();
        INDArray c = dense ? a : a.dup('c');
        float[] out = new float[(int) c.length()];
        java.nio.FloatBuffer fb = c.data().asNioFloat();
        fb.position((int) c.offset());
        fb.get(out);
        return out;
    }

    /**
     * The float32 InstanceNormalization as plain loops over one contiguous copy (ND4J's elementwise chain costs
     * several full passes and temporaries per step); the float64 path above is the finite-difference-checked
     * reference this one is compared with in the gradient tests.
     */
    private static Result instanceNormFloat(INDArray x, INDArray gamma, INDArray beta, double eps, long[] xs, long ch, long n) {
        int rows = (int) (xs[0] * ch), m = (int) n;
        float[] xv = floats(x);
        float[] gv = floats(gamma), bv = floats(beta);
        float[] xhat = new float[xv.length], y = new float[xv.length];
        float[] inv = new float[rows];
        for (int r = 0; r < rows; r++) {
            int o = r * m;
            double s = 0;
            for (int k = 0; k < m; k++) s += xv[o + k];
            double mean = s / m, v = 0;
            for (int k = 0; k < m; k++) {
                double d = xv[o + k] - mean;
                v += d * d;
            }
            float is = (float) (1 / Math.sqrt(v / m + eps)), mf = (float) mean;
            inv[r] = is;
            float g = gv[(int) (r % ch)], b = bv[(int) (r % ch)];
            for (int k = 0; k < m; k++) {
                float h = (xv[o + k] - mf) * is;
                xhat[o + k] = h;
                y[o + k] = h * g + b;
            }
        }
        long[] gs = gamma.shape(), bs = beta.shape();
        return Result.of(Nd4j.create(y, xs, 'c'), (d, need) -> {
            float[] dy = floats(d[0].castTo(DataType.FLOAT));
            float[] dx = need[0] ? new float[dy.length] : null;
            double[] dg = new double[(int) ch], db = new double[(int) ch];
            for (int r = 0; r < rows; r++) {
                int o = r * m, cc = (int) (r % ch);
                float g = gv[cc];
                double s1 = 0, s2 = 0, sdg = 0, sdb = 0;
                for (int k = 0; k < m; k++) {
                    double dv = dy[o + k], h = xhat[o + k];
                    sdg += dv * h;
                    sdb += dv;
                    s1 += dv * g;
                    s2 += dv * g * h;
                }
                dg[cc] += sdg;
                db[cc] += sdb;
                if (dx != null) {
                    float a = inv[r] / m, m1 = (float) s1, m2 = (float) s2;
                    for (int k = 0; k < m; k++) dx[o + k] = a * (m * dy[o + k] * g - m1 - xhat[o + k] * m2);
                }
            }
            float[] dgf = new float[(int) ch], dbf = new float[(int) ch];
            for (int i = 0; i < ch; i++) {
                dgf[i] = (float) dg[i];
                dbf[i] = (float) db[i];
            }
            return new INDArray[] {dx == null ? null : Nd4j.create(dx, xs, 'c'), need[1] ? Nd4j.create(dgf, gs, 'c') : null,
                    need[2] ? Nd4j.create(dbf, bs, 'c') : null};
        });
    }

    private static Result dropout(Call c) {
        INDArray x = c.in(0);
        double ratio = c.has(1) ? c.in(1).getDouble(0) : c.attrFloat("ratio", 0.5f);
        boolean wantMask = c.node().outputs().size() > 1 && !c.node().output(1).isEmpty();
        if (!c.training() || ratio == 0) {
            INDArray[] out = wantMask ? new INDArray[] {x, Nd4j.ones(DataType.BOOL, x.shape())} : new INDArray[] {x};
            return new Result(out, (d, n) -> new INDArray[] {d[0], null, null});
        }
        if (ratio < 0 || ratio >= 1) throw c.err("dropout ratio must be in [0, 1), got " + ratio);
        int len = (int) x.length();
        double[] m = new double[len];
        java.util.SplittableRandom r = c.tape().rng();
        double scale = 1 / (1 - ratio);
        for (int i = 0; i < len; i++) m[i] = r.nextDouble() >= ratio ? scale : 0;
        INDArray mask = Nd4j.create(m, x.shape(), 'c').castTo(x.dataType());
        INDArray y = x.mul(mask);
        INDArray[] out = wantMask ? new INDArray[] {y, mask.gt(0)} : new INDArray[] {y};
        return new Result(out, (d, n) -> new INDArray[] {d[0].mul(mask), null, null});
    }

    // ---------------------------------------------------------------- shape ops









    private static Result constant(Call c) {
        Attribute v = c.node().attr("value");
        if (v == null) throw c.err("only Constant with a 'value' tensor is supported in training");
        return Result.of(c.tape().constantValue(c.node(), v.asTensor()), null);
    }
}
