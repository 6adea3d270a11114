package io.condense.quant.int4;

import io.condense.backend.Backends;
import io.condense.backend.Session;
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
    public enum Method { RTN, GPTQ }

    /**
     * @param bits               4 (the only width exported; kept for clarity)
     * @param group              group size along K (e.g. 32, 64, 128)
     * @param method             RTN or GPTQ
     * @param symmetric          true: INT4 -8..7 with zero point 0 (scale amax/7); false: UINT4 0..15 with a zero point
     * @param calibrationSamples samples (rows of the layer inputs) read for the Hessians at most (0 = all)
     * @param damp               GPTQ damping relative to the mean Hessian diagonal (0.01)
     * @param blockColumns       GPTQ lazy-update block width (128)
     */
    public record Config(int bits, int group, Method method, boolean symmetric, int calibrationSamples, double damp, int blockColumns) {
        public Config {
            if (bits != 4) throw new ModelException("weight-only quantization supports 4 bits, got " + bits);
            if (group < 2) throw new ModelException("group size must be >= 2, got " + group);
            if (method == null) method = Method.GPTQ;
            if (calibrationSamples < 0) throw new ModelException("calibration samples must be >= 0, got " + calibrationSamples);
            if (!(damp >= 0) || damp > 10) throw new ModelException("damping must be in [0, 10], got " + damp);
            if (blockColumns < 1) throw new ModelException("block columns must be >= 1, got " + blockColumns);
        }

        public static Config of(int group, Method method) { return new Config(4, group, method, true, 0, 0.01, 128); }

        public Config withSymmetric(boolean s) { return new Config(bits, group, method, s, calibrationSamples, damp, blockColumns); }

        public Config withCalibrationSamples(int n) { return new Config(bits, group, method, symmetric, n, damp, blockColumns); }

        public Config withDamp(double d) { return new Config(bits, group, method, symmetric, calibrationSamples, d, blockColumns); }
    }

    /**
     * Per quantized weight: rows (output features) x cols (K), relative output errors of RTN and GPTQ on the
     * calibration inputs (NaN when not computed), and float/int4 storage bytes (codes + scales + zero points).
     */
    public record LayerReport(String node, String weight, int rows, int cols, double rtnError, double gptqError, long floatBytes, long quantBytes) {}

    private final Config cfg;
    private final Iterable<Map<String, Tensor>> data;
    private final PrintStream progress;
    private final List<LayerReport> reports = new ArrayList<>();
    private final Map<String, Tensor> dequantized = new LinkedHashMap<>();

    /**
     * @param data     calibration feeds (graph inputs per batch); null for RTN without error reports
     * @param progress one line per layer, or null
     */
    public Int4WeightOnly(Config cfg, Iterable<Map<String, Tensor>> data, PrintStream progress) {
        this.cfg = cfg;
        this.data = data;
        this.progress = progress;
        if (cfg.method() == Method.GPTQ && data == null) throw new ModelException("GPTQ needs calibration data");
    }

    @Override
    public String name() { return "int4-" + cfg.method().name().toLowerCase(Locale.ROOT) + "-g" + cfg.group(); }

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
        long samples;

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
        if (sites.isEmpty()) throw new ModelException("no Gemm/MatMul with a 2-D float32 weight initializer to quantize");
        if (data != null) collectHessians(g, sites);
        QdqEditor e = new QdqEditor(g);
        for (Site s : sites.values()) {
            Tensor wt = g.initializers().get(s.weight);
            double[][] w = matrix(wt, s.kLast);
            int rows = w.length, cols = w[0].length;
            Gptq.Result rtn = Gptq.rtn(w, cfg.group(), cfg.bits(), cfg.symmetric());
            Gptq.Result chosen = rtn;
            double rtnErr = Double.NaN, gptqErr = Double.NaN;
            if (s.xxt != null) rtnErr = Gptq.relativeError(w, rtn.dequantized(), s.xxt);
            if (cfg.method() == Method.GPTQ) {
                if (s.xxt == null) throw new ModelException("GPTQ: no calibration inputs reached '" + s.weight + "'");
                chosen = Gptq.gptq(w, s.xxt, s.samples, cfg.group(), cfg.bits(), cfg.symmetric(), cfg.damp(), cfg.blockColumns());
                gptqErr = Gptq.relativeError(w, chosen.dequantized(), s.xxt);
            }
            QParams p = params(chosen, s.kLast, cfg.symmetric());
            Tensor codes = codes(chosen, s.kLast, wt.shape(), cfg.symmetric());
            String dq = e.weight(s.weight, codes, p);
            for (int i = 0; i < s.nodes.size(); i++) e.rewire(s.nodes.get(i), 1, dq);
            dequantized.put(s.weight, p.dequantize(codes));
            long qBytes = (codes.size() + 1) / 2 + p.scale().size() * 4L + (p.zeroPoint().size() + 1) / 2;
            LayerReport rep = new LayerReport(g.nodes().get(s.nodes.get(0)).name(), s.weight, rows, cols, rtnErr, gptqErr, wt.size() * 4L, qBytes);
            reports.add(rep);
            if (progress != null) {
                progress.printf(Locale.ROOT, "%s %s [%d x %d] group %d: %s%s%n", rep.node(), s.weight, rows, cols, cfg.group(),
                        Double.isNaN(rtnErr) ? "RTN (no calibration data: output error not measured)" : String.format(Locale.ROOT, "rel. output error RTN %.5f", rtnErr),
                        Double.isNaN(gptqErr) ? "" : String.format(Locale.ROOT, " GPTQ %.5f", gptqErr));
            }
        }
        return e.build();
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
        try (Session sess = Backends.cpu().open(probe)) {
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
                        accumulate(s, x, s.transA.get(k), limit);
                    }
                    if (s.samples < limit) more = true;
                }
            }
        }
        if (nb == 0) throw new ModelException("calibration data is empty");
    }

    private static void accumulate(Site s, Tensor x, boolean transA, long limit) {
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
        long rows = a.size(0), k = a.size(1);
        long take = Math.min(rows, limit - s.samples);
        if (take < rows) a = a.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, take), org.nd4j.linalg.indexing.NDArrayIndex.all()).dup('c');
        INDArray c = a.transpose().mmul(a);
        if (s.xxt == null) s.xxt = new double[(int) k][(int) k];
        if (s.xxt.length != k) throw new ModelException("layer input of '" + s.weight + "' has " + k + " features, expected " + s.xxt.length);
        double[] flat = c.dup('c').data().asDouble();
        for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) s.xxt[i][j] += flat[(int) (i * k + j)];
        s.samples += take;
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
        int n = q.rows(), ng = q.groups();
        DType t = symmetric ? DType.INT4 : DType.UINT4;
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
        Tensor c = Tensor.zeros(symmetric ? DType.INT4 : DType.UINT4, shape);
        int n = q.rows(), k = q.cols();
        for (int r = 0; r < n; r++) {
            for (int col = 0; col < k; col++) c.setDouble(kLast ? r * k + col : col * n + r, q.codes()[r][col]);
        }
        return c;
    }
}
