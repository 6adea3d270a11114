package io.condense.train;

import io.condense.ir.ModelException;
import io.condense.ir.Node;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Backward rules of ONNX ops, written against {@link ArrayOps} only (no array library): given a node, its forward
 * inputs and outputs and the gradients of its outputs, each rule returns the gradients of its differentiable
 * inputs. The forward pass is not here: {@link TrainOps} runs the inference backend's kernel for these ops, so
 * training and inference share one implementation of each op's semantics.
 */
public final class GradRules {
    private GradRules() {}

    /** What a rule sees. {@code in}/{@code out} are the forward values (null for omitted optional inputs). */
    public record Ctx<A>(ArrayOps<A> ops, Node node, int opset, List<A> in, List<A> out) {
        A in(int i) { return in.get(i); }

        boolean has(int i) { return i < in.size() && in.get(i) != null; }

        A out(int i) { return out.get(i); }

        ModelException err(String m) { return new ModelException(node.label() + ": " + m); }
    }

    /** Input gradients (null entries where not needed) from output gradients. */
    public interface Rule {
        <A> List<A> apply(Ctx<A> c, List<A> dOut, boolean[] need);
    }

    private static final Map<String, Rule> RULES = new HashMap<>();
    /** Inputs that carry no gradient, by op. */
    private static final Map<String, Set<Integer>> NON_DIFF = new HashMap<>();
    /** Ops that run in training but have no gradient at all (integer / boolean / shape computations). */
    static final Set<String> NO_GRAD = Set.of("Shape", "Size", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
            "Not", "And", "Or", "Xor", "ConstantOfShape", "ArgMax", "ArgMin");

    static {
        RULES.put("Add", binary(0));
        RULES.put("Sub", binary(1));
        RULES.put("Mul", binary(2));
        RULES.put("Div", binary(3));
        RULES.put("Pow", GradRules::pow);
        RULES.put("Sqrt", unary(GradRules::sqrt));
        RULES.put("Exp", unary(GradRules::exp));
        RULES.put("Log", unary(GradRules::log));
        RULES.put("Neg", unary(GradRules::neg));
        RULES.put("Reciprocal", unary(GradRules::reciprocal));
        RULES.put("Tanh", unary(GradRules::tanh));
        RULES.put("Erf", unary(GradRules::erf));
        RULES.put("Identity", unary(GradRules::identity));
        RULES.put("Softmax", GradRules::softmax);
        RULES.put("MatMul", GradRules::matmul);
        RULES.put("Transpose", GradRules::transpose);
        RULES.put("Reshape", GradRules::reshapeBack);
        RULES.put("Flatten", GradRules::reshapeBack);
        RULES.put("Squeeze", GradRules::reshapeBack);
        RULES.put("Unsqueeze", GradRules::reshapeBack);
        RULES.put("Expand", GradRules::expand);
        RULES.put("Concat", GradRules::concat);
        RULES.put("Slice", GradRules::slice);
        RULES.put("Gather", GradRules::gather);
        RULES.put("Where", GradRules::where);
        RULES.put("Cast", GradRules::cast);
        RULES.put("ReduceMean", GradRules::reduceMean);
        RULES.put("ReduceSum", GradRules::reduceSum);
        NON_DIFF.put("Pow", Set.of(1));
        NON_DIFF.put("Reshape", Set.of(1));
        NON_DIFF.put("Squeeze", Set.of(1));
        NON_DIFF.put("Unsqueeze", Set.of(1));
        NON_DIFF.put("Expand", Set.of(1));
        NON_DIFF.put("Slice", Set.of(1, 2, 3, 4));
        NON_DIFF.put("Gather", Set.of(1));
        NON_DIFF.put("Where", Set.of(0));
        NON_DIFF.put("ReduceMean", Set.of(1));
        NON_DIFF.put("ReduceSum", Set.of(1));
    }

    /** The rule of {@code opType}, or null. */
    public static Rule rule(String opType) { return RULES.get(opType); }

    public static Set<String> ops() { return RULES.keySet(); }

    /** Whether input {@code i} of {@code opType} can carry a gradient (false for every input of {@link #NO_GRAD} ops). */
    public static boolean differentiable(String opType, int i) {
        if (NO_GRAD.contains(opType)) return false;
        Set<Integer> s = NON_DIFF.get(opType);
        return s == null || !s.contains(i);
    }

    @SafeVarargs
    private static <A> List<A> list(A... a) { return Arrays.asList(a); }

    // ---------------------------------------------------------------- elementwise

    private static Rule binary(int kind) {
        return new Rule() {
            @Override public <A> List<A> apply(Ctx<A> c, List<A> d, boolean[] need) {
                ArrayOps<A> o = c.ops();
                A a = c.in(0), b = c.in(1), g = d.get(0);
                if (!o.isFloating(a)) return list(null, null);
                A ga = null, gb = null;
                if (need[0]) {
                    A t = switch (kind) { case 0, 1 -> g; case 2 -> o.mul(g, b); default -> o.div(g, b); };
                    ga = o.sumTo(t, o.shape(a));
                }
                if (need[1]) {
                    A t = switch (kind) {
                        case 0 -> g;
                        case 1 -> o.neg(g);
                        case 2 -> o.mul(g, a);
                        default -> o.neg(o.div(o.mul(g, c.out(0)), b));
                    };
                    gb = o.sumTo(t, o.shape(b));
                }
                return list(ga, gb);
            }
        };
    }

    /** dx from x, y = f(x) and dy. */
    private interface Unary { <A> A apply(ArrayOps<A> o, A x, A y, A g); }

    private static Rule unary(Unary f) {
        return new Rule() {
            @Override public <A> List<A> apply(Ctx<A> c, List<A> d, boolean[] need) {
                return list(need[0] ? f.apply(c.ops(), c.in(0), c.out(0), d.get(0)) : null);
            }
        };
    }

    private static <A> A sqrt(ArrayOps<A> o, A x, A y, A g) { return o.div(o.mulScalar(g, 0.5), y); }

    private static <A> A exp(ArrayOps<A> o, A x, A y, A g) { return o.mul(g, y); }

    private static <A> A log(ArrayOps<A> o, A x, A y, A g) { return o.div(g, x); }

    private static <A> A neg(ArrayOps<A> o, A x, A y, A g) { return o.neg(g); }

    private static <A> A reciprocal(ArrayOps<A> o, A x, A y, A g) { return o.neg(o.mul(g, o.mul(y, y))); }

    private static <A> A tanh(ArrayOps<A> o, A x, A y, A g) { return o.mul(g, o.addScalar(o.neg(o.mul(y, y)), 1)); }

    private static <A> A erf(ArrayOps<A> o, A x, A y, A g) {
        return o.mul(g, o.mulScalar(o.exp(o.neg(o.mul(x, x))), 2 / Math.sqrt(Math.PI)));
    }

    private static <A> A identity(ArrayOps<A> o, A x, A y, A g) { return g; }

    private static <A> List<A> pow(Ctx<A> c, List<A> d, boolean[] need) {
        ArrayOps<A> o = c.ops();
        A x = c.in(0), e = c.in(1), g = d.get(0);
        if (!need[0]) return list(null, null);
        A dydx;
        long[] es = o.shape(e);
        if (Arrays2.product(es, 0, es.length) == 1) {
            double p = o.doubles(e)[0];
            dydx = p == 1 ? null : o.mulScalar(o.powScalar(x, p - 1), p);
            if (dydx == null) return list(o.sumTo(g, o.shape(x)), null);
        } else {
            dydx = o.mul(o.pow(x, o.addScalar(e, -1)), e);
        }
        return list(o.sumTo(o.mul(g, dydx), o.shape(x)), null);
    }

    private static <A> List<A> softmax(Ctx<A> c, List<A> d, boolean[] need) {
        ArrayOps<A> o = c.ops();
        A y = c.out(0), g = d.get(0);
        long[] s = o.shape(y);
        int r = s.length;
        if (c.opset() >= 13) {
            int axis = axis(c, c.node().attrLong("axis", -1), r);
            A dx = o.mul(o.sub(g, o.sumKeep(o.mul(g, y), new int[] {axis})), y);
            return list(dx);
        }
        int axis = axis(c, c.node().attrLong("axis", 1), r);
        long[] two = {Arrays2.product(s, 0, axis), Arrays2.product(s, axis, r)};
        A y2 = o.reshape(y, two), g2 = o.reshape(g, two);
        A dx = o.mul(o.sub(g2, o.sumKeep(o.mul(g2, y2), new int[] {1})), y2);
        return list(o.reshape(dx, s));
    }

    private static <A> List<A> cast(Ctx<A> c, List<A> d, boolean[] need) {
        ArrayOps<A> o = c.ops();
        if (!need[0] || !o.isFloating(c.in(0)) || !o.isFloating(c.out(0))) return list((A) null);
        return list(d.get(0));
    }

    private static <A> List<A> where(Ctx<A> c, List<A> d, boolean[] need) {
        ArrayOps<A> o = c.ops();
        A cond = c.in(0), x = c.in(1), y = c.in(2), g = d.get(0);
        if (!o.isFloating(x)) return list(null, null, null);
        A z = o.zeros(g, o.shape(g));
        A gx = need[1] ? o.sumTo(o.select(cond, g, z), o.shape(x)) : null;
        A gy = need[2] ? o.sumTo(o.select(cond, z, g), o.shape(y)) : null;
        return list(null, gx, gy);
    }

    // ---------------------------------------------------------------- reductions and linear algebra

    private static <A> List<A> reduceMean(Ctx<A> c, List<A> d, boolean[] need) { return reduce(c, d, need, true); }

    private static <A> List<A> reduceSum(Ctx<A> c, List<A> d, boolean[] need) { return reduce(c, d, need, false); }

    private static <A> List<A> reduce(Ctx<A> c, List<A> d, boolean[] need, boolean mean) {
        ArrayOps<A> o = c.ops();
        A x = c.in(0), g = d.get(0);
        long[] xs = o.shape(x);
        int r = xs.length;
        int axesFrom = mean ? 18 : 13;
        long[] axes = c.opset() < axesFrom ? c.node().attrLongs("axes", null) : c.has(1) ? o.longs(c.in(1)) : null;
        if (axes == null || axes.length == 0) {
            if (c.opset() >= axesFrom && c.node().attrLong("noop_with_empty_axes", 0) != 0) return list(g, null);
            axes = new long[r];
            for (int i = 0; i < r; i++) axes[i] = i;
        }
        long[] keep = xs.clone();
        long count = 1;
        boolean[] red = new boolean[r];
        for (long a : axes) red[axis(c, a, r)] = true;
        for (int i = 0; i < r; i++) {
            if (red[i]) {
                keep[i] = 1;
                count *= xs[i];
            }
        }
        A dx = o.broadcastTo(o.reshape(g, keep), xs);
        return list(mean ? o.mulScalar(dx, 1.0 / count) : dx, null);
    }

    private static <A> List<A> matmul(Ctx<A> c, List<A> d, boolean[] need) {
        ArrayOps<A> o = c.ops();
        A a = c.in(0), b = c.in(1), g = d.get(0);
        long[] sa = o.shape(a), sb = o.shape(b);
        // 1-D operands as ONNX (numpy) defines them: a row vector on the left, a column vector on the right
        long[] sa2 = sa.length == 1 ? new long[] {1, sa[0]} : sa;
        long[] sb2 = sb.length == 1 ? new long[] {sb[0], 1} : sb;
        A a2 = o.reshape(a, sa2), b2 = o.reshape(b, sb2);
        if (sb.length == 2 && sa.length >= 3) {
            // [..., M, K] x [K, N] (a weight): one GEMM over the flattened rows instead of a batch of small ones
            // whose [batch, K, N] weight gradients would then be summed
            long m = 1;
            for (int i = 0; i < sa.length - 1; i++) m *= sa[i];
            A af = o.reshape(a, new long[] {m, sa[sa.length - 1]}), gf = o.reshape(g, new long[] {m, sb[1]});
            A ga = need[0] ? o.reshape(o.matmul(gf, b2, false, true), sa) : null;
            A gb = need[1] ? o.matmul(af, gf, true, false) : null;
            return list(ga, gb);
        }
        long[] batch = broadcast(Arrays.copyOf(sa2, sa2.length - 2), Arrays.copyOf(sb2, sb2.length - 2));
        long[] gs = Arrays.copyOf(batch, batch.length + 2);
        gs[batch.length] = sa2[sa2.length - 2];
        gs[batch.length + 1] = sb2[sb2.length - 1];
        A g2 = o.reshape(g, gs);
        A ga = need[0] ? o.reshape(o.sumTo(o.matmul(g2, b2, false, true), sa2), sa) : null;
        A gb = need[1] ? o.reshape(o.sumTo(o.matmul(a2, g2, true, false), sb2), sb) : null;
        return list(ga, gb);
    }

    private static long[] broadcast(long[] a, long[] b) {
        int r = Math.max(a.length, b.length);
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            long x = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
            long y = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            out[i] = x == 1 ? y : x;
        }
        return out;
    }

    // ---------------------------------------------------------------- shape ops

    private static <A> List<A> transpose(Ctx<A> c, List<A> d, boolean[] need) {
        ArrayOps<A> o = c.ops();
        int r = o.shape(c.in(0)).length;
        long[] perm = c.node().attrLongs("perm", null);
        int[] inv = new int[r];
        for (int i = 0; i < r; i++) inv[perm == null ? r - 1 - i : (int) perm[i]] = i;
        return list(o.permute(d.get(0), inv));
    }

    private static <A> List<A> reshapeBack(Ctx<A> c, List<A> d, boolean[] need) {
        ArrayOps<A> o = c.ops();
        A g = need[0] && o.isFloating(c.in(0)) ? o.reshape(d.get(0), o.shape(c.in(0))) : null;
        return list(g, null);
    }

    private static <A> List<A> expand(Ctx<A> c, List<A> d, boolean[] need) {
        ArrayOps<A> o = c.ops();
        A g = need[0] && o.isFloating(c.in(0)) ? o.sumTo(d.get(0), o.shape(c.in(0))) : null;
        return list(g, null);
    }

    private static <A> List<A> concat(Ctx<A> c, List<A> d, boolean[] need) {
        ArrayOps<A> o = c.ops();
        int k = c.in().size();
        int r = o.shape(c.in(0)).length;
        int axis = axis(c, c.node().attrLong("axis", 0), r);
        @SuppressWarnings("unchecked") A[] g = (A[]) new Object[k];
        long off = 0;
        for (int i = 0; i < k; i++) {
            long size = o.shape(c.in(i))[axis];
            if (need[i] && o.isFloating(c.in(i))) g[i] = o.sliceAxis(d.get(0), axis, off, off + size);
            off += size;
        }
        return Arrays.asList(g);
    }

    private static <A> List<A> slice(Ctx<A> c, List<A> d, boolean[] need) {
        ArrayOps<A> o = c.ops();
        A x = c.in(0);
        long[] xs = o.shape(x);
        int r = xs.length;
        if (!need[0] || !o.isFloating(x)) return list(null, null, null, null, null);
        long[] starts, ends, axes, steps;
        if (c.opset() >= 10) {
            starts = o.longs(c.in(1));
            ends = o.longs(c.in(2));
            axes = c.has(3) ? o.longs(c.in(3)) : null;
            steps = c.has(4) ? o.longs(c.in(4)) : null;
        } else {
            starts = c.node().attrLongs("starts", null);
            ends = c.node().attrLongs("ends", null);
            axes = c.node().attrLongs("axes", null);
            steps = null;
        }
        long[] st = new long[r], sp = new long[r], cnt = xs.clone();
        Arrays.fill(sp, 1);
        for (int i = 0; i < starts.length; i++) {
            int a = axis(c, axes == null ? i : axes[i], r);
            long step = steps == null ? 1 : steps[i];
            long dim = xs[a];
            long s0 = starts[i] < 0 ? starts[i] + dim : starts[i];
            long e0 = ends[i] < 0 ? ends[i] + dim : ends[i];
            if (step > 0) {
                s0 = clamp(s0, 0, dim);
                e0 = clamp(e0, 0, dim);
                cnt[a] = Math.max(0, (e0 - s0 + step - 1) / step);
            } else {
                s0 = clamp(s0, 0, dim - 1);
                e0 = clamp(e0, -1, dim - 1);
                cnt[a] = Math.max(0, (s0 - e0 - step - 1) / -step);
            }
            st[a] = s0;
            sp[a] = step;
        }
        long[] offsets = new long[(int) Arrays2.product(cnt, 0, r)];
        long[] stride = new long[r];
        for (int i = r - 1, s = 1; i >= 0; s *= xs[i], i--) stride[i] = s;
        long[] idx = new long[r];
        for (int k = 0; k < offsets.length; k++) {
            long off = 0;
            for (int i = 0; i < r; i++) off += (st[i] + idx[i] * sp[i]) * stride[i];
            offsets[k] = off;
            for (int i = r - 1; i >= 0; i--) {
                if (++idx[i] < cnt[i]) break;
                idx[i] = 0;
            }
        }
        return list(o.scatterAdd(d.get(0), xs, offsets), null, null, null, null);
    }

    private static long clamp(long v, long lo, long hi) { return Math.max(lo, Math.min(hi, v)); }

    private static <A> List<A> gather(Ctx<A> c, List<A> d, boolean[] need) {
        ArrayOps<A> o = c.ops();
        A x = c.in(0);
        if (!need[0] || !o.isFloating(x)) return list(null, null);
        long[] xs = o.shape(x);
        int axis = axis(c, c.node().attrLong("axis", 0), xs.length);
        long[] ind = o.longs(c.in(1));
        long dim = xs[axis];
        long pre = Arrays2.product(xs, 0, axis), post = Arrays2.product(xs, axis + 1, xs.length);
        long[] offsets = new long[(int) (pre * ind.length * post)];
        int w = 0;
        for (long p = 0; p < pre; p++) {
            for (long v : ind) {
                long base = (p * dim + (v < 0 ? v + dim : v)) * post;
                for (long q = 0; q < post; q++) offsets[w++] = base + q;
            }
        }
        return list(o.scatterAdd(d.get(0), xs, offsets), null);
    }

    private static int axis(Ctx<?> c, long a, int rank) {
        long r = a < 0 ? a + rank : a;
        if (r < 0 || r >= rank) throw c.err("axis " + a + " out of range for rank " + rank);
        return (int) r;
    }
}
