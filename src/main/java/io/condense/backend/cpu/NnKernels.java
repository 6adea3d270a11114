package io.condense.backend.cpu;

import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.DepthwiseConv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Arrays;

/**
 * CPU kernels: neural-network ops (Conv, ConvTranspose, Gemm, MatMul, pooling, normalizations, LRN).
 * float32 and float64 are computed natively; float16/bfloat16 are computed in float32 and rounded back;
 * integer inputs (MatMul/Gemm/MaxPool) are computed in float64, exact for the values these ops can carry.
 */
final class NnKernels implements KernelRegistry.Group {
    /**
     * Whether 1-D/2-D Conv runs on libnd4j's conv2d (oneDNN when the -onednn build is loaded) instead of the
     * generic im2col + GEMM path. System property {@code condense.cpu.conv=im2col} selects the generic path.
     */
    static volatile boolean nd4jConv;

    /**
     * Whether 1-D/2-D depthwise Conv prefers the direct row loops over libnd4j's depthwise_conv2d (measured ~3x
     * slower than libnd4j for 3x3, so off; the loops still serve the dilated and generic-path cases).
     */
    static volatile boolean directDepthwise;

    /** Measured defaults (1 thread, this repo's bench): with oneDNN, libnd4j conv2d ~120-150 GFLOP/s and its
     * depthwise beats the Java loops; the plain build's conv2d (~25-40) loses to im2col + GEMM and its depthwise is
     * ~7x slower than the loops. */
    static final boolean ONEDNN = NativeSetup.onednnLoaded();
    static final boolean DEFAULT_ND4J_CONV = ONEDNN && !"im2col".equals(System.getProperty("condense.cpu.conv"))
            || "nd4j".equals(System.getProperty("condense.cpu.conv"));
    static final boolean DEFAULT_DIRECT_DEPTHWISE = !ONEDNN;

    static {
        nd4jConv = DEFAULT_ND4J_CONV;
        directDepthwise = DEFAULT_DIRECT_DEPTHWISE;
    }

    /** With oneDNN, whether convs with fewer than 8 input channels per group take im2col + GEMM instead. */
    static volatile boolean im2colFewChannels = !"nd4j".equals(System.getProperty("condense.cpu.conv"));

    /** Whether batched MatMul uses libnd4j's batched matmul op rather than one GEMM per batch item. */
    static volatile boolean batchedMatmul = true;

    /** Whether 1x1 stride-1 unpadded Conv runs as a plain GEMM rather than on libnd4j's conv2d. */
    static volatile boolean gemmPointwise = true;

    /** Whether plain 1-D/2-D max/average pooling runs on libnd4j's pooling ops (property condense.cpu.pool=java: never). */
    static volatile boolean nd4jPool = !"java".equals(System.getProperty("condense.cpu.pool"));

    @Override
    public void register(KernelRegistry r) {
        r.add("Conv", NnKernels::conv);
        r.add("ConvTranspose", NnKernels::convTranspose);
        r.add("Gemm", NnKernels::gemm);
        r.add("MatMul", NnKernels::matmul);
        r.add("MaxPool", c -> pool(c, true));
        r.add("AveragePool", c -> pool(c, false));
        r.add("GlobalAveragePool", c -> globalPool(c, false));
        r.add("GlobalMaxPool", c -> globalPool(c, true));
        r.add("BatchNormalization", NnKernels::batchNorm);
        r.add("LayerNormalization", NnKernels::layerNorm);
        r.add("InstanceNormalization", NnKernels::instanceNorm);
        r.add("LRN", NnKernels::lrn);
    }

    // ---------------------------------------------------------------- types

    /** The array in its compute type: float32/float64 as is, fp16/bf16 as float32, integers as float64. */
    static INDArray up(OpContext c, INDArray a) {
        return switch (a.dataType()) {
            case FLOAT, DOUBLE -> a;
            case HALF, BFLOAT16 -> a.castTo(DataType.FLOAT);
            case BYTE, UBYTE, SHORT, UINT16, INT, UINT32, LONG, UINT64 -> a.castTo(DataType.DOUBLE);
            default -> throw c.error("unsupported input type " + a.dataType());
        };
    }

    /** Input {@code i} (optional when allowed) converted to {@code t}. */
    static INDArray as(INDArray a, DataType t) { return a == null || a.dataType() == t ? a : a.castTo(t); }

    static INDArray down(INDArray r, DataType t) { return r.dataType() == t ? r : r.castTo(t); }

    static void requireFloat(OpContext c, INDArray a) {
        DataType t = a.dataType();
        if (t != DataType.FLOAT && t != DataType.DOUBLE && t != DataType.HALF && t != DataType.BFLOAT16) {
            throw c.error("expects a floating-point input, got " + t);
        }
    }

    // ---------------------------------------------------------------- Conv

    /** X (floating, widened by up), W and optional B of Conv/ConvTranspose in X's type, after the rank checks both share. */
    private static INDArray[] convInputs(OpContext c) {
        INDArray x0 = c.in(0);
        requireFloat(c, x0);
        INDArray x = up(c, x0);
        INDArray w = as(c.in(1), x.dataType());
        INDArray b = as(c.opt(2), x.dataType());
        long[] xs = x.shape(), ws = w.shape();
        if (xs.length < 3) throw c.error("X must have rank >= 3, got shape " + Arrays.toString(xs));
        if (ws.length != xs.length) throw c.error("W rank " + ws.length + " does not match X rank " + xs.length);
        return new INDArray[] {x, w, b};
    }

    static INDArray[] conv(OpContext c) {
        INDArray[] xwb = convInputs(c);
        INDArray x = xwb[0], w = xwb[1], b = xwb[2];
        long[] xs = x.shape(), ws = w.shape();
        long group = c.attrLong("group", 1);
        if (group < 1 || xs[1] % group != 0 || ws[0] % group != 0 || ws[1] * group != xs[1]) {
            throw c.error("channels do not match: X " + Arrays.toString(xs) + ", W " + Arrays.toString(ws) + ", group " + group);
        }
        if (b != null && (b.rank() != 1 || b.length() != ws[0])) throw c.error("B must have shape [" + ws[0] + "]");
        long[] kernel = Arrays.copyOfRange(ws, 2, ws.length);
        long[] ks = c.attrLongs("kernel_shape", null);
        if (ks != null && !Arrays.equals(ks, kernel)) {
            throw c.error("kernel_shape " + Arrays.toString(ks) + " does not match W " + Arrays.toString(ws));
        }
        ConvOps.Geo g = ConvOps.forward(c, xs, kernel, false);
        for (long v : xs) if (v == 0) throw c.error("empty input " + Arrays.toString(xs));
        INDArray y = null;
        boolean depthwise = group == xs[1] && group > 1 && g.nd <= 2;
        if (directDepthwise && depthwise) {
            y = ConvOps.depthwise2d(x, w, b, g);
        } else if (nd4jConv && g.nd <= 2 && !(gemmPointwise && g.pointwise()) && !dilated(g)
                && (ws[1] >= 8 || depthwise || !ONEDNN || !im2colFewChannels)) {
            // (oneDNN is ~3x slower than im2col + GEMM with very few input channels per group, e.g. RGB input layers)
            try {
                y = nd4jConv(x, w, b, g, (int) group);
            } catch (RuntimeException e) {
                y = null; // a configuration libnd4j/oneDNN rejects: use the generic path
            }
        }
        if (y == null && depthwise) y = ConvOps.depthwise2d(x, w, b, g);
        if (y == null) y = ConvOps.conv(x, w, b, g, (int) group);
        return OpContext.one(down(y, c.in(0).dataType()));
    }

    /** oneDNN (libnd4j 1.0.0-M2.1) rejects many dilated convolutions; those go to the generic path. */
    private static boolean dilated(ConvOps.Geo g) {
        for (int v : g.d) if (v != 1) return true;
        return false;
    }

    /** 1-D or 2-D convolution on libnd4j's conv2d / depthwise_conv2d (NCHW, OIHW weights). */
    static INDArray nd4jConv(INDArray x, INDArray w, INDArray b, ConvOps.Geo g, int group) {
        boolean oneD = g.nd == 1;
        int[] k = g.k, s = g.s, d = g.d, pb = g.pb, pe = g.pe;
        if (oneD) {
            x = x.reshape('c', x.size(0), x.size(1), 1, x.size(2));
            w = w.reshape('c', w.size(0), w.size(1), 1, w.size(2));
            k = new int[] {1, k[0]}; s = new int[] {1, s[0]}; d = new int[] {1, d[0]};
            pb = new int[] {0, pb[0]}; pe = new int[] {0, pe[0]};
        }
        long pH = pb[0], pW = pb[1];
        if (pb[0] != pe[0] || pb[1] != pe[1]) {
            x = Nd4j.pad(x, new int[][] {{0, 0}, {0, 0}, {pb[0], pe[0]}, {pb[1], pe[1]}});
            pH = 0;
            pW = 0;
        }
        long C = x.size(1), M = w.size(0);
        Conv2DConfig.Conv2DConfigBuilder cb = Conv2DConfig.builder().kH(k[0]).kW(k[1]).sH(s[0]).sW(s[1])
                .pH(pH).pW(pW).dH(d[0]).dW(d[1]).paddingMode(PaddingMode.VALID).dataFormat("NCHW");
        INDArray y;
        if (group == 1) {
            y = exec(new Conv2D(args(x, w, b), null, cb.weightsFormat(WeightsFormat.OIYX).build()));
        } else if (group == C && C > 1) {
            long mult = M / C;
            INDArray wd = w.reshape('c', C, mult, k[0], k[1]).permute(2, 3, 0, 1).dup('c'); // [kH, kW, C, mult]
            y = exec(new DepthwiseConv2D(args(x, wd, b), null, cb.weightsFormat(WeightsFormat.YXIO).build()));
        } else {
            long Cg = C / group, Mg = M / group;
            Conv2DConfig cfg = cb.weightsFormat(WeightsFormat.OIYX).build();
            INDArray[] parts = new INDArray[group];
            for (int gi = 0; gi < group; gi++) {
                INDArray xg = x.get(NDArrayIndex.all(), NDArrayIndex.interval(gi * Cg, (gi + 1) * Cg)).dup('c');
                INDArray wg = w.get(NDArrayIndex.interval(gi * Mg, (gi + 1) * Mg)).dup('c');
                INDArray bg = b == null ? null : b.get(NDArrayIndex.interval(gi * Mg, (gi + 1) * Mg)).dup();
                parts[gi] = exec(new Conv2D(args(xg, wg, bg), null, cfg));
            }
            y = Nd4j.concat(1, parts);
        }
        if (oneD) y = y.reshape('c', y.size(0), y.size(1), y.size(3));
        return y;
    }

    private static INDArray[] args(INDArray x, INDArray w, INDArray b) {
        return b == null ? new INDArray[] {x, w} : new INDArray[] {x, w, b};
    }

    private static INDArray exec(org.nd4j.linalg.api.ops.CustomOp op) { return Nd4j.exec(op)[0]; }

    // ---------------------------------------------------------------- ConvTranspose

    static INDArray[] convTranspose(OpContext c) {
        INDArray[] xwb = convInputs(c);
        INDArray x = xwb[0], w = xwb[1], b = xwb[2];
        long[] xs = x.shape(), ws = w.shape();
        long group = c.attrLong("group", 1);
        if (group < 1 || xs[1] % group != 0 || ws[0] != xs[1]) {
            throw c.error("channels do not match: X " + Arrays.toString(xs) + ", W " + Arrays.toString(ws) + ", group " + group);
        }
        long M = ws[1] * group;
        if (b != null && (b.rank() != 1 || b.length() != M)) throw c.error("B must have shape [" + M + "]");
        int nd = xs.length - 2;
        long[] ks = c.attrLongs("kernel_shape", null);
        long[] kernel = Arrays.copyOfRange(ws, 2, ws.length);
        if (ks != null && !Arrays.equals(ks, kernel)) {
            throw c.error("kernel_shape " + Arrays.toString(ks) + " does not match W " + Arrays.toString(ws));
        }
        long[] s = c.attrLongs("strides", null), d = c.attrLongs("dilations", null), p = c.attrLongs("pads", null);
        long[] op = c.attrLongs("output_padding", null), oshape = c.attrLongs("output_shape", null);
        if (s != null && s.length != nd || d != null && d.length != nd || p != null && p.length != 2 * nd
                || op != null && op.length != nd) {
            throw c.error("strides/dilations/output_padding need " + nd + " values and pads " + 2 * nd);
        }
        if (oshape != null && oshape.length != nd) {
            if (oshape.length == nd + 2) oshape = Arrays.copyOfRange(oshape, 2, oshape.length);
            else throw c.error("output_shape needs " + nd + " values");
        }
        String auto = c.attrString("auto_pad", "NOTSET");
        ConvOps.Geo g = new ConvOps.Geo(nd);
        for (int i = 0; i < nd; i++) {
            int in = ConvOps.toInt(c, xs[i + 2]);
            g.out[i] = in; // x's spatial size, seen as the output of the forward conv
            g.k[i] = ConvOps.toInt(c, kernel[i]);
            g.s[i] = s == null ? 1 : ConvOps.toInt(c, s[i]);
            g.d[i] = d == null ? 1 : ConvOps.toInt(c, d[i]);
            if (g.s[i] < 1 || g.d[i] < 1 || g.k[i] < 1) throw c.error("kernel, strides and dilations must be positive");
            int adj = op == null ? 0 : ConvOps.toInt(c, op[i]);
            long natural = (long) g.s[i] * (in - 1) + adj + (long) (g.k[i] - 1) * g.d[i] + 1;
            boolean same = auto.equals("SAME_UPPER") || auto.equals("SAME_LOWER");
            if (oshape != null || same) {
                long out = oshape != null ? oshape[i] : (long) in * g.s[i];
                long total = natural - out;
                // ONNX: SAME_UPPER puts the odd padding at the end, otherwise at the start; a negative total
                // (output_shape larger than the natural size) leaves extra output at the end
                long half = Math.floorDiv(total, 2);
                if (total < 0) { g.pb[i] = 0; g.pe[i] = (int) total; }
                else if (auto.equals("SAME_UPPER")) { g.pb[i] = (int) half; g.pe[i] = (int) (total - half); }
                else { g.pb[i] = (int) (total - half); g.pe[i] = (int) half; }
                g.in[i] = ConvOps.toInt(c, out);
            } else if (auto.equals("NOTSET") || auto.equals("VALID")) {
                g.pb[i] = p == null || auto.equals("VALID") ? 0 : ConvOps.toInt(c, p[i]);
                g.pe[i] = p == null || auto.equals("VALID") ? 0 : ConvOps.toInt(c, p[i + nd]);
                long out = natural - g.pb[i] - g.pe[i];
                if (out < 1) throw c.error("output size " + out + " is not positive");
                g.in[i] = ConvOps.toInt(c, out);
            } else {
                throw c.error("unknown auto_pad '" + auto + "'");
            }
        }
        INDArray y = ConvOps.convTranspose(x, w, b, g, (int) group);
        return OpContext.one(down(y, c.in(0).dataType()));
    }

    // ---------------------------------------------------------------- Gemm / MatMul

    static INDArray[] gemm(OpContext c) {
        INDArray a0 = c.in(0);
        INDArray a = up(c, a0);
        INDArray bm = as(c.in(1), a.dataType());
        INDArray cm = as(c.opt(2), a.dataType());
        boolean ta = c.attrLong("transA", 0) != 0, tb = c.attrLong("transB", 0) != 0;
        double alpha = c.attrFloat("alpha", 1f), beta = c.attrFloat("beta", 1f);
        if (a.rank() != 2 || bm.rank() != 2) {
            throw c.error("A and B must be 2-D, got " + Arrays.toString(a.shape()) + " and " + Arrays.toString(bm.shape()));
        }
        long M = ta ? a.size(1) : a.size(0), K = ta ? a.size(0) : a.size(1);
        long K2 = tb ? bm.size(1) : bm.size(0), N = tb ? bm.size(0) : bm.size(1);
        if (K != K2) throw c.error("inner dimensions differ: A " + Arrays.toString(a.shape()) + (ta ? "^T" : "")
                + ", B " + Arrays.toString(bm.shape()) + (tb ? "^T" : ""));
        INDArray y = Nd4j.createUninitialized(a.dataType(), new long[] {M, N}, 'c');
        boolean withC = cm != null && beta != 0.0;
        if (withC) {
            if (cm.rank() > 2 || !broadcastable(cm.shape(), new long[] {M, N})) {
                throw c.error("C of shape " + Arrays.toString(cm.shape()) + " does not broadcast to [" + M + ", " + N + "]");
            }
            INDArray cc = cm.rank() == 2 ? cm : cm.reshape('c', 1, cm.rank() == 0 ? 1 : cm.length());
            y.assign(Arrays.equals(cc.shape(), y.shape()) ? cc : cc.broadcast(M, N));
        }
        if (K == 0) {
            if (withC) y.muli(beta); else y.assign(0);
        } else {
            // y = alpha * op(A) op(B) + beta * y
            INDArray r = Nd4j.gemm(ConvOps.dense(a), ConvOps.dense(bm), y, ta, tb, alpha, withC ? beta : 0.0);
            if (r != y) y.assign(r);
        }
        if (y.dataType() != a0.dataType()) y = y.castTo(a0.dataType());
        return OpContext.one(y);
    }

    private static boolean broadcastable(long[] from, long[] to) {
        if (from.length > to.length) return false;
        for (int i = 0; i < from.length; i++) {
            long f = from[from.length - 1 - i], t = to[to.length - 1 - i];
            if (f != t && f != 1) return false;
        }
        return true;
    }

    static INDArray[] matmul(OpContext c) {
        INDArray a0 = c.in(0);
        INDArray a = up(c, a0);
        INDArray bm = as(c.in(1), a.dataType());
        int ra = a.rank(), rb = bm.rank();
        if (ra == 0 || rb == 0) throw c.error("MatMul inputs must have rank >= 1");
        if (ra == 1) a = a.reshape('c', 1, a.length());
        if (rb == 1) bm = bm.reshape('c', bm.length(), 1);
        long[] as = a.shape(), bs = bm.shape();
        long M = as[as.length - 2], K = as[as.length - 1], K2 = bs[bs.length - 2], N = bs[bs.length - 1];
        if (K != K2) throw c.error("inner dimensions differ: " + Arrays.toString(a0.shape()) + " x " + Arrays.toString(c.in(1).shape()));
        long[] batchA = Arrays.copyOf(as, as.length - 2), batchB = Arrays.copyOf(bs, bs.length - 2);
        long[] batch = broadcastShape(c, batchA, batchB);
        long B = 1;
        for (long v : batch) B *= v;
        INDArray y;
        if (K == 0 || M == 0 || N == 0 || B == 0) {
            y = Nd4j.zeros(a.dataType(), concat(batch, M, N));
        } else if (batchB.length == 0 || B == 1) {
            // one GEMM: [B*M, K] x [K, N] (batch of B is all ones here)
            INDArray a2 = Nd.contiguous(a).reshape('c', B * M, K);
            INDArray b2 = Nd.contiguous(bm).reshape('c', K, N);
            y = Nd4j.createUninitialized(a.dataType(), concat(batch, M, N), 'c');
            ConvOps.gemmInto(a2, b2, y.reshape('c', B * M, N));
        } else {
            INDArray a3 = expand(a, batch, M, K).reshape('c', B, M, K);
            INDArray b3 = expand(bm, batch, K, N).reshape('c', B, K, N);
            y = null;
            if (batchedMatmul) {
                try {
                    y = Nd4j.matmul(a3, b3); // libnd4j batched matmul
                } catch (RuntimeException e) {
                    y = null;
                }
            }
            if (y == null) {
                y = Nd4j.createUninitialized(a.dataType(), new long[] {B, M, N}, 'c');
                for (long i = 0; i < B; i++) ConvOps.gemmInto(a3.slice(i), b3.slice(i), y.slice(i));
            }
            y = y.reshape('c', concat(batch, M, N));
        }
        long[] ys = y.shape();
        if (ra == 1 && rb == 1) y = y.reshape('c', new long[0]);
        else if (ra == 1) { long[] s = new long[ys.length - 1]; System.arraycopy(ys, 0, s, 0, ys.length - 2); s[s.length - 1] = N; y = y.reshape('c', s); }
        else if (rb == 1) y = y.reshape('c', Arrays.copyOf(ys, ys.length - 1));
        if (y.dataType() != a0.dataType()) y = y.castTo(a0.dataType());
        return OpContext.one(y);
    }

    private static INDArray expand(INDArray a, long[] batch, long r, long cc) {
        long[] full = concat(batch, r, cc);
        if (Arrays.equals(a.shape(), full)) return Nd.contiguous(a);
        long[] s = new long[full.length];
        Arrays.fill(s, 1);
        long[] as = a.shape();
        System.arraycopy(as, 0, s, full.length - as.length, as.length);
        return a.reshape('c', s).broadcast(full).dup('c');
    }

    private static long[] concat(long[] batch, long m, long n) {
        long[] s = Arrays.copyOf(batch, batch.length + 2);
        s[batch.length] = m;
        s[batch.length + 1] = n;
        return s;
    }

    static long[] broadcastShape(OpContext c, long[] x, long[] y) {
        int r = Math.max(x.length, y.length);
        long[] s = new long[r];
        for (int i = 0; i < r; i++) {
            long a = i < r - x.length ? 1 : x[i - (r - x.length)];
            long b = i < r - y.length ? 1 : y[i - (r - y.length)];
            if (a != b && a != 1 && b != 1) throw c.error("shapes " + Arrays.toString(x) + " and " + Arrays.toString(y) + " do not broadcast");
            s[i] = a == 1 ? b : a;
        }
        return s;
    }

    // ---------------------------------------------------------------- pooling

    static INDArray[] pool(OpContext c, boolean max) {
        INDArray x0 = c.in(0);
        INDArray x = up(c, x0);
        long[] ks = c.attrLongs("kernel_shape", null);
        if (ks == null) throw c.error("kernel_shape is required");
        ConvOps.Geo g = ConvOps.forward(c, x.shape(), ks, c.attrLong("ceil_mode", 0) != 0);
        boolean wantIdx = max && c.node().outputs().size() > 1 && !c.node().output(1).isEmpty();
        int storage = (int) c.attrLong("storage_order", 0);
        if (!max && c.node().hasAttr("dilations") && c.opset() < 19) throw c.error("AveragePool dilations need opset 19");
        boolean cip = c.attrLong("count_include_pad", 0) != 0;
        if (!wantIdx && nd4jPool) {
            INDArray y = null;
            try {
                y = nd4jPool(x, g, max, cip);
            } catch (RuntimeException e) {
                y = null; // a configuration libnd4j rejects: use the generic path
            }
            if (y != null) return OpContext.one(down(y, x0.dataType()));
        }
        ConvOps.PoolResult r = ConvOps.pool(x, g, max, cip, wantIdx, storage);
        INDArray y = down(r.y(), x0.dataType());
        return wantIdx ? new INDArray[] {y, r.indices()} : OpContext.one(y);
    }

    /** 1-D/2-D pooling on libnd4j (oneDNN when loaded), or null when the geometry is outside what it computes. */
    static INDArray nd4jPool(INDArray x, ConvOps.Geo g, boolean max, boolean countIncludePad) {
        if (g.nd > 2 || x.dataType() != DataType.FLOAT && x.dataType() != DataType.DOUBLE) return null;
        for (int v : g.d) if (v != 1) return null;
        boolean oneD = g.nd == 1;
        int[] k = g.k, s = g.s, pb = g.pb, pe = g.pe, in = g.in, out = g.out;
        if (oneD) {
            x = x.reshape('c', x.size(0), x.size(1), 1, x.size(2));
            k = new int[] {1, k[0]}; s = new int[] {1, s[0]}; pb = new int[] {0, pb[0]}; pe = new int[] {0, pe[0]};
            in = new int[] {1, in[0]}; out = new int[] {1, out[0]};
        }
        boolean padded = pb[0] != 0 || pb[1] != 0 || pe[0] != 0 || pe[1] != 0;
        // libnd4j M2.1 ignores the INCLUDE_PADDING divisor mode (it always excludes padding)
        if (!max && countIncludePad && padded) return null;
        long pH = pb[0], pW = pb[1];
        if (pb[0] != pe[0] || pb[1] != pe[1]) {
            if (!max) return null; // the divisor would count the explicit padding
            x = Nd4j.pad(x, new int[][] {{0, 0}, {0, 0}, {pb[0], pe[0]}, {pb[1], pe[1]}},
                    org.nd4j.linalg.api.ops.impl.transforms.Pad.Mode.CONSTANT, Double.NEGATIVE_INFINITY);
            in = new int[] {in[0] + pb[0] + pe[0], in[1] + pb[1] + pe[1]};
            pH = 0;
            pW = 0;
        }
        for (int i = 0; i < 2; i++) {
            long p = i == 0 ? pH : pW;
            if ((in[i] + 2 * p - k[i]) / s[i] + 1 != out[i]) return null; // ceil_mode adding a window
        }
        org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig cfg =
                org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig.builder()
                        .kH(k[0]).kW(k[1]).sH(s[0]).sW(s[1]).pH(pH).pW(pW).dH(1).dW(1)
                        .paddingMode(PaddingMode.VALID).isNHWC(false)
                        .type(max ? org.nd4j.linalg.api.ops.impl.layers.convolution.Pooling2D.Pooling2DType.MAX
                                : org.nd4j.linalg.api.ops.impl.layers.convolution.Pooling2D.Pooling2DType.AVG)
                        .divisor(countIncludePad ? org.nd4j.linalg.api.ops.impl.layers.convolution.Pooling2D.Divisor.INCLUDE_PADDING
                                : org.nd4j.linalg.api.ops.impl.layers.convolution.Pooling2D.Divisor.EXCLUDE_PADDING)
                        .build();
        INDArray xc = Nd.contiguous(x);
        INDArray y = max ? exec(new org.nd4j.linalg.api.ops.impl.layers.convolution.MaxPooling2D(xc, null, cfg))
                : exec(new org.nd4j.linalg.api.ops.impl.layers.convolution.AvgPooling2D(xc, null, cfg));
        if (oneD) y = y.reshape('c', y.size(0), y.size(1), y.size(3));
        return y;
    }

    static INDArray[] globalPool(OpContext c, boolean max) {
        INDArray x0 = c.in(0);
        INDArray x = up(c, x0);
        long[] xs = x.shape();
        if (xs.length < 3) throw c.error("X must have rank >= 3, got " + Arrays.toString(xs));
        long[] os = xs.clone();
        for (int i = 2; i < os.length; i++) os[i] = 1;
        long NC = xs[0] * xs[1], S = x.length() / Math.max(1, NC);
        INDArray y;
        if (max || NC * S == 0) {
            y = Nd.contiguous(x).reshape('c', xs[0], xs[1], S).max(2).reshape('c', os);
        } else {
            // mean over S as a matrix-vector product with ones / S
            y = Nd4j.createUninitialized(x.dataType(), new long[] {NC, 1}, 'c');
            INDArray r = Nd4j.gemm(Nd.contiguous(x).reshape('c', NC, S), ConvOps.ones(x.dataType(), S), y, false, true, 1.0 / S, 0.0);
            if (r != y) y.assign(r);
            y = y.reshape('c', os);
        }
        return OpContext.one(down(y, x0.dataType()));
    }

    // ---------------------------------------------------------------- normalizations

    static INDArray[] batchNorm(OpContext c) {
        if (c.opset() >= 14 && c.attrLong("training_mode", 0) != 0) {
            throw c.error("BatchNormalization with training_mode=1 is not supported (inference only)");
        }
        for (int i = 1; i < c.node().outputs().size(); i++) {
            if (!c.node().output(i).isEmpty()) {
                throw c.error("BatchNormalization training outputs (mean/var) are not supported (inference only)");
            }
        }
        INDArray x0 = c.in(0);
        requireFloat(c, x0);
        INDArray x = up(c, x0);
        DataType t = x.dataType();
        INDArray scale = as(up(c, c.in(1)), t), bias = as(up(c, c.in(2)), t);
        INDArray mean = as(up(c, c.in(3)), t), var = as(up(c, c.in(4)), t);
        double eps = c.attrFloat("epsilon", 1e-5f);
        long[] xs = x.shape();
        if (xs.length < 2) throw c.error("X must have rank >= 2");
        INDArray xc = Nd.contiguous(x);
        INDArray y;
        if (scale.rank() <= 1) {
            if (scale.length() != xs[1] || bias.length() != xs[1] || mean.length() != xs[1] || var.length() != xs[1]) {
                throw c.error("scale, B, mean and var must have " + xs[1] + " values");
            }
            long rest = x.length() / (xs[0] * xs[1]);
            y = normalizeChannels(xc.reshape('c', xs[0], xs[1], rest), mean.reshape(xs[1]), var.reshape(xs[1]),
                    scale.reshape(xs[1]), bias.reshape(xs[1]), eps).reshape('c', xs);
        } else {
            // spatial=0 (opset 7-8): per-activation parameters of shape [C, D1, ...]
            INDArray a = Transforms.sqrt(var.add(eps), false).rdivi(1.0).muli(scale);
            INDArray bb = bias.sub(mean.mul(a));
            long[] ps = new long[xs.length];
            ps[0] = 1;
            System.arraycopy(a.shape(), 0, ps, 1, a.rank());
            if (!broadcastable(ps, xs)) throw c.error("scale shape " + Arrays.toString(a.shape()) + " does not fit X " + Arrays.toString(xs));
            y = xc.mul(a.reshape('c', ps).broadcast(xs)).addi(bb.reshape('c', ps).broadcast(xs));
        }
        return OpContext.one(down(y, x0.dataType()));
    }

    /**
     * y[n, c, s] = (x[n, c, s] - mean[c]) / sqrt(var[c] + eps) * scale[c] + bias[c] for a dense x [N, C, S], on
     * libnd4j's batchnorm op (one pass; broadcast ops are several times slower).
     */
    static INDArray normalizeChannels(INDArray x3, INDArray mean, INDArray var, INDArray scale, INDArray bias, double eps) {
        try {
            // as 4-D [N, C, S, 1]: libnd4j's fast (oneDNN) batchnorm wants rank 4 or 5, rank 3 is ~2x slower
            long[] s3 = x3.shape();
            INDArray y = exec(new org.nd4j.linalg.api.ops.impl.layers.convolution.BatchNorm(x3.reshape('c', s3[0], s3[1], s3[2], 1),
                    mean.dup(), var.dup(), scale.dup(), bias.dup(), eps, 1));
            return y.reshape('c', s3);
        } catch (RuntimeException e) {
            INDArray a = Transforms.sqrt(var.add(eps), false).rdivi(1.0).muli(scale);
            INDArray b = bias.sub(mean.mul(a));
            INDArray y = Nd4j.createUninitialized(x3.dataType(), x3.shape(), 'c');
            Broadcast.mul(x3, a, y, 1);
            Broadcast.add(y, b, y, 1);
            return y;
        }
    }

    static INDArray[] layerNorm(OpContext c) {
        INDArray x0 = c.in(0);
        requireFloat(c, x0);
        INDArray x = up(c, x0);
        DataType t = x.dataType();
        long[] xs = x.shape();
        int r = xs.length;
        long axis = c.attrLong("axis", -1);
        if (axis < -r || axis >= r) throw c.error("axis " + axis + " out of range for rank " + r);
        int ax = (int) (axis < 0 ? axis + r : axis);
        double eps = c.attrFloat("epsilon", 1e-5f);
        long outer = 1, inner = 1;
        for (int i = 0; i < ax; i++) outer *= xs[i];
        for (int i = ax; i < r; i++) inner *= xs[i];
        long[] normShape = Arrays.copyOfRange(xs, ax, r);
        if (outer * inner > Integer.MAX_VALUE - 8) throw c.error("input too large");
        INDArray sc = param(c, c.in(1), normShape, t, "Scale");
        INDArray bi = c.has(2) ? param(c, c.in(2), normShape, t, "B") : null;
        RowNorm rn = rowNorm(x, (int) outer, (int) inner, eps, sc, bi, null, null, 1);
        INDArray y = rn.y, mean = rn.mean, inv = rn.inv;
        INDArray[] outs = new INDArray[Math.max(1, c.node().outputs().size())];
        outs[0] = down(y.reshape('c', xs), x0.dataType());
        long[] statShape = xs.clone();
        for (int i = ax; i < r; i++) statShape[i] = 1;
        DataType u = t == DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT;
        if (outs.length > 1) outs[1] = as(mean.reshape('c', statShape), u);
        if (outs.length > 2) outs[2] = as(inv.reshape('c', statShape), u);
        return outs;
    }

    /** Normalized rows and their statistics ([rows] arrays). */
    record RowNorm(INDArray y, INDArray mean, INDArray inv) {}

    /**
     * Normalizes each of {@code rows} contiguous rows of length L of x: (x - mean) / sqrt(var + eps), then scales by
     * colScale[j]/adds colBias[j] (per position in the row, LayerNorm) or rowScale[r % C]/rowBias[r % C] (per channel,
     * InstanceNorm). Statistics accumulate in double, two-pass.
     */
    static RowNorm rowNorm(INDArray x, int rows, int L, double eps, INDArray colScale, INDArray colBias,
                           INDArray rowScale, INDArray rowBias, int C) {
        boolean dbl = x.dataType() == DataType.DOUBLE;
        double[] cs = colScale == null ? null : ConvOps.doublesOf(colScale), cb = colBias == null ? null : ConvOps.doublesOf(colBias);
        double[] rs = rowScale == null ? null : ConvOps.doublesOf(rowScale), rb = rowBias == null ? null : ConvOps.doublesOf(rowBias);
        double[] means = new double[rows], invs = new double[rows];
        INDArray y;
        if (dbl) {
            double[] xd = ConvOps.doublesOf(x);
            ConvOps.par(rows, 3L * L, r -> {
                int b = r * L;
                double sum = 0;
                for (int j = 0; j < L; j++) sum += xd[b + j];
                double m = sum / L, sq = 0;
                for (int j = 0; j < L; j++) { double d = xd[b + j] - m; sq += d * d; }
                double inv = 1.0 / Math.sqrt(sq / L + eps);
                means[r] = m;
                invs[r] = inv;
                double a = rs == null ? inv : inv * rs[r % C], off = rb == null ? 0 : rb[r % C];
                for (int j = 0; j < L; j++) {
                    double v = (xd[b + j] - m) * a;
                    if (cs != null) v *= cs[j];
                    if (cb != null) v += cb[j];
                    xd[b + j] = v + off;
                }
            });
            y = ConvOps.wrap(xd, x.shape());
        } else {
            float[] xf = ConvOps.floatsOf(x);
            float[] csf = cs == null ? null : toFloats(cs), cbf = cb == null ? null : toFloats(cb);
            ConvOps.par(rows, 3L * L, r -> {
                int b = r * L;
                double sum = 0;
                for (int j = 0; j < L; j++) sum += xf[b + j];
                double m = sum / L, sq = 0;
                for (int j = 0; j < L; j++) { double d = xf[b + j] - m; sq += d * d; }
                double inv = 1.0 / Math.sqrt(sq / L + eps);
                means[r] = m;
                invs[r] = inv;
                float a = (float) (rs == null ? inv : inv * rs[r % C]), off = (float) (rb == null ? 0 : rb[r % C]), mf = (float) m;
                if (csf == null) {
                    for (int j = 0; j < L; j++) xf[b + j] = (xf[b + j] - mf) * a + off;
                } else if (cbf == null) {
                    for (int j = 0; j < L; j++) xf[b + j] = (xf[b + j] - mf) * a * csf[j];
                } else {
                    for (int j = 0; j < L; j++) xf[b + j] = (xf[b + j] - mf) * a * csf[j] + cbf[j];
                }
            });
            y = ConvOps.wrap(xf, x.shape());
        }
        INDArray mean = dbl ? ConvOps.wrap(means, rows) : ConvOps.wrap(toFloats(means), rows);
        INDArray inv = dbl ? ConvOps.wrap(invs, rows) : ConvOps.wrap(toFloats(invs), rows);
        return new RowNorm(y, mean, inv);
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /** A LayerNormalization parameter broadcast to the normalized shape, flattened to a row [inner]. */
    private static INDArray param(OpContext c, INDArray p, long[] normShape, DataType t, String what) {
        p = as(up(c, p), t);
        long inner = 1;
        for (long v : normShape) inner *= v;
        if (p.length() == inner && Arrays.equals(p.shape(), normShape)) return Nd.contiguous(p).reshape('c', 1, inner);
        if (!broadcastable(p.shape(), normShape)) {
            throw c.error(what + " of shape " + Arrays.toString(p.shape()) + " does not broadcast to " + Arrays.toString(normShape));
        }
        long[] s = new long[normShape.length];
        Arrays.fill(s, 1);
        System.arraycopy(p.shape(), 0, s, s.length - p.rank(), p.rank());
        return p.reshape('c', s).broadcast(normShape).dup('c').reshape('c', 1, inner);
    }

    static INDArray[] instanceNorm(OpContext c) {
        INDArray x0 = c.in(0);
        requireFloat(c, x0);
        INDArray x = up(c, x0);
        DataType t = x.dataType();
        long[] xs = x.shape();
        if (xs.length < 3) throw c.error("X must have rank >= 3, got " + Arrays.toString(xs));
        INDArray scale = as(up(c, c.in(1)), t), bias = as(up(c, c.in(2)), t);
        if (scale.length() != xs[1] || bias.length() != xs[1]) throw c.error("scale and B must have " + xs[1] + " values");
        double eps = c.attrFloat("epsilon", 1e-5f);
        long S = x.length() / (xs[0] * xs[1]);
        if (x.length() > Integer.MAX_VALUE - 8) throw c.error("input too large");
        INDArray y = rowNorm(x, (int) (xs[0] * xs[1]), (int) S, eps, null, null, scale, bias, (int) xs[1]).y;
        return OpContext.one(down(y.reshape('c', xs), x0.dataType()));
    }

    static INDArray[] lrn(OpContext c) {
        INDArray x0 = c.in(0);
        requireFloat(c, x0);
        long size = c.attrLong("size", -1);
        if (size < 1) throw c.error("size must be a positive integer");
        double alpha = c.attrFloat("alpha", 1e-4f), beta = c.attrFloat("beta", 0.75f), bias = c.attrFloat("bias", 1f);
        long[] xs = x0.shape();
        if (xs.length < 3) throw c.error("X must have rank >= 3, got " + Arrays.toString(xs));
        int N = (int) xs[0], C = (int) xs[1];
        int S = (int) (x0.length() / Math.max(1, (long) N * C));
        double[] xd = ConvOps.doublesOf(x0);
        double[] y = new double[xd.length];
        int lo = (int) ((size - 1) / 2), hi = (int) (size - 1 - (size - 1) / 2);
        double scale = alpha / size;
        ConvOps.par(N, 3L * C * S, n -> {
            double[] sq = new double[C + 1];
            int base = n * C * S;
            for (int s = 0; s < S; s++) {
                for (int ch = 0; ch < C; ch++) {
                    double v = xd[base + ch * S + s];
                    sq[ch + 1] = sq[ch] + v * v;
                }
                for (int ch = 0; ch < C; ch++) {
                    int a = Math.max(0, ch - lo), b = Math.min(C - 1, ch + hi);
                    double sum = sq[b + 1] - sq[a];
                    int i = base + ch * S + s;
                    y[i] = xd[i] / Math.pow(bias + scale * sum, beta);
                }
            }
        });
        return OpContext.one(down(ConvOps.wrap(y, xs), x0.dataType()));
    }
}
