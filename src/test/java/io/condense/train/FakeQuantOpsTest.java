package io.condense.train;

import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * FakeQuantize forward against the QuantizeLinear/DequantizeLinear formula, backward against finite differences:
 * of the true function where it is differentiable in the usual sense (clipped elements: dy/dx = 0, dy/ds = qmin - z
 * or qmax - z), and of the straight-through surrogate (rounding offsets frozen: y = x + (rint(v) - v) s) inside the
 * range, whose derivatives are the STE/LSQ gradients by definition.
 */
class FakeQuantOpsTest {
    static final int QMIN = -8, QMAX = 7;

    static Graph graph(long[] xShape, long[] sShape, float[] scale, float[] zp, String mode, long axis) {
        return Graph.builder().opset("", 17)
                .addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, xShape)))
                .addOutput(new ValueInfo("y", TensorType.unknown()))
                .initializer("s", Tensor.of(scale, sShape)).initializer("z", Tensor.of(zp, sShape))
                .addNode(new Node("fq", "FakeQuantize", "", List.of("x", "s", "z"), List.of("y"),
                        Map.of("qmin", Attribute.of((long) QMIN), "qmax", Attribute.of((long) QMAX), "mode", Attribute.of(mode), "axis", Attribute.of(axis))))
                .build();
    }

    /** Surrogate / true forward in double: channel of element i given by {@code ch}. */
    static double[] forward(double[] x, double[] s, double[] z, int[] ch, double[] frozenOffset) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double sc = s[ch[i]], zp = z[ch[i]];
            double v = x[i] / sc + zp;
            double q;
            if (v < QMIN) q = QMIN;
            else if (v > QMAX) q = QMAX;
            else q = frozenOffset == null ? Math.rint(v) : v + frozenOffset[i];
            y[i] = (q - zp) * sc;
        }
        return y;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    void check(String mode, long[] xShape, int axis, double[] scale, double[] zp) {
        Random r = new Random(7);
        scale = scale.clone();
        for (int i = 0; i < scale.length; i++) scale[i] = (float) scale[i]; // the initializers are float32
        int n = (int) Tensor.checkedSize(xShape), c = scale.length;
        int post = 1;
        if (c > 1) for (int i = axis + 1; i < xShape.length; i++) post *= (int) xShape[i];
        int[] ch = new int[n];
        double[] x = new double[n], g = new double[n];
        for (int i = 0; i < n; i++) {
            ch[i] = c == 1 ? 0 : (i / post) % c;
            // spread over the range and beyond it, away from rounding ties
            double v;
            do v = (r.nextDouble() * 2 - 1) * 12 + zp[ch[i]]; while (Math.abs(v - Math.floor(v) - 0.5) < 0.05);
            x[i] = (v - zp[ch[i]]) * scale[ch[i]];
            g[i] = r.nextGaussian();
        }
        float[] sf = new float[c], zf = new float[c];
        for (int i = 0; i < c; i++) { sf[i] = (float) scale[i]; zf[i] = (float) zp[i]; }
        long[] sShape = c == 1 ? new long[0] : new long[] {c};
        Tape t = new Tape(graph(xShape, sShape, sf, zf, mode, axis), k -> true, DataType.DOUBLE, 0).requireInputGrad("x");
        Map<String, INDArray> out = t.forward(Map.of("x", Nd4j.create(x, xShape, DataType.DOUBLE)), true);
        double[] y = out.get("y").dup('c').data().asDouble();
        double[] yRef = forward(x, scale, zp, ch, null);
        for (int i = 0; i < n; i++) assertEquals(yRef[i], y[i], 1e-9, "forward " + i);
        Map<String, INDArray> grads = t.backward(Map.of("y", Nd4j.create(g, xShape, DataType.DOUBLE)));
        double[] dx = grads.get("x").dup('c').data().asDouble();
        if (mode.equals("ste")) assertEquals(0, grads.get("s").amaxNumber().doubleValue(), "STE: no scale gradient");
        double[] offset = new double[n];
        for (int i = 0; i < n; i++) {
            double v = x[i] / scale[ch[i]] + zp[ch[i]];
            offset[i] = Math.rint(v) - v;
        }
        double h = 1e-6;
        int clipped = 0;
        for (int i = 0; i < n; i++) {
            double v = x[i] / scale[ch[i]] + zp[ch[i]];
            boolean clip = v < QMIN || v > QMAX;
            clipped += clip ? 1 : 0;
            double[] xp = x.clone(), xm = x.clone();
            xp[i] += h;
            xm[i] -= h;
            // clipped: the true function's derivative; inside: the surrogate's
            double fd = (dot(g, forward(xp, scale, zp, ch, clip ? null : offset)) - dot(g, forward(xm, scale, zp, ch, clip ? null : offset))) / (2 * h);
            assertEquals(fd, dx[i], 1e-6, "dy/dx " + i + (clip ? " (clipped)" : ""));
        }
        assertTrue(clipped > 0 && clipped < n, "both regions covered");
        if (mode.equals("lsq")) {
            double[] ds = grads.get("s").dup('c').data().asDouble();
            for (int k = 0; k < c; k++) {
                double nPer = (double) n / c, qp = QMAX - zp[k];
                double gs = 1 / Math.sqrt(nPer * qp);
                double[] sp = scale.clone(), sm = scale.clone();
                sp[k] += h;
                sm[k] -= h;
                // surrogate (offsets frozen) for inside elements, true function for clipped ones, summed
                double fd = (dot(g, forward(x, sp, zp, ch, offset)) - dot(g, forward(x, sm, zp, ch, offset))) / (2 * h);
                assertEquals(fd * gs, ds[k], 1e-6 * Math.max(1, Math.abs(fd)), "dy/ds " + k);
                // and on the clipped elements alone the true derivative is used unchanged
                double[] gClip = new double[n];
                for (int i = 0; i < n; i++) {
                    double v = x[i] / scale[ch[i]] + zp[ch[i]];
                    if (ch[i] == k && (v < QMIN || v > QMAX)) gClip[i] = g[i];
                }
                Tape t2 = new Tape(graph(xShape, sShape, sf, zf, mode, axis), q -> true, DataType.DOUBLE, 0);
                t2.forward(Map.of("x", Nd4j.create(x, xShape, DataType.DOUBLE)), true);
                double ds2 = t2.backward(Map.of("y", Nd4j.create(gClip, xShape, DataType.DOUBLE))).get("s").dup('c').data().asDouble()[k];
                double fdTrue = (dot(gClip, forward(x, sp, zp, ch, null)) - dot(gClip, forward(x, sm, zp, ch, null))) / (2 * h);
                assertEquals(fdTrue * gs, ds2, 1e-6 * Math.max(1, Math.abs(fdTrue)), "clipped dy/ds " + k);
            }
        }
    }

    @Test
    void perTensorSte() { check("ste", new long[] {4, 25}, 1, new double[] {0.05}, new double[] {0}); }

    @Test
    void perTensorLsqWithZeroPoint() { check("lsq", new long[] {4, 25}, 1, new double[] {0.03}, new double[] {2}); }

    @Test
    void perChannelLsq() { check("lsq", new long[] {3, 40}, 0, new double[] {0.02, 0.1, 0.5}, new double[] {0, 0, 0}); }

    @Test
    void perChannelLastAxisLsq() { check("lsq", new long[] {30, 4}, 1, new double[] {0.02, 0.1, 0.5, 1}, new double[] {0, 0, 0, 0}); }
}
