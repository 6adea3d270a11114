package io.condense.backend.cpu;

import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.passes.Fusion;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Kernels for the session-internal ops {@link Fusion} creates ({@code io.condense.FusedConv},
 * {@code io.condense.FusedMatMul}), and the session's per-node kernel choice: small float32 2-D Conv,
 * MaxPool and MatMul run as direct Java loops ({@link SmallConv}) on the calling thread, larger ones on the
 * registered ai.onnx kernels with the epilogue (bias, ReLU) applied in place on their fresh output.
 */
final class FusedKernels {
    private FusedKernels() {}

    /** Below this many multiply-adds a float32 Conv/MatMul runs as Java loops (-Dcondense.cpu.smallMacs). */
    static final long SMALL_MACS = Long.getLong("condense.cpu.smallMacs", 1L << 20);
    /** Below this many input elements a float32 MaxPool runs as Java loops. */
    static final long SMALL_POOL = Long.getLong("condense.cpu.smallPool", 1L << 16);

    /** A kernel for an io.condense node, or null when {@code n} is not one. */
    static Kernel create(Node n, Graph g, KernelRegistry registry) {
        if (!Fusion.DOMAIN.equals(n.domain())) return null;
        int opset = g.opsetOf("");
        boolean relu = "Relu".equals(n.attrString("activation", ""));
        Map<String, io.condense.ir.Attribute> attrs = new LinkedHashMap<>(n.attributes());
        attrs.remove("activation");
        switch (n.opType()) {
            case Fusion.FUSED_CONV -> {
                Node conv = new Node(n.name(), "Conv", "", n.inputs(), n.outputs(), attrs);
                return new ConvK(conv, opset, relu, registry.get("", "Conv"));
            }
            case Fusion.FUSED_MATMUL -> {
                Node mm = new Node(n.name(), "MatMul", "", n.inputs().subList(0, 2), n.outputs(), attrs);
                return new MatMulK(mm, opset, relu, registry.get("", "MatMul"));
            }
            case Fusion.LAYER_NORM -> {
                float eps = n.attrFloat("epsilon", 1e-5f);
                return c -> OpContext.one(layerNorm(c, eps));
            }
            case Fusion.GELU -> {
                Node gelu = new Node(n.name(), "Gelu", "", n.inputs(), n.outputs(), Map.of());
                Kernel k = registry.get("", "Gelu"); // float32 runs FloatKernels' fused loop
                return c -> k.run(new OpContext(gelu, 20, inputs(c), declared(c)));
            }
            case Fusion.MATMUL_INTEGER_TO_FLOAT -> {
                Node mm = new Node(n.name(), "MatMulInteger", "", n.inputs().subList(0, 4), n.outputs(), Map.of());
                return new IntToFloatK(mm, opset);
            }
            case Fusion.FAKE_QUANT -> {
                return FusedKernels::quantizeDequantize;
            }
            default -> { return null; }
        }
    }

    /**
     * {@link Fusion#FAKE_QUANT}: DequantizeLinear(QuantizeLinear(x)) per element, (saturate(round_half_even(x / qs)
     * + qz) - dz) * ds with the quantized type taken from qz, the same float operations as the two kernels
     * ({@link QuantKernels#quantize}, then the dequantization's float(q - z) * s).
     */
    static INDArray[] quantizeDequantize(OpContext c) {
        INDArray x = c.in(0);
        if (x.dataType() != DataType.FLOAT) throw c.error("expects a float32 input, got " + x.dataType());
        float qs = floats(c.in(1))[0], ds = floats(c.in(3))[0];
        int[] qzv = QuantKernels.ints(c.in(2));
        int qz = qzv[0], dz = c.has(4) ? QuantKernels.ints(c.in(4))[0] : 0;
        DType t = Nd.fromNd(c.in(2).dataType());
        if (t != DType.INT8 && t != DType.UINT8) throw c.error("expects an int8 or uint8 zero point, got " + t);
        long lo = t.minValue(), hi = t.maxValue();
        if (x.length() == 0) return OpContext.one(Nd4j.create(DataType.FLOAT, x.shape()));
        float[] v = floats(x);
        // QuantKernels.quantize for 8-bit types (sat: clamp, round half to even with ROUND_MAGIC, + qz), then
        // float(q - dz) * ds, split into two loops that vectorize; NaN gives q = qz as in quantize
        float fmin = lo - qz, fmax = hi - qz, m = QuantKernels.ROUND_MAGIC;
        int shift = qz - dz;
        for (int i = 0; i < v.length; i++) v[i] = Math.min(Math.max(v[i] / qs, fmin), fmax) + m;
        for (int i = 0; i < v.length; i++) v[i] = (float) ((int) (v[i] - m) + shift) * ds;
        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, x.shape(), 'c');
        y.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().put(v);
        return OpContext.one(y);
    }

    /**
     * {@link Fusion#MATMUL_INTEGER_TO_FLOAT}: the exact int32 product ({@link IntMatMul}, oneDNN where it applies),
     * then float(acc) * scale + bias per element in one pass, each operation rounded to float32 as the Cast, Mul and
     * Add nodes it replaces round (Java evaluates {@code a * b + c} as two float operations, never as an FMA).
     */
    private static final class IntToFloatK implements Kernel {
        private final Node mm;
        private final int opset;
        private final Cache biasCache = new Cache();

        IntToFloatK(Node mm, int opset) {
            this.mm = mm;
            this.opset = opset;
        }

        @Override
        public INDArray[] run(OpContext c) {
            INDArray a = c.in(0), b = c.in(1), az = c.opt(2), bz = c.opt(3), s = c.in(4), bias = c.opt(5);
            OpContext cc = new OpContext(mm, opset, new INDArray[] {a, b, az, bz}, Arrays.copyOf(declared(c), 4));
            long[] shape = IntMatMul.outShape(cc, a.shape(), b.shape());
            int n = (int) shape[shape.length - 1];
            float[] sv = floats(s);
            float[] bv = bias == null ? null : biasCache.get(bias);
            if (sv.length != 1 && sv.length != n) throw c.error("scale must have 1 or " + n + " values, has " + sv.length);
            if (bv != null && bv.length != n) throw c.error("bias must have " + n + " values, has " + bv.length);
            long total = 1;
            for (long d : shape) total *= d;
            if (total == 0) return OpContext.one(Nd4j.create(DataType.FLOAT, shape));
            INDArray y = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
            java.nio.ByteBuffer yb = y.data().asNio().order(java.nio.ByteOrder.nativeOrder());
            java.nio.IntBuffer ib = null;
            int[] accv = null;
            // oneDNN writes the int32 accumulators into y's own memory; each row is read out before it is overwritten
            if (IntMatMul.dnnlInto(cc, a, az, b, bz, y)) ib = yb.asIntBuffer();
            else accv = IntMatMul.matmul(cc, a, az, b, bz);
            java.nio.FloatBuffer out = yb.asFloatBuffer();
            int rows = (int) (total / n);
            int[] row = new int[n];
            float[] f = new float[n];
            float s0 = sv[0];
            boolean perCol = sv.length != 1;
            for (int r = 0; r < rows; r++) {
                int o = r * n;
                if (ib != null) ib.get(o, row);
                else System.arraycopy(accv, o, row, 0, n);
                if (perCol) for (int j = 0; j < n; j++) f[j] = (float) row[j] * sv[j];
                else for (int j = 0; j < n; j++) f[j] = (float) row[j] * s0;
                if (bv != null) for (int j = 0; j < n; j++) f[j] = f[j] + bv[j];
                out.put(o, f);
            }
            return OpContext.one(y);
        }
    }

    /** (x - mean) / sqrt(var + eps) * gamma + beta over the last axis (mean and variance accumulated in double). */
    static INDArray layerNorm(OpContext c, float eps) {
        INDArray x = c.in(0), gamma = c.in(1), beta = c.in(2);
        if (x.dataType() != DataType.FLOAT || x.rank() == 0) throw c.error("expects a float32 input of rank >= 1, got " + x.dataType());
        int cols = (int) x.size(-1);
        if (gamma.length() != cols || beta.length() != cols) {
            throw c.error("scale/bias of length " + gamma.length() + "/" + beta.length() + " for a last axis of " + cols);
        }
        float[] g = floats(gamma), b = floats(beta);
        INDArray xd = ConvOps.dense(x);
        java.nio.FloatBuffer in = xd.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        int base = (int) xd.offset();
        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, x.shape(), 'c');
        java.nio.FloatBuffer out = y.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        int rows = cols == 0 ? 0 : (int) (x.length() / cols);
        float[] t = new float[cols], u = new float[cols];
        for (int r = 0; r < rows; r++) {
            int o = r * cols;
            in.get(base + o, t); // rows copied to arrays indexed from 0: those loops vectorize (see SmallConv)
            double s = 0;
            for (int i = 0; i < cols; i++) s += t[i];
            float mean = (float) (s / cols);
            double v = 0;
            for (int i = 0; i < cols; i++) {
                float d = t[i] - mean;
                v += d * d;
            }
            float inv = (float) (1.0 / Math.sqrt((float) (v / cols) + eps));
            for (int i = 0; i < cols; i++) u[i] = (t[i] - mean) * inv * g[i] + b[i];
            out.put(o, u);
        }
        return y;
    }

    /** The kernel to run {@code n} with: {@code k}, or a small-input fast path in front of it. */
    static Kernel plan(Node n, Graph g, Kernel k) {
        if (n.domain().isEmpty() && n.opType().equals("MaxPool") && n.outputs().size() == 1) return new PoolK(k);
        return k;
    }

    private static float[] floats(INDArray a) { return ConvOps.floatsOf(a); }

    /** Caches the float[] copy of one (constant) array, by identity. */
    private static final class Cache {
        private INDArray key;
        private float[] value;

        float[] get(INDArray a) {
            if (a != key) {
                value = floats(a);
                key = a;
            }
            return value;
        }
    }

    private static final class ConvK implements Kernel {
        private final Node conv;
        private final int opset;
        private final boolean relu;
        private final Kernel base;
        private final Cache wCache = new Cache(), bCache = new Cache();

        ConvK(Node conv, int opset, boolean relu, Kernel base) {
            this.conv = conv;
            this.opset = opset;
            this.relu = relu;
            this.base = base;
        }

        @Override
        public INDArray[] run(OpContext c) {
            INDArray x = c.in(0), w = c.in(1), b = c.opt(2);
            OpContext cc = new OpContext(conv, opset, inputs(c), declared(c));
            INDArray y = small(cc, x, w, b);
            if (y == null) {
                y = base.run(cc)[0];
                if (relu) y = inPlaceRelu(y, x, w, b);
            }
            return OpContext.one(y);
        }

        private INDArray small(OpContext c, INDArray x, INDArray w, INDArray b) {
            if (x.dataType() != DataType.FLOAT || w.dataType() != DataType.FLOAT || x.rank() != 4 || w.rank() != 4) return null;
            if (b != null && (b.dataType() != DataType.FLOAT || b.rank() != 1 || b.length() != w.size(0))) return null;
            if (c.attrLong("group", 1) != 1 || x.size(1) != w.size(1)) return null;
            long[] ks = c.attrLongs("kernel_shape", null);
            if (ks != null && (ks.length != 2 || ks[0] != w.size(2) || ks[1] != w.size(3))) return null;
            for (long v : x.shape()) if (v == 0) return null;
            ConvOps.Geo g;
            try {
                g = ConvOps.forward(c, x.shape(), new long[] {w.size(2), w.size(3)}, false);
            } catch (RuntimeException e) {
                return null; // the registered kernel reports it
            }
            long macs = x.size(0) * w.size(0) * (long) g.out[0] * g.out[1] * w.size(1) * w.size(2) * w.size(3);
            if (macs > SMALL_MACS) return null;
            int n = (int) x.size(0), ci = (int) x.size(1), m = (int) w.size(0);
            float[][] y = SmallConv.conv(floats(x), n, ci, g.in[0], g.in[1], wCache.get(w), m, g.k[0], g.k[1],
                    b == null ? null : bCache.get(b), g.s[0], g.s[1], g.d[0], g.d[1], g.pb[0], g.pb[1], g.out[0], g.out[1], relu);
            return wrapRows(y, n, m, g.out[0], g.out[1]);
        }
    }

    private static final class MatMulK implements Kernel {
        private final Node mm;
        private final int opset;
        private final boolean relu;
        private final Kernel base;
        private final Cache bCache = new Cache();
        private INDArray wRowsKey;
        private float[][] wRows;

        MatMulK(Node mm, int opset, boolean relu, Kernel base) {
            this.mm = mm;
            this.opset = opset;
            this.relu = relu;
            this.base = base;
        }

        @Override
        public INDArray[] run(OpContext c) {
            INDArray a = c.in(0), w = c.in(1), bias = c.opt(2);
            INDArray[] args = {a, w};
            OpContext cc = new OpContext(mm, opset, args, Arrays.copyOf(declared(c), 2));
            if (a.dataType() == DataType.FLOAT && w.dataType() == DataType.FLOAT && a.rank() >= 2 && w.rank() == 2
                    && a.size(-1) == w.size(0) && (bias == null || bias.length() == w.size(1))) {
                long rows = a.length() / Math.max(1, a.size(-1));
                if (rows * a.size(-1) * w.size(1) <= SMALL_MACS && a.length() > 0 && w.length() > 0) {
                    int m = (int) rows, k = (int) w.size(0), n = (int) w.size(1);
                    if (w != wRowsKey) {
                        wRows = SmallConv.rows(floats(w), k, n);
                        wRowsKey = w;
                    }
                    float[][] y = SmallConv.matmul(floats(a), m, k, wRows, n, bias == null ? null : bCache.get(bias), relu);
                    long[] shape = a.shape().clone();
                    shape[shape.length - 1] = n;
                    return OpContext.one(wrapRows(y, shape));
                }
            }
            INDArray y = base.run(cc)[0];
            if (bias != null) {
                long[] bs = new long[y.rank()];
                Arrays.fill(bs, 1);
                bs[bs.length - 1] = bias.length();
                INDArray bb = bias.reshape('c', bs).castTo(y.dataType());
                INDArray z = fresh(y, a, w, bias) ? y : Nd4j.createUninitialized(y.dataType(), y.shape(), 'c');
                Nd4j.exec(new AddOp(new INDArray[] {y, bb}, new INDArray[] {z})); // in place on the fresh product
                y = z;
            }
            if (relu) y = inPlaceRelu(y, a, w, bias);
            return OpContext.one(y);
        }
    }

    private static final class PoolK implements Kernel {
        private final Kernel base;

        PoolK(Kernel base) { this.base = base; }

        @Override
        public INDArray[] run(OpContext c) {
            INDArray x = c.in(0);
            if (x.dataType() == DataType.FLOAT && x.rank() == 4 && x.length() <= SMALL_POOL && x.length() > 0
                    && c.attrLong("storage_order", 0) == 0) {
                long[] ks = c.attrLongs("kernel_shape", null);
                if (ks != null && ks.length == 2) {
                    ConvOps.Geo g = null;
                    try {
                        g = ConvOps.forward(c, x.shape(), ks, c.attrLong("ceil_mode", 0) != 0);
                    } catch (RuntimeException e) {
                        g = null;
                    }
                    if (g != null && g.out[0] > 0 && g.out[1] > 0) {
                        int n = (int) x.size(0), ch = (int) x.size(1);
                        float[] y = SmallConv.maxPool(floats(x), n * ch, g.in[0], g.in[1], g.k[0], g.k[1], g.s[0], g.s[1],
                                g.d[0], g.d[1], g.pb[0], g.pb[1], g.out[0], g.out[1]);
                        return OpContext.one(ConvOps.wrap(y, n, ch, g.out[0], g.out[1]));
                    }
                }
            }
            return base.run(c);
        }
    }

    /** A new dense float array of the given shape holding the rows one after the other. */
    static INDArray wrapRows(float[][] rows, long... shape) {
        INDArray a = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
        java.nio.FloatBuffer fb = a.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        for (float[] r : rows) fb.put(r);
        return a;
    }

    private static INDArray[] inputs(OpContext c) {
        INDArray[] a = new INDArray[c.inputCount()];
        for (int i = 0; i < a.length; i++) a[i] = c.opt(i);
        return a;
    }

    private static DType[] declared(OpContext c) {
        DType[] d = new DType[c.inputCount()];
        for (int i = 0; i < d.length; i++) d[i] = c.declaredType(i);
        return d;
    }

    private static boolean fresh(INDArray y, INDArray... ins) {
        for (INDArray i : ins) if (i != null && (i == y || i.data() == y.data())) return false;
        return true;
    }

    /** ReLU on {@code y}, in place when {@code y} shares no buffer with the inputs. */
    private static INDArray inPlaceRelu(INDArray y, INDArray... ins) {
        return Transforms.relu(y, !fresh(y, ins));
    }

    static List<String> ops() {
        return List.of(Fusion.DOMAIN + "." + Fusion.FUSED_CONV, Fusion.DOMAIN + "." + Fusion.FUSED_MATMUL,
                Fusion.DOMAIN + "." + Fusion.MATMUL_INTEGER_TO_FLOAT, Fusion.DOMAIN + "." + Fusion.FAKE_QUANT);
    }
}
