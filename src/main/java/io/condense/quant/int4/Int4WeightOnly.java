package io.condense.quant.int4;

import io.condense.backend.Backend;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.stats.LayerMoments;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.passes.GraphPass;
import io.condense.quant.QParams;
import io.condense.quant.QdqEditor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Weight-only 4-bit quantization of Gemm/MatMul weights, group-wise along the input (K) dimension, with
 * round-to-nearest or GPTQ ({@link Gptq}). The result stores each weight as an INT4 (symmetric) or UINT4
 * (asymmetric) initializer read by an opset-21 blocked DequantizeLinear ({@code axis} = the K axis,
 * {@code block_size} = the group); activations stay float. The graph's default-domain opset is raised to 21
 * (refused with a ModelException naming the node when one of its ops changed meaning on the way).
 *
 * <p>Calibration data (required for GPTQ, optional for RTN) also gives each layer's relative output error
 * {@code ||W X - Wq X|| / ||W X||} of RTN and (with GPTQ) of GPTQ, over the layer's calibration inputs
 * ({@link #reports()}).
 */
public final class Int4WeightOnly implements GraphPass {
    public enum Method { RTN, GPTQ, /** activation-aware scaling (Lin et al. 2023), then RTN */ AWQ }

    /** How quantized MatMul weights are exported. */
    public enum Format {
        /** opset-21 blocked DequantizeLinear feeding the original MatMul/Gemm (any ONNX runtime, TensorRT) */
        QDQ,
        /** com.microsoft MatMulNBits (ONNX Runtime's fused low-bit kernel); embedding tables stay DequantizeLinear -> Gather */
        MATMUL_NBITS
    }

    /**
     * @param bits               4 (INT4/UINT4) or 8 (INT8/UINT8)
     * @param embeddings         also quantize Gather embedding tables (RTN; blocks along the hidden axis)
     * @param format             export form of the MatMul weights ({@link Format})
     * @param group              group size along K (e.g. 32, 64, 128)
     * @param method             RTN or GPTQ
     * @param symmetric          true: INT4 -8..7 with zero point 0 (scale amax/7); false: UINT4 0..15 with a zero point
     * @param calibrationSamples samples (rows of the layer inputs) read for the Hessians at most (0 = all)
     * @param damp               GPTQ damping relative to the mean Hessian diagonal (0.01)
     * @param blockColumns       GPTQ lazy-update block width (128)
     */
    public record Config(int bits, int group, Method method, boolean symmetric, int calibrationSamples, double damp, int blockColumns,
                         boolean embeddings, Format format) {
        public Config {
            if (bits != 4 && bits != 8) throw new ModelException("weight-only quantization supports 4 or 8 bits, got " + bits);
            if (group < 2) throw new ModelException("group size must be >= 2, got " + group);
            if (format == null) format = Format.QDQ;
            if (format == Format.MATMUL_NBITS && (group < 16 || Integer.bitCount(group) != 1)) {
                throw new ModelException("MatMulNBits needs a power-of-two group size >= 16, got " + group);
            }
            if (method == null) method = Method.GPTQ;
            if (calibrationSamples < 0) throw new ModelException("calibration samples must be >= 0, got " + calibrationSamples);
            if (!(damp >= 0) || damp > 10) throw new ModelException("damping must be in [0, 10], got " + damp);
            if (blockColumns < 1) throw new ModelException("block columns must be >= 1, got " + blockColumns);
        }

        /**
         * Defaults: 4 bits, asymmetric (UINT4 with a zero point per group: all 16 levels cover each group's
         * [min, max]; symmetric INT4 uses 15 levels of amax/7), GPTQ damping 0.01, QDQ export. Asymmetric measured
         * better on MiniLM-L6 with GPTQ g32: mean cosine 0.9856 vs 0.9765 symmetric (150 held-out sentences).
         */
        public static Config of(int group, Method method) { return new Config(4, group, method, false, 0, 0.01, 128, false, Format.QDQ); }

        public Config withSymmetric(boolean s) { return new Config(bits, group, method, s, calibrationSamples, damp, blockColumns, embeddings, format); }

        public Config withCalibrationSamples(int n) { return new Config(bits, group, method, symmetric, n, damp, blockColumns, embeddings, format); }

        public Config withDamp(double d) { return new Config(bits, group, method, symmetric, calibrationSamples, d, blockColumns, embeddings, format); }

        public Config withBits(int b) { return new Config(b, group, method, symmetric, calibrationSamples, damp, blockColumns, embeddings, format); }

        /** Also quantize the embedding tables Gather reads (2-D float initializers, gathered along axis 0; blocks along the hidden axis). */
        public Config withEmbeddings(boolean e) { return new Config(bits, group, method, symmetric, calibrationSamples, damp, blockColumns, e, format); }

        public Config withFormat(Format f) { return new Config(bits, group, method, symmetric, calibrationSamples, damp, blockColumns, embeddings, f); }
    }

    /**
     * Per quantized weight: rows (output features) x cols (K), relative output errors of RTN and GPTQ on the
     * calibration inputs (NaN when not computed), and float/int4 storage bytes (codes + scales + zero points).
     */
    public record LayerReport(String node, String weight, int rows, int cols, double rtnError, double gptqError, long floatBytes, long quantBytes) {}

    private final Config cfg;
    private final Iterable<Map<String, Tensor>> data;
    private final PrintStream progress;
    private final Backend backend;
    private final List<LayerReport> reports = new ArrayList<>();
    private final Map<String, Tensor> dequantized = new LinkedHashMap<>();

    /**
     * @param data     calibration feeds (graph inputs per batch); null for RTN without error reports
     * @param progress one line per layer, or null
     */
    public Int4WeightOnly(Config cfg, Iterable<Map<String, Tensor>> data, PrintStream progress) {
        this(cfg, data, progress, null);
    }

    /** As above, running the calibration inputs through {@code backend} (null: the CPU backend). */
    public Int4WeightOnly(Config cfg, Iterable<Map<String, Tensor>> data, PrintStream progress, Backend backend) {
        this.backend = backend;
        this.cfg = cfg;
        this.data = data;
        this.progress = progress;
        if (cfg.method() != Method.RTN && data == null) {
            throw new ModelException(cfg.method() + " needs calibration data (the layer inputs); give calibration data or use RTN");
        }
    }

    @Override
    public String name() { return "int" + cfg.bits() + "-" + cfg.method().name().toLowerCase(Locale.ROOT) + "-g" + cfg.group(); }

    /** Reports of the last {@link #apply}. */
    public List<LayerReport> reports() { return List.copyOf(reports); }

    /**
     * The float32 values the exported DequantizeLinear nodes produce, by original weight name (for fake-quant
     * simulation: the float graph with these initializers computes what the quantized graph computes).
     */
    public Map<String, Tensor> dequantizedWeights() { return Map.copyOf(dequantized); }

    /** A weight to quantize: the initializer, its readers (node index) and whether it is stored [N, K] (Gemm transB=1). */
    private static final class Site {
        final String weight;
        final List<Integer> nodes = new ArrayList<>();
        final List<String> activations = new ArrayList<>();
        final List<Boolean> transA = new ArrayList<>();
        final boolean kLast; // weight layout [N, K] (K axis 1) rather than [K, N] (K axis 0)
        double[][] xxt;
        LayerMoments moments;
        long samples;
        double rtnError = Double.NaN, awqError = Double.NaN;

        Site(String weight, boolean kLast) {
            this.weight = weight;
            this.kLast = kLast;
        }
    }

    @Override
    public Graph apply(Graph g) {
        reports.clear();
        dequantized.clear();
        Map<String, Site> sites = plan(g);
        Map<String, List<Integer>> tables = cfg.embeddings() ? embeddingPlan(g) : Map.of();
        if (sites.isEmpty() && tables.isEmpty()) throw new ModelException("no Gemm/MatMul with a 2-D float32 weight initializer to quantize");
        if (data != null && !sites.isEmpty()) collectHessians(g, sites);
        if (cfg.method() == Method.AWQ) {
            Map<String, float[]> scales = awqScales(g, sites);
            if (!scales.isEmpty()) {
                Map<String, Site> before = sites;
                g = io.condense.quant.SmoothQuant.applyScales(g, scales, null);
                sites = plan(g);
                tables = cfg.embeddings() ? embeddingPlan(g) : Map.of();
                for (Site s : sites.values()) {
                    Site old = before.get(s.weight);
                    if (old != null) {
                        s.awqError = old.awqError;
                        s.rtnError = old.rtnError;
                    }
                }
            }
        }
        DType codeType = cfg.bits() == 4 ? (cfg.symmetric() ? DType.INT4 : DType.UINT4) : (cfg.symmetric() ? DType.INT8 : DType.UINT8);
        Map<Integer, Node> replace = new LinkedHashMap<>();
        Map<String, Tensor> nbitsInits = new LinkedHashMap<>();
        List<Pending> pending = new ArrayList<>();
        for (Site s : sites.values()) {
            Tensor wt = g.initializers().get(s.weight);
            double[][] w = matrix(wt, s.kLast);
            int rows = w.length, cols = w[0].length;
            Gptq.Result rtn = Gptq.rtn(w, cfg.group(), cfg.bits(), cfg.symmetric());
            Gptq.Result chosen = rtn;
            double rtnErr = Double.NaN, qErr = Double.NaN;
            if (s.xxt != null) rtnErr = Gptq.relativeError(w, rtn.dequantized(), s.xxt);
            if (cfg.method() == Method.GPTQ) {
                if (s.xxt == null) throw new ModelException("GPTQ: no calibration inputs reached '" + s.weight + "'");
                chosen = Gptq.gptq(w, s.xxt, s.samples, cfg.group(), cfg.bits(), cfg.symmetric(), cfg.damp(), cfg.blockColumns());
                qErr = Gptq.relativeError(w, chosen.dequantized(), s.xxt);
            } else if (cfg.method() == Method.AWQ) {
                rtnErr = s.rtnError;
                qErr = s.awqError;
            }
            QParams p = params(chosen, s.kLast, cfg.symmetric(), codeType);
            Tensor codes = codes(chosen, s.kLast, wt.shape(), codeType);
            dequantized.put(s.weight, p.dequantize(codes));
            if (cfg.format() == Format.MATMUL_NBITS && nbitsCapable(g, s)) {
                matMulNBits(g, s, chosen, replace, nbitsInits);
            } else {
                pending.add(new Pending(s.weight, codes, p, s.nodes, 1));
            }
            long qBytes = (codes.size() * cfg.bits() + 7) / 8 + p.scale().size() * 4L + (cfg.symmetric() ? 0 : (p.zeroPoint().size() * cfg.bits() + 7) / 8);
            LayerReport rep = new LayerReport(g.nodes().get(s.nodes.get(0)).name(), s.weight, rows, cols, rtnErr, qErr, wt.size() * 4L, qBytes);
            reports.add(rep);
            if (progress != null) {
                progress.printf(Locale.ROOT, "%s %s [%d x %d] group %d: %s%s%n", rep.node(), s.weight, rows, cols, cfg.group(),
                        Double.isNaN(rtnErr) ? "RTN (no calibration data: output error not measured)" : String.format(Locale.ROOT, "rel. output error RTN %.5f", rtnErr),
                        Double.isNaN(qErr) ? "" : String.format(Locale.ROOT, " %s %.5f", cfg.method(), qErr));
            }
        }
        for (Map.Entry<String, List<Integer>> t : tables.entrySet()) {
            Tensor wt = g.initializers().get(t.getKey());
            double[][] w = matrix(wt, true); // [V, H]: blocks along H
            Gptq.Result q = Gptq.rtn(w, cfg.group(), cfg.bits(), cfg.symmetric());
            QParams p = params(q, true, cfg.symmetric(), codeType);
            Tensor codes = codes(q, true, wt.shape(), codeType);
            dequantized.put(t.getKey(), p.dequantize(codes));
            pending.add(new Pending(t.getKey(), codes, p, t.getValue(), 0));
            long qBytes = (codes.size() * cfg.bits() + 7) / 8 + p.scale().size() * 4L;
            LayerReport rep = new LayerReport(g.nodes().get(t.getValue().get(0)).name(), t.getKey(), (int) wt.dim(0), (int) wt.dim(1), Double.NaN, Double.NaN,
                    wt.size() * 4L, qBytes);
            reports.add(rep);
            if (progress != null) {
                progress.printf(Locale.ROOT, "%s %s [%d x %d] group %d: embedding table, RTN%n", rep.node(), t.getKey(), rep.rows(), rep.cols(), cfg.group());
            }
        }
        Graph base = g;
        if (!replace.isEmpty()) {
            List<Node> nodes = new ArrayList<>(g.nodes());
            replace.forEach(nodes::set);
            Graph.Builder b = g.toBuilder().nodes(nodes);
            nbitsInits.forEach(b::initializer);
            if (!g.opsets().containsKey("com.microsoft")) b.opset("com.microsoft", 1);
            base = b.build();
        }
        QdqEditor e = new QdqEditor(base);
        for (Pending pd : pending) {
            String dq = e.weight(pd.weight, pd.codes, pd.params);
            for (int i : pd.nodes) e.rewire(i, pd.input, dq);
        }
        return e.build();
    }

    private record Pending(String weight, Tensor codes, QParams params, List<Integer> nodes, int input) {}

    /** Gather nodes (axis 0) whose data is a 2-D float32 initializer, by table. */
    private static Map<String, List<Integer>> embeddingPlan(Graph g) {
        Set<String> inputs = new HashSet<>();
        for (ValueInfo v : g.inputs()) inputs.add(v.name());
        Map<String, List<Integer>> m = new LinkedHashMap<>();
        for (int i = 0; i < g.nodes().size(); i++) {
            Node n = g.nodes().get(i);
            if (!n.domain().isEmpty() || !n.opType().equals("Gather") || n.attrLong("axis", 0) != 0) continue;
            Tensor t = inputs.contains(n.input(0)) ? null : g.initializers().get(n.input(0));
            if (t == null || t.dtype() != DType.FLOAT32 || t.rank() != 2) continue;
            m.computeIfAbsent(n.input(0), k -> new ArrayList<>()).add(i);
        }
        // a table also read by something else than a Gather (e.g. a tied output projection) stays float
        Map<String, List<Node>> readers = g.consumers();
        m.keySet().removeIf(t -> readers.get(t).stream().anyMatch(n -> !n.opType().equals("Gather")));
        return m;
    }

    /**
     * AWQ (Lin et al., "AWQ: Activation-aware Weight Quantization for LLM Compression and Acceleration", MLSys 2024):
     * per activation X read by a group of weights, the input-channel scale {@code s = a^alpha} (a_j the RMS of X_j,
     * from the Hessian diagonal; s normalized to geometric mean 1 of its extremes) with alpha on a grid 0, 0.1, ..., 1
     * minimizing the group's output error {@code sum ||(W - Q(W diag s) diag(1/s)) X||^2}; alpha 0 is plain RTN.
     */
    private Map<String, float[]> awqScales(Graph g, Map<String, Site> sites) {
        Map<String, List<Site>> byX = new LinkedHashMap<>();
        for (Site s : sites.values()) {
            if (s.activations.stream().distinct().count() != 1 || s.xxt == null) continue;
            byX.computeIfAbsent(s.activations.get(0), k -> new ArrayList<>()).add(s);
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        Map<String, Set<String>> scalable = io.condense.quant.SmoothQuant.weightGroups(g);
        for (Map.Entry<String, List<Site>> e : byX.entrySet()) {
            List<Site> group = e.getValue();
            Set<String> names = new HashSet<>();
            for (Site s : group) names.add(s.weight);
            if (!names.equals(scalable.get(e.getKey()))) continue; // the 1/s could not be applied to exactly this group
            double[][] h = group.get(0).xxt;
            int k = h.length;
            double[] a = new double[k];
            for (int j = 0; j < k; j++) a[j] = Math.sqrt(Math.max(0, h[j][j]) / Math.max(1, group.get(0).samples));
            INDArray hm = Nd4j.create(h);
            List<double[][]> ws = new ArrayList<>();
            double den = 0;
            for (Site s : group) {
                double[][] w = matrix(g.initializers().get(s.weight), s.kLast);
                ws.add(w);
                den += quadSum(Nd4j.create(w), hm);
            }
            double best = Double.POSITIVE_INFINITY, bestAlpha = 0, rtnErr = 0;
            float[] bestS = null;
            for (int step = 0; step <= 10; step++) {
                double alpha = step / 10.0;
                double[] sc = new double[k];
                double lo = Double.POSITIVE_INFINITY, hi = 0;
                for (int j = 0; j < k; j++) {
                    sc[j] = Math.max(1e-4, Math.pow(Math.max(a[j], 1e-8), alpha));
                    lo = Math.min(lo, sc[j]);
                    hi = Math.max(hi, sc[j]);
                }
                double norm = Math.sqrt(lo * hi);
                for (int j = 0; j < k; j++) sc[j] /= norm;
                double err = 0;
                for (double[][] w : ws) {
                    int rows = w.length;
                    double[][] scaled = new double[rows][k];
                    for (int r = 0; r < rows; r++) for (int j = 0; j < k; j++) scaled[r][j] = w[r][j] * sc[j];
                    Gptq.Result q = Gptq.rtn(scaled, cfg.group(), cfg.bits(), cfg.symmetric());
                    double[][] d = new double[rows][k];
                    for (int r = 0; r < rows; r++) for (int j = 0; j < k; j++) d[r][j] = w[r][j] - q.dequantized(r, j) / sc[j];
                    err += quadSum(Nd4j.create(d), hm);
                }
                if (step == 0) rtnErr = err;
                if (err < best) {
                    best = err;
                    bestAlpha = alpha;
                    bestS = new float[k];
                    for (int j = 0; j < k; j++) bestS[j] = (float) sc[j];
                }
            }
            for (Site s : group) {
                s.rtnError = den > 0 ? Math.sqrt(rtnErr / den) : 0;
                s.awqError = den > 0 ? Math.sqrt(best / den) : 0;
            }
            if (bestAlpha > 0) out.put(e.getKey(), bestS);
            if (progress != null) {
                progress.printf(Locale.ROOT, "AWQ %s (%d weights): alpha %.1f, group output error %.5f (RTN %.5f)%n", e.getKey(), group.size(), bestAlpha,
                        den > 0 ? Math.sqrt(best / den) : 0, den > 0 ? Math.sqrt(rtnErr / den) : 0);
            }
        }
        return out;
    }

    /** sum over rows r of d_r^T H d_r, i.e. sum((D H) .* D). */
    private static double quadSum(INDArray d, INDArray h) {
        return d.mmul(h).muli(d).sumNumber().doubleValue();
    }

    /** MatMul, or Gemm with alpha = beta = 1 and no transA: MatMulNBits computes A x dequant(B)^T (+ bias). */
    private static boolean nbitsCapable(Graph g, Site s) {
        for (int i : s.nodes) {
            Node n = g.nodes().get(i);
            if (n.opType().equals("Gemm") && (n.attrLong("transA", 0) != 0 || n.attrFloat("alpha", 1f) != 1f || n.attrFloat("beta", 1f) != 1f)) return false;
            if (n.opType().equals("Gemm") && n.hasInput(2)) {
                Tensor c = g.initializers().get(n.input(2));
                if (c == null || c.rank() != 1) return false;
            }
        }
        return true;
    }

    /**
     * Replaces the site's nodes by com.microsoft MatMulNBits: B uint8 [N, k_blocks, block_size * bits / 8] with codes
     * packed low bits first along K (K padded to whole blocks with the zero point), scales float [N * k_blocks], zero
     * points (asymmetric only) uint8 packed per row [N * ceil(k_blocks * bits / 8)]; symmetric codes are stored offset
     * by 2^(bits-1), the operator's default zero point.
     */
    private void matMulNBits(Graph g, Site s, Gptq.Result q, Map<Integer, Node> replace, Map<String, Tensor> inits) {
        int n = q.rows(), k = q.cols(), bs = cfg.group(), bits = cfg.bits(), kb = q.groups(), blob = bs * bits / 8;
        int offset = cfg.symmetric() ? 1 << (bits - 1) : 0;
        byte[] b = new byte[n * kb * blob];
        float[] sc = new float[n * kb];
        int zpRow = (kb * bits + 7) / 8;
        byte[] zp = cfg.symmetric() ? null : new byte[n * zpRow];
        for (int r = 0; r < n; r++) {
            for (int gi = 0; gi < kb; gi++) {
                sc[r * kb + gi] = q.scales()[r][gi];
                int z = q.zeros()[r][gi] + offset;
                if (zp != null) {
                    if (bits == 8) zp[r * zpRow + gi] = (byte) z;
                    else zp[r * zpRow + gi / 2] |= (byte) ((z & 0xF) << (4 * (gi % 2)));
                }
                for (int t = 0; t < bs; t++) {
                    int c = gi * bs + t;
                    int code = c < k ? q.codes()[r][c] + offset : z;
                    int byteIdx = (r * kb + gi) * blob + (bits == 8 ? t : t / 2);
                    if (bits == 8) b[byteIdx] = (byte) code;
                    else b[byteIdx] |= (byte) ((code & 0xF) << (4 * (t % 2)));
                }
            }
        }
        String base = s.weight;
        String bn = unique(g, inits, base + "_nbits"), sn = unique(g, inits, base + "_nbits_scales");
        inits.put(bn, Tensor.of(DType.UINT8, new long[] {n, kb, blob}, b));
        inits.put(sn, Tensor.of(sc, (long) n * kb));
        String zn = "";
        if (zp != null) {
            zn = unique(g, inits, base + "_nbits_zero_points");
            inits.put(zn, Tensor.of(DType.UINT8, new long[] {(long) n * zpRow}, zp));
        }
        for (int i : s.nodes) {
            Node old = g.nodes().get(i);
            List<String> in = new ArrayList<>(List.of(old.input(0), bn, sn, zn));
            if (old.opType().equals("Gemm") && old.hasInput(2)) {
                in.add(""); // g_idx
                in.add(old.input(2));
            }
            while (in.get(in.size() - 1).isEmpty()) in.remove(in.size() - 1);
            Map<String, io.condense.ir.Attribute> a = new LinkedHashMap<>();
            a.put("K", io.condense.ir.Attribute.of((long) k));
            a.put("N", io.condense.ir.Attribute.of((long) n));
            a.put("bits", io.condense.ir.Attribute.of((long) bits));
            a.put("block_size", io.condense.ir.Attribute.of((long) bs));
            replace.put(i, new Node(old.name(), "MatMulNBits", "com.microsoft", in, old.outputs(), a));
        }
    }

    private static String unique(Graph g, Map<String, Tensor> extra, String base) {
        String s = base;
        for (int i = 1; g.initializers().containsKey(s) || extra.containsKey(s); i++) s = base + "_" + i;
        return s;
    }

    /** Gemm (transB either way) and MatMul nodes whose input 1 is a 2-D float32 initializer (not a graph input). */
    private Map<String, Site> plan(Graph g) {
        Set<String> inputs = new HashSet<>();
        for (ValueInfo v : g.inputs()) inputs.add(v.name());
        Map<String, Site> sites = new LinkedHashMap<>();
        List<Node> nodes = g.nodes();
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx")) continue;
            boolean gemm = n.opType().equals("Gemm");
            if (!gemm && !n.opType().equals("MatMul")) continue;
            String w = n.input(1);
            Tensor t = inputs.contains(w) ? null : g.initializers().get(w);
            if (t == null || t.dtype() != DType.FLOAT32 || t.rank() != 2) continue;
            boolean kLast = gemm && n.attrLong("transB", 0) != 0;
            Site s = sites.get(w);
            if (s == null) sites.put(w, s = new Site(w, kLast));
            else if (s.kLast != kLast) {
                throw new ModelException("weight '" + w + "' is read both transposed and not (" + n.label() + "); cannot group it along one axis");
            }
            s.nodes.add(i);
            s.activations.add(n.input(0));
            s.transA.add(gemm && n.attrLong("transA", 0) != 0);
        }
        return sites;
    }

    /** Sums x x^T of every site's layer inputs over the calibration data. */
    private void collectHessians(Graph g, Map<String, Site> sites) {
        Set<String> outs = new HashSet<>();
        for (ValueInfo o : g.outputs()) outs.add(o.name());
        Set<String> inputs = new HashSet<>();
        for (ValueInfo v : g.inputs()) inputs.add(v.name());
        List<ValueInfo> allOuts = new ArrayList<>(g.outputs());
        Set<String> wanted = new HashSet<>();
        for (Site s : sites.values()) {
            for (String a : s.activations) {
                if (!outs.contains(a) && !inputs.contains(a) && wanted.add(a)) allOuts.add(new ValueInfo(a, TensorType.unknown()));
            }
        }
        Graph probe = g.toBuilder().outputs(allOuts).build();
        long limit = cfg.calibrationSamples() > 0 ? cfg.calibrationSamples() : Long.MAX_VALUE;
        int nb = 0;
        try (Session sess = (backend != null ? backend : Backends.cpu()).open(probe)) {
            Iterator<Map<String, Tensor>> it = data.iterator();
            boolean more = true;
            while (more && it.hasNext()) {
                Map<String, Tensor> feed = it.next();
                Map<String, Tensor> res;
                try {
                    res = sess.run(feed);
                } catch (ModelException ex) {
                    throw new ModelException("calibration batch " + (nb + 1) + ": " + ex.getMessage(), ex);
                }
                nb++;
                more = false;
                for (Site s : sites.values()) {
                    for (int k = 0; k < s.activations.size(); k++) {
                        if (s.samples >= limit) break;
                        String a = s.activations.get(k);
                        Tensor x = feed.containsKey(a) ? feed.get(a) : res.get(a);
                        if (x == null) throw new ModelException("calibration: layer input '" + a + "' was not computed");
                        accumulate(s, (long) (nb - 1) * s.activations.size() + k, x, s.transA.get(k), limit);
                    }
                    if (s.samples < limit) more = true;
                }
            }
        }
        if (nb == 0) throw new ModelException("calibration data is empty");
        for (Site s : sites.values()) if (s.moments != null) s.xxt = s.moments.xtx();
    }

    /**
     * Adds one layer input of a batch to the site's {@link LayerMoments} (chunk {@code chunk}: batch index times the
     * site's activation count plus the activation's position, so partials combine in a fixed tree, see
     * {@link io.condense.stats.OrderedSum}).
     */
    private static void accumulate(Site s, long chunk, Tensor x, boolean transA, long limit) {
        long[] sh = x.shape();
        if (sh.length < 1) throw new ModelException("layer input of '" + s.weight + "' is a scalar");
        double[] v = x.toDoubleArray();
        for (double d : v) if (!Double.isFinite(d)) throw new ModelException("calibration: layer input of '" + s.weight + "' has NaN/infinite values");
        INDArray a;
        if (transA) {
            a = Nd4j.create(v, new long[] {sh[0], v.length / sh[0]}, DataType.DOUBLE).transpose().dup('c');
        } else {
            long k = sh[sh.length - 1];
            a = Nd4j.create(v, new long[] {v.length / k, k}, DataType.DOUBLE);
        }
        long k = a.size(1);
        if (s.moments == null) s.moments = new LayerMoments((int) k, true);
        if (s.moments.cols() != k) throw new ModelException("layer input of '" + s.weight + "' has " + k + " features, expected " + s.moments.cols());
        s.moments.add(chunk, a, limit == Long.MAX_VALUE ? -1 : limit - s.moments.hessianRows());
        s.samples = s.moments.hessianRows();
    }

    /** W as [rows = outputs][cols = K]. */
    static double[][] matrix(Tensor w, boolean kLast) {
        int d0 = (int) w.dim(0), d1 = (int) w.dim(1);
        float[] f = w.toFloatArray();
        if (kLast) {
            double[][] m = new double[d0][d1];
            for (int r = 0; r < d0; r++) for (int c = 0; c < d1; c++) m[r][c] = f[r * d1 + c];
            return m;
        }
        double[][] m = new double[d1][d0];
        for (int k = 0; k < d0; k++) for (int n = 0; n < d1; n++) m[n][k] = f[k * d1 + n];
        return m;
    }

    /** Blocked DequantizeLinear parameters in the weight's own layout (axis = its K axis). */
    static QParams params(Gptq.Result q, boolean kLast, boolean symmetric) {
        return params(q, kLast, symmetric, symmetric ? DType.INT4 : DType.UINT4);
    }

    static QParams params(Gptq.Result q, boolean kLast, boolean symmetric, DType t) {
        int n = q.rows(), ng = q.groups();
        float[] s = new float[n * ng];
        Tensor z;
        long[] shape = kLast ? new long[] {n, ng} : new long[] {ng, n};
        z = Tensor.zeros(t, shape);
        for (int r = 0; r < n; r++) {
            for (int gi = 0; gi < ng; gi++) {
                int idx = kLast ? r * ng + gi : gi * n + r;
                s[idx] = q.scales()[r][gi];
                z.setDouble(idx, q.zeros()[r][gi]);
            }
        }
        return new QParams(t, Tensor.of(s, shape), z, kLast ? 1 : 0, q.group());
    }

    static Tensor codes(Gptq.Result q, boolean kLast, long[] shape, boolean symmetric) {
        return codes(q, kLast, shape, symmetric ? DType.INT4 : DType.UINT4);
    }

    static Tensor codes(Gptq.Result q, boolean kLast, long[] shape, DType t) {
        Tensor c = Tensor.zeros(t, shape);
        int n = q.rows(), k = q.cols();
        for (int r = 0; r < n; r++) {
            for (int col = 0; col < k; col++) c.setDouble(kLast ? r * k + col : col * n + r, q.codes()[r][col]);
        }
        return c;
    }
}
