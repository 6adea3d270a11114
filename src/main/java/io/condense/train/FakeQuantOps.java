package io.condense.train;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Map;
import java.util.Set;

/**
 * Fake quantization for quantization-aware training: op {@code FakeQuantize} (default domain; it exists only in
 * training graphs, export replaces it by QuantizeLinear/DequantizeLinear).
 *
 * <p>Inputs: {@code x}, {@code scale} (scalar/[1] per tensor, or 1-D of the size of {@code axis}), {@code zero_point}
 * (float, same shape as scale, integer-valued). Attributes: {@code qmin}, {@code qmax} (default -128, 127),
 * {@code axis} (per-channel axis, default 1), {@code mode} "ste" or "lsq".
 *
 * <p>Forward: {@code y = (clamp(rint(x / s) + z, qmin, qmax) - z) * s}, what ONNX QuantizeLinear followed by
 * DequantizeLinear computes. Backward:
 * <ul>
 *   <li>x (both modes, straight-through estimator): {@code dy/dx = 1} where {@code qmin <= x/s + z <= qmax}, else 0;</li>
 *   <li>scale, mode "lsq" only (Esser et al. 2020, "Learned Step Size Quantization"): {@code dy/ds = rint(v) - v}
 *       inside the range ({@code v = x/s + z}), {@code qmin - z} below it, {@code qmax - z} above it, multiplied by the
 *       gradient scale {@code 1 / sqrt(N * Qp)} with {@code N} the number of elements sharing the scale (all
 *       elements of x divided by the number of scales) and {@code Qp = qmax - z}; mode "ste" gives the scale no
 *       gradient (keep it out of the trained parameters);</li>
 *   <li>zero point: none.</li>
 * </ul>
 */
final class FakeQuantOps {
    private FakeQuantOps() {}

    static void register(Map<String, TrainOps.Op> ops, Map<String, Set<Integer>> nonDiff) {
        ops.put("FakeQuantize", FakeQuantOps::fakeQuantize);
        nonDiff.put("FakeQuantize", Set.of(2));
    }

    static INDArray rint(INDArray v) {
        INDArray out = Nd4j.createUninitialized(v.dataType(), v.shape());
        Nd4j.exec(new Rint(v, out));
        return out;
    }

    private static TrainOps.Result fakeQuantize(TrainOps.Call c) {
        INDArray x = c.in(0), s = c.in(1), z = c.in(2);
        double qmin = c.attrLong("qmin", -128), qmax = c.attrLong("qmax", 127);
        if (!(qmin < qmax)) throw c.err("qmin must be < qmax");
        boolean lsq = "lsq".equals(c.attrString("mode", "ste"));
        if (!"ste".equals(c.attrString("mode", "ste")) && !lsq) throw c.err("mode must be ste or lsq");
        long ns = s.length();
        if (z.length() != ns) throw c.err("zero point has " + z.length() + " values, scale " + ns);
        int rank = x.rank();
        long[] bshape;
        int axis = -1;
        if (ns == 1) {
            bshape = new long[rank];
            java.util.Arrays.fill(bshape, 1);
        } else {
            long a = c.attrLong("axis", 1);
            axis = (int) (a < 0 ? a + rank : a);
            if (axis < 0 || axis >= rank || x.size(axis) != ns) throw c.err("per-channel scale of " + ns + " values does not match axis " + a + " of x");
            bshape = new long[rank];
            java.util.Arrays.fill(bshape, 1);
            bshape[axis] = ns;
        }
        INDArray sb = s.castTo(x.dataType()).reshape(bshape), zb = z.castTo(x.dataType()).reshape(bshape);
        INDArray v = x.div(sb).addi(zb);
        INDArray r = Transforms.max(Transforms.min(rint(v), qmax, false), qmin, false);
        INDArray y = r.sub(zb).muli(sb);
        final int ax = axis;
        final long[] sShape = s.shape();
        return TrainOps.Result.of(y, (d, need) -> {
            INDArray g = d[0];
            INDArray lo = v.lt(qmin).castTo(x.dataType()), hi = v.gt(qmax).castTo(x.dataType());
            INDArray inside = lo.add(hi).rsubi(1);
            INDArray dx = need[0] ? g.mul(inside) : null;
            INDArray ds = null;
            if (need[1] && lsq) {
                // inside: rint(v) - v; below: qmin - z; above: qmax - z
                INDArray e = r.sub(v).muli(inside).addi(lo.mul(zb.rsub(qmin))).addi(hi.mul(zb.rsub(qmax)));
                e.muli(g);
                INDArray sum;
                if (ax < 0) sum = e.sum();
                else {
                    int[] dims = new int[rank - 1];
                    for (int i = 0, k = 0; i < rank; i++) if (i != ax) dims[k++] = i;
                    sum = dims.length == 0 ? e : e.sum(dims);
                }
                double n = (double) x.length() / ns;
                double qp = qmax - z.meanNumber().doubleValue();
                double gs = 1 / Math.sqrt(n * Math.max(1, qp));
                ds = sum.muli(gs).reshape(sShape);
            }
            return new INDArray[] {dx, ds, null};
        });
    }
}
