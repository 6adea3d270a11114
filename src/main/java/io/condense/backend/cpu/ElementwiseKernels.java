package io.condense.backend.cpu;

import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.Max;
import org.nd4j.linalg.api.ops.impl.transforms.custom.Min;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.DivOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.PowPairwise;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.SubOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Random;
import java.util.WeakHashMap;
import java.util.function.UnaryOperator;

/**
 * CPU kernels: elementwise ops (ONNX opsets 7..21). Binary ops broadcast like numpy. Float32/float64 work runs on
 * ND4J; float16/bfloat16 is computed in float32 and rounded back; integer and bool work runs in Java loops on longs.
 */
final class ElementwiseKernels implements KernelRegistry.Group {
    enum Arith { ADD, SUB, MUL, DIV, POW, MAX, MIN }

    enum Cmp { EQ, LT, GT, LE, GE }

    /** Constant node tensors converted once (keyed by the immutable attribute tensor). */
    private static final Map<Tensor, INDArray> CONSTANTS = Collections.synchronizedMap(new WeakHashMap<>());

    @Override
    public void register(KernelRegistry r) {
        r.add("Add", c -> OpContext.one(arith(c, Arith.ADD, c.in(0), c.in(1))));
        r.add("Sub", c -> OpContext.one(arith(c, Arith.SUB, c.in(0), c.in(1))));
        r.add("Mul", c -> OpContext.one(arith(c, Arith.MUL, c.in(0), c.in(1))));
        r.add("Div", c -> OpContext.one(arith(c, Arith.DIV, c.in(0), c.in(1))));
        r.add("Pow", c -> OpContext.one(arith(c, Arith.POW, c.in(0), c.in(1))));
        r.add("Sum", c -> OpContext.one(variadic(c, Arith.ADD)));
        r.add("Max", c -> OpContext.one(variadic(c, Arith.MAX)));
        r.add("Min", c -> OpContext.one(variadic(c, Arith.MIN)));
        r.add("Mean", c -> {
            INDArray s = variadic(c, Arith.ADD);
            int n = c.inputCount();
            if (!Broadcast.isFloat(s.dataType())) throw c.error("Mean needs float inputs, got " + s.dataType());
            return OpContext.one(floatOp(s, x -> x.div(n)));
        });

        r.add("Sqrt", c -> OpContext.one(floatOnly(c, FloatKernels.Unary.SQRT, x -> Transforms.sqrt(x, true))));
        r.add("Exp", c -> OpContext.one(floatOnly(c, x -> Transforms.exp(x, true))));
        r.add("Log", c -> OpContext.one(floatOnly(c, x -> Transforms.log(x, true))));
        r.add("Reciprocal", c -> OpContext.one(floatOnly(c, FloatKernels.Unary.RECIPROCAL, x -> x.rdiv(1.0))));
        r.add("Floor", c -> OpContext.one(floatOnly(c, x -> Transforms.floor(x, true))));
        r.add("Ceil", c -> OpContext.one(floatOnly(c, x -> Transforms.ceil(x, true))));
        r.add("Round", c -> OpContext.one(round(c, c.in(0))));
        r.add("Erf", c -> OpContext.one(floatOnly(c, FloatKernels.Unary.ERF, ElementwiseKernels::erf)));
        r.add("Sigmoid", c -> OpContext.one(floatOnly(c, x -> Transforms.sigmoid(x, true))));
        r.add("Tanh", c -> OpContext.one(floatOnly(c, x -> Transforms.tanh(x, true))));
        r.add("Relu", c -> OpContext.one(signed(c, FloatKernels.Unary.RELU, x -> Transforms.relu(x, true), v -> Math.max(v, 0))));
        r.add("Neg", c -> OpContext.one(signed(c, FloatKernels.Unary.NEG, INDArray::neg, v -> -v)));
        r.add("Abs", c -> OpContext.one(signed(c, FloatKernels.Unary.ABS, x -> Transforms.abs(x, true), Math::abs)));
        r.add("LeakyRelu", c -> {
            double alpha = c.attrFloat("alpha", 0.01f);
            return OpContext.one(floatOnly(c, x -> Transforms.leakyRelu(x, alpha, true)));
        });
        r.add("Elu", c -> {
            double alpha = c.attrFloat("alpha", 1.0f);
            return OpContext.one(floatOnly(c, x -> {
                INDArray neg = Transforms.exp(Transforms.min(x, 0.0, true), false).subi(1.0).muli(alpha);
                return Transforms.max(x, 0.0, true).addi(neg);
            }));
        });
        r.add("HardSigmoid", c -> {
            double alpha = c.attrFloat("alpha", 0.2f);
            double beta = c.attrFloat("beta", 0.5f);
            return OpContext.one(floatOnly(c, x -> Transforms.max(Transforms.min(x.mul(alpha).addi(beta), 1.0, false), 0.0, false)));
        });
        r.add("Gelu", c -> {
            String approx = c.attrString("approximate", "none");
            if (!approx.equals("none") && !approx.equals("tanh")) throw c.error("unknown approximate '" + approx + "'");
            INDArray fast = approx.equals("none") ? FloatKernels.unary(FloatKernels.Unary.GELU, c.in(0)) : null;
            if (fast != null) return OpContext.one(fast);
            return OpContext.one(floatOnly(c, x -> gelu(x, approx.equals("tanh"))));
        });
        r.add("Softmax", c -> OpContext.one(softmax(c, false)));
        r.add("LogSoftmax", c -> OpContext.one(softmax(c, true)));
        r.add("Clip", ElementwiseKernels::clip);
        r.add("Cast", c -> OpContext.one(cast(c, c.in(0), DType.fromOnnx((int) attrRequired(c, "to")))));
        r.add("Identity", c -> OpContext.one(c.in(0)));
        r.add("Dropout", ElementwiseKernels::dropout);
        r.add("Constant", c -> OpContext.one(constant(c)));
        r.add("ConstantOfShape", ElementwiseKernels::constantOfShape);

        r.add("Equal", c -> OpContext.one(compare(c, Cmp.EQ)));
        r.add("Less", c -> OpContext.one(compare(c, Cmp.LT)));
        r.add("Greater", c -> OpContext.one(compare(c, Cmp.GT)));
        r.add("LessOrEqual", c -> OpContext.one(compare(c, Cmp.LE)));
        r.add("GreaterOrEqual", c -> OpContext.one(compare(c, Cmp.GE)));
        r.add("Not", c -> {
            INDArray a = boolIn(c, 0);
            long[] v = Broadcast.longs(a);
            for (int i = 0; i < v.length; i++) v[i] = v[i] == 0 ? 1 : 0;
            return OpContext.one(Broadcast.fromLongs(v, a.shape(), DataType.BOOL));
        });
        r.add("And", c -> OpContext.one(logic(c, 0)));
        r.add("Or", c -> OpContext.one(logic(c, 1)));
        r.add("Xor", c -> OpContext.one(logic(c, 2)));
        r.add("Where", c -> OpContext.one(where(c)));
    }

    // ---- binary arithmetic ----

    static INDArray arith(OpContext c, Arith op, INDArray a, INDArray b) {
        DataType dt = a.dataType();
        if (op != Arith.POW && b.dataType() != dt) {
            throw c.error("inputs must have the same type, got " + dt + " and " + b.dataType());
        }
        if (dt == DataType.BOOL || dt == DataType.UTF8) throw c.error("not defined for " + dt + " inputs");
        long[] out = Broadcast.shape(c, a.shape(), b.shape());
        if (Broadcast.isHalf(dt)) {
            INDArray bf = Broadcast.isFloat(b.dataType()) ? b.castTo(DataType.FLOAT) : b;
            return arith(c, op, a.castTo(DataType.FLOAT), bf, out).castTo(dt);
        }
        return arith(c, op, a, b, out);
    }

    private static INDArray arith(OpContext c, Arith op, INDArray a, INDArray b, long[] out) {
        DataType dt = a.dataType();
        if (Broadcast.size(out) == 0) return Nd4j.create(dt, out);
        INDArray fast = FloatKernels.binary(op, a, b, out);
        if (fast != null) return fast;
        if (dt == DataType.FLOAT || dt == DataType.DOUBLE) {
            if (op == Arith.POW) {
                INDArray e = b.dataType() == dt ? b : b.castTo(dt);
                if (e.length() == 1 && Arrays.equals(a.shape(), out)) {
                    double p = e.getDouble(0);
                    if (p == 2.0) return a.mul(a); // exact (pow(x, 2) is x*x correctly rounded) and ~7x faster
                    if (p == 1.0) return a;
                    return Transforms.pow(a, p, true);
                }
                INDArray z = Nd4j.createUninitialized(dt, out, 'c');
                Nd4j.exec(new PowPairwise(Broadcast.to(a, out), Broadcast.to(e, out), z));
                return z;
            }
            if (b.length() == 1 && Arrays.equals(a.shape(), out) && op != Arith.MAX && op != Arith.MIN) {
                double s = b.getDouble(0);
                return switch (op) {
                    case ADD -> a.add(s);
                    case SUB -> a.sub(s);
                    case MUL -> a.mul(s);
                    default -> a.div(s);
                };
            }
            INDArray x = a.rank() == out.length ? a : Broadcast.reshape(a, Broadcast.padLeft(a.shape(), out.length));
            INDArray y = b.rank() == out.length ? b : Broadcast.reshape(b, Broadcast.padLeft(b.shape(), out.length));
            if (out.length == 0) {
                x = x.reshape(1);
                y = y.reshape(1);
            }
            INDArray z = Nd4j.createUninitialized(dt, out.length == 0 ? new long[] {1} : out, 'c');
            INDArray[] ins = {x, y};
            INDArray[] outs = {z};
            DynamicCustomOp o = switch (op) {
                case ADD -> new AddOp(ins, outs);
                case SUB -> new SubOp(ins, outs);
                case MUL -> new MulOp(ins, outs);
                case DIV -> new DivOp(ins, outs);
                case MAX -> new Max(ins, outs);
                case MIN -> new Min(ins, outs);
                case POW -> throw new IllegalStateException();
            };
            Nd4j.exec(o);
            return out.length == 0 ? z.reshape(new long[] {}) : z;
        }
        // integer types: exact Java arithmetic on longs, wrapped back to the input width
        int[] oa = Broadcast.offsets(a.shape(), out);
        int[] ob = Broadcast.offsets(b.shape(), out);
        long[] x = Broadcast.longs(a);
        int n = (int) Broadcast.size(out);
        long[] r = new long[n];
        if (op == Arith.POW && Broadcast.isFloat(b.dataType())) {
            double[] y = Broadcast.doubles(b);
            for (int i = 0; i < n; i++) r[i] = (long) Math.pow(x[Broadcast.at(oa, i)], y[Broadcast.at(ob, i)]);
            return Broadcast.fromLongs(r, out, dt);
        }
        long[] y = Broadcast.longs(b);
        for (int i = 0; i < n; i++) {
            long p = x[Broadcast.at(oa, i)];
            long q = y[Broadcast.at(ob, i)];
            r[i] = switch (op) {
                case ADD -> p + q;
                case SUB -> p - q;
                case MUL -> p * q;
                case DIV -> {
                    if (q == 0) throw c.error("integer division by zero");
                    yield p / q;
                }
                case POW -> ipow(p, q);
                case MAX -> Math.max(p, q);
                case MIN -> Math.min(p, q);
            };
        }
        return Broadcast.fromLongs(r, out, dt);
    }

    private static long ipow(long base, long exp) {
        if (exp < 0) return (long) Math.pow(base, exp);
        long r = 1;
        while (exp > 0) {
            if ((exp & 1) != 0) r *= base;
            base *= base;
            exp >>= 1;
        }
        return r;
    }

    private static INDArray variadic(OpContext c, Arith op) {
        int n = c.inputCount();
        if (n == 0) throw c.error("needs at least one input");
        INDArray acc = c.in(0);
        for (int i = 1; i < n; i++) acc = arith(c, op, acc, c.in(i));
        return acc;
    }

    // ---- unary ----

    /** Applies {@code f} in float32/float64 (float16/bfloat16 via float32); rejects non-float inputs. */
    static INDArray floatOnly(OpContext c, UnaryOperator<INDArray> f) {
        INDArray a = c.in(0);
        if (!Broadcast.isFloat(a.dataType())) throw c.error(c.node().opType() + " needs a float input, got " + a.dataType());
        return floatOp(a, f);
    }

    /** As {@link #floatOnly(OpContext, UnaryOperator)}, float32 through the Java loop {@code fast}. */
    static INDArray floatOnly(OpContext c, FloatKernels.Unary fast, UnaryOperator<INDArray> f) {
        INDArray r = FloatKernels.unary(fast, c.in(0));
        return r != null ? r : floatOnly(c, f);
    }

    private static INDArray signed(OpContext c, FloatKernels.Unary fast, UnaryOperator<INDArray> f, java.util.function.LongUnaryOperator g) {
        INDArray r = FloatKernels.unary(fast, c.in(0));
        return r != null ? r : signed(c, f, g);
    }

    static INDArray floatOp(INDArray a, UnaryOperator<INDArray> f) {
        DataType dt = a.dataType();
        if (Broadcast.isHalf(dt)) return f.apply(a.castTo(DataType.FLOAT)).castTo(dt);
        if (a.length() == 0) return a;
        return f.apply(a);
    }

    /** Float inputs through {@code f}; integer inputs through {@code g} on longs. */
    private static INDArray signed(OpContext c, UnaryOperator<INDArray> f, java.util.function.LongUnaryOperator g) {
        INDArray a = c.in(0);
        if (Broadcast.isFloat(a.dataType())) return floatOp(a, f);
        if (a.dataType() == DataType.BOOL) throw c.error("not defined for bool");
        long[] v = Broadcast.longs(a);
        for (int i = 0; i < v.length; i++) v[i] = g.applyAsLong(v[i]);
        return Broadcast.fromLongs(v, a.shape(), a.dataType());
    }

    private static INDArray round(OpContext c, INDArray a) {
        if (!Broadcast.isFloat(a.dataType())) throw c.error("Round needs a float input, got " + a.dataType());
        if (a.dataType() == DataType.DOUBLE) {
            double[] v = Broadcast.doubles(a);
            for (int i = 0; i < v.length; i++) v[i] = Math.rint(v[i]);
            return Broadcast.fromDoubles(v, a.shape(), DataType.DOUBLE);
        }
        float[] v = Broadcast.floats(a);
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.rint(v[i]);
        return Broadcast.fromFloats(v, a.shape(), a.dataType());
    }

    static INDArray erf(INDArray x) {
        if (x.dataType() == DataType.FLOAT) return erfFloat(x);
        INDArray z = Nd4j.createUninitialized(x.dataType(), x.shape(), 'c');
        Nd4j.getExecutioner().exec(new Erf(x, z));
        return z;
    }

    /**
     * float32 erf as a rational minimax approximation on [-4, 4] (Eigen's fast float erf; within a few ulp of the
     * exact value, like ONNX Runtime's MLAS kernel). A plain loop over heap floats that the JIT vectorizes: several
     * times faster than libnd4j's erf, which dominated BERT's GELU.
     */
    static INDArray erfFloat(INDArray x) {
        INDArray c = Nd.contiguous(x);
        int n = (int) c.length();
        float[] v = new float[n];
        java.nio.ByteBuffer bb = c.data().asNio().order(java.nio.ByteOrder.nativeOrder());
        bb.position((int) (c.offset() * 4));
        bb.slice().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().get(v, 0, n);
        for (int i = 0; i < n; i++) v[i] = FloatKernels.erf(v[i]);
        INDArray z = Nd4j.createUninitialized(DataType.FLOAT, x.shape().clone(), 'c');
        z.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().put(v, 0, n);
        return z;
    }

    private static INDArray gelu(INDArray x, boolean tanh) {
        if (tanh) {
            // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            INDArray inner = Transforms.pow(x, 3, true).muli(0.044715).addi(x).muli(Math.sqrt(2.0 / Math.PI));
            return Transforms.tanh(inner, false).addi(1.0).muli(x).muli(0.5);
        }
        INDArray e = erf(x.mul(1.0 / Math.sqrt(2.0)));
        return e.addi(1.0).muli(x).muli(0.5);
    }

    private static INDArray softmax(OpContext c, boolean log) {
        INDArray a = c.in(0);
        if (!Broadcast.isFloat(a.dataType())) throw c.error("needs a float input, got " + a.dataType());
        int rank = a.rank();
        if (rank == 0) throw c.error("input must have rank >= 1");
        if (a.length() == 0) return a;
        long[] shape = a.shape().clone();
        if (c.opset() < 13) {
            int axis = Broadcast.axis(c, c.attrLong("axis", 1), rank);
            long rows = 1;
            for (int i = 0; i < axis; i++) rows *= shape[i];
            long cols = a.length() / rows;
            INDArray two = Broadcast.reshape(a, new long[] {rows, cols});
            return Broadcast.reshape(floatOp(two, x -> softmax2d(x, log)), shape);
        }
        int axis = Broadcast.axis(c, c.attrLong("axis", -1), rank);
        if (axis == rank - 1) {
            long cols = shape[rank - 1];
            INDArray two = Broadcast.reshape(a, new long[] {a.length() / cols, cols});
            return Broadcast.reshape(floatOp(two, x -> softmax2d(x, log)), shape);
        }
        int[] perm = new int[rank];
        for (int i = 0, j = 0; i < rank; i++) if (i != axis) perm[j++] = i;
        perm[rank - 1] = axis;
        int[] inv = new int[rank];
        for (int i = 0; i < rank; i++) inv[perm[i]] = i;
        INDArray t = a.permute(perm).dup('c');
        long[] ts = t.shape().clone();
        long cols = ts[rank - 1];
        INDArray r = floatOp(t.reshape('c', t.length() / cols, cols), x -> softmax2d(x, log)).reshape('c', ts);
        return r.permute(inv).dup('c');
    }

    /** Softmax or log-softmax of each row of a float32/float64 matrix. */
    private static INDArray softmax2d(INDArray x, boolean log) {
        if (!log) return Transforms.softmax(x, true);
        INDArray m = x.max(true, 1);
        INDArray s = x.subColumnVector(m);
        INDArray lse = Transforms.log(Transforms.exp(s, true).sum(true, 1), false);
        return s.subiColumnVector(lse);
    }

    private static INDArray[] clip(OpContext c) {
        INDArray a = c.in(0);
        DataType dt = a.dataType();
        Double lo = null;
        Double hi = null;
        if (c.opset() < 11) {
            if (c.node().hasAttr("min")) lo = (double) c.attrFloat("min", 0);
            if (c.node().hasAttr("max")) hi = (double) c.attrFloat("max", 0);
        } else {
            if (c.has(1)) lo = scalarOf(c, c.in(1), "min");
            if (c.has(2)) hi = scalarOf(c, c.in(2), "max");
        }
        if (a.length() == 0) return OpContext.one(a);
        if (Broadcast.isFloat(dt)) {
            final Double l = lo;
            final Double h = hi;
            return OpContext.one(floatOp(a, x -> {
                INDArray r = l != null ? Transforms.max(x, l, true) : x.dup();
                return h != null ? Transforms.min(r, h, false) : r;
            }));
        }
        if (dt == DataType.BOOL) throw c.error("not defined for bool");
        long[] v = Broadcast.longs(a);
        long[] lim = {lo == null ? Long.MIN_VALUE : c.has(1) ? Broadcast.longs(c.in(1))[0] : (long) Math.ceil(lo),
                hi == null ? Long.MAX_VALUE : c.has(2) ? Broadcast.longs(c.in(2))[0] : (long) Math.floor(hi)};
        for (int i = 0; i < v.length; i++) v[i] = Math.min(Math.max(v[i], lim[0]), lim[1]);
        return OpContext.one(Broadcast.fromLongs(v, a.shape(), dt));
    }

    private static double scalarOf(OpContext c, INDArray s, String what) {
        if (s.length() != 1) throw c.error(what + " must be a scalar, got shape " + Arrays.toString(s.shape()));
        return s.getDouble(0);
    }

    // ---- casts and constants ----

    static INDArray cast(OpContext c, INDArray a, DType to) {
        if (to == DType.STRING) throw c.error("Cast to STRING is not supported");
        DataType dt = Nd.toNd(to);
        if (a.dataType() == dt) return a;
        if (a.length() == 0) return Nd4j.create(dt, a.shape());
        DataType from = a.dataType();
        if (Broadcast.isFloat(from) && !Broadcast.isFloat(dt) && dt != DataType.BOOL) {
            // float -> integer: truncate toward zero (ND4J's cast saturates differently for out-of-range values)
            double[] v = Broadcast.doubles(a);
            long[] l = new long[v.length];
            for (int i = 0; i < v.length; i++) l[i] = (long) v[i];
            return Broadcast.fromLongs(l, a.shape(), dt);
        }
        if (dt == DataType.HALF && from != DataType.FLOAT) {
            // round once, from the exact value as float (exact for ints up to 2^24 and for bool)
            return cast(c, a, DType.FLOAT32).castTo(DataType.HALF);
        }
        if (from == DataType.BOOL && !Broadcast.isFloat(dt)) {
            return Broadcast.fromLongs(Broadcast.longs(a), a.shape(), dt);
        }
        if (dt == DataType.BOOL && !Broadcast.isFloat(from)) {
            return Broadcast.fromLongs(Broadcast.longs(a), a.shape(), dt);
        }
        if (!Broadcast.isFloat(from) && !Broadcast.isFloat(dt)) {
            return Broadcast.fromLongs(Broadcast.longs(a), a.shape(), dt);
        }
        return a.castTo(dt);
    }

    private static long attrRequired(OpContext c, String key) {
        if (!c.node().hasAttr(key)) throw c.error("missing attribute '" + key + "'");
        return c.attrLong(key, 0);
    }

    private static INDArray[] dropout(OpContext c) {
        INDArray a = c.in(0);
        double ratio;
        boolean training;
        if (c.opset() < 12) {
            ratio = c.attrFloat("ratio", 0.5f);
            training = false;
        } else {
            ratio = c.has(1) ? scalarOf(c, c.in(1), "ratio") : 0.5;
            training = c.has(2) && scalarOf(c, c.in(2), "training_mode") != 0;
        }
        boolean wantMask = !c.node().output(1).isEmpty();
        DataType maskType = c.opset() < 10 ? a.dataType() : DataType.BOOL;
        if (!training || ratio == 0) {
            // opset 12+: the mask is all true. Before, the spec leaves it unspecified in inference; like ONNX
            // Runtime we return all false (0).
            long fill = c.opset() >= 12 ? 1 : 0;
            INDArray mask = wantMask ? Broadcast.fromLongs(filled(a.length(), fill), a.shape().clone(), maskType) : null;
            return new INDArray[] {a, mask};
        }
        if (ratio < 0 || ratio >= 1) throw c.error("ratio must be in [0, 1), got " + ratio);
        Random rnd = c.node().hasAttr("seed") ? new Random(c.attrLong("seed", 0)) : new Random();
        long[] keep = new long[(int) a.length()];
        for (int i = 0; i < keep.length; i++) keep[i] = rnd.nextDouble() >= ratio ? 1 : 0;
        INDArray m = Broadcast.fromLongs(keep, a.shape(), a.dataType());
        double scale = 1.0 / (1.0 - ratio);
        INDArray out = floatOp(a, x -> x.mul(Broadcast.isHalf(m.dataType()) ? m.castTo(DataType.FLOAT) : m).muli(scale));
        return new INDArray[] {out, wantMask ? Broadcast.fromLongs(keep, a.shape(), DataType.BOOL) : null};
    }

    private static long[] filled(long n, long v) {
        long[] l = new long[(int) n];
        Arrays.fill(l, v);
        return l;
    }

    private static INDArray constant(OpContext c) {
        var n = c.node();
        if (n.hasAttr("value")) {
            Tensor t = n.attr("value").asTensor();
            return CONSTANTS.computeIfAbsent(t, Nd::toNd);
        }
        if (n.hasAttr("value_float")) return Nd4j.scalar(n.attrFloat("value_float", 0));
        if (n.hasAttr("value_int")) return Nd4j.scalar(n.attrLong("value_int", 0));
        if (n.hasAttr("value_floats")) {
            float[] f = n.attrFloats("value_floats", null);
            return f.length == 0 ? Nd4j.create(DataType.FLOAT, 0) : Nd4j.createFromArray(f);
        }
        if (n.hasAttr("value_ints")) {
            long[] l = n.attrLongs("value_ints", null);
            return l.length == 0 ? Nd4j.create(DataType.LONG, 0) : Nd4j.createFromArray(l);
        }
        throw c.error("Constant needs one of value, value_float(s), value_int(s) (sparse and string values are not supported)");
    }

    private static INDArray[] constantOfShape(OpContext c) {
        long[] shape = Broadcast.longs(c.in(0));
        for (long d : shape) if (d < 0) throw c.error("shape " + Arrays.toString(shape) + " has a negative dimension");
        Attribute v = c.node().attr("value");
        INDArray one = v == null ? Nd4j.scalar(0f) : Nd.toNd(v.asTensor());
        if (one.length() != 1) throw c.error("value must hold one element, got " + one.length());
        if (Broadcast.size(shape) == 0) return OpContext.one(Nd4j.create(one.dataType(), shape));
        return OpContext.one(Broadcast.valueLike(one, shape));
    }

    // ---- comparisons and logic ----

    private static INDArray compare(OpContext c, Cmp op) {
        INDArray a = c.in(0);
        INDArray b = c.in(1);
        if (a.dataType() != b.dataType()) throw c.error("inputs must have the same type, got " + a.dataType() + " and " + b.dataType());
        long[] out = Broadcast.shape(c, a.shape(), b.shape());
        int n = (int) Broadcast.size(out);
        int[] oa = Broadcast.offsets(a.shape(), out);
        int[] ob = Broadcast.offsets(b.shape(), out);
        boolean[] r = new boolean[n];
        if (Broadcast.isFloat(a.dataType())) {
            double[] x = Broadcast.doubles(a);
            double[] y = Broadcast.doubles(b);
            for (int i = 0; i < n; i++) {
                double p = x[Broadcast.at(oa, i)];
                double q = y[Broadcast.at(ob, i)];
                r[i] = switch (op) {
                    case EQ -> p == q;
                    case LT -> p < q;
                    case GT -> p > q;
                    case LE -> p <= q;
                    case GE -> p >= q;
                };
            }
        } else {
            long[] x = Broadcast.longs(a);
            long[] y = Broadcast.longs(b);
            boolean unsigned = a.dataType() == DataType.UINT64;
            for (int i = 0; i < n; i++) {
                long p = x[Broadcast.at(oa, i)];
                long q = y[Broadcast.at(ob, i)];
                int k = unsigned ? Long.compareUnsigned(p, q) : Long.compare(p, q);
                r[i] = switch (op) {
                    case EQ -> k == 0;
                    case LT -> k < 0;
                    case GT -> k > 0;
                    case LE -> k <= 0;
                    case GE -> k >= 0;
                };
            }
        }
        return Broadcast.bools(r, out);
    }

    private static INDArray boolIn(OpContext c, int i) {
        INDArray a = c.in(i);
        if (a.dataType() != DataType.BOOL) throw c.error("input " + i + " must be bool, got " + a.dataType());
        return a;
    }

    private static INDArray logic(OpContext c, int kind) {
        INDArray a = boolIn(c, 0);
        INDArray b = boolIn(c, 1);
        long[] out = Broadcast.shape(c, a.shape(), b.shape());
        int n = (int) Broadcast.size(out);
        int[] oa = Broadcast.offsets(a.shape(), out);
        int[] ob = Broadcast.offsets(b.shape(), out);
        long[] x = Broadcast.longs(a);
        long[] y = Broadcast.longs(b);
        boolean[] r = new boolean[n];
        for (int i = 0; i < n; i++) {
            boolean p = x[Broadcast.at(oa, i)] != 0;
            boolean q = y[Broadcast.at(ob, i)] != 0;
            r[i] = kind == 0 ? p && q : kind == 1 ? p || q : p ^ q;
        }
        return Broadcast.bools(r, out);
    }

    private static INDArray where(OpContext c) {
        INDArray cond = boolIn(c, 0);
        INDArray x = c.in(1);
        INDArray y = c.in(2);
        if (x.dataType() != y.dataType()) throw c.error("X and Y must have the same type, got " + x.dataType() + " and " + y.dataType());
        DataType dt = x.dataType();
        long[] out = Broadcast.shape(c, cond.shape(), x.shape(), y.shape());
        int n = (int) Broadcast.size(out);
        if (n == 0) return Nd4j.create(dt, out);
        int[] oc = Broadcast.offsets(cond.shape(), out);
        int[] ox = Broadcast.offsets(x.shape(), out);
        int[] oy = Broadcast.offsets(y.shape(), out);
        long[] k = Broadcast.longs(cond);
        if (dt == DataType.DOUBLE) {
            double[] p = Broadcast.doubles(x);
            double[] q = Broadcast.doubles(y);
            double[] r = new double[n];
            for (int i = 0; i < n; i++) r[i] = k[Broadcast.at(oc, i)] != 0 ? p[Broadcast.at(ox, i)] : q[Broadcast.at(oy, i)];
            return Broadcast.fromDoubles(r, out, dt);
        }
        if (Broadcast.isFloat(dt)) {
            float[] p = Broadcast.floats(x);
            float[] q = Broadcast.floats(y);
            float[] r = new float[n];
            for (int i = 0; i < n; i++) r[i] = k[Broadcast.at(oc, i)] != 0 ? p[Broadcast.at(ox, i)] : q[Broadcast.at(oy, i)];
            return Broadcast.fromFloats(r, out, dt);
        }
        long[] p = Broadcast.longs(x);
        long[] q = Broadcast.longs(y);
        long[] r = new long[n];
        for (int i = 0; i < n; i++) r[i] = k[Broadcast.at(oc, i)] != 0 ? p[Broadcast.at(ox, i)] : q[Broadcast.at(oy, i)];
        return Broadcast.fromLongs(r, out, dt);
    }
}
