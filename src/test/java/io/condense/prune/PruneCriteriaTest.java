package io.condense.prune;

import io.condense.OrtReference;
import io.condense.data.Dataset;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;
import io.condense.train.Losses;
import io.condense.train.Models;
import io.condense.train.Tape;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Importance criteria and mask selection against references computed independently (ORT, finite differences, closed forms). */
class PruneCriteriaTest {
    static float[] gaussian(Random r, int n, double std) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) (r.nextGaussian() * std);
        return f;
    }

    /** x[N,k] -> Gemm(transB=1, W1 [h,k]) -> Relu -> MatMul(W2 [h,o]) -> y. */
    static Graph mlp(int k, int h, int o, long seed) {
        Random r = new Random(seed);
        Graph.Builder b = Graph.builder().name("mlp").opset("", 17);
        b.addInput(new ValueInfo("x", new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(k)))));
        b.initializer("W1", Tensor.of(gaussian(r, h * k, 1 / Math.sqrt(k)), h, k));
        b.initializer("b1", Tensor.of(gaussian(r, h, 0.1), h));
        b.initializer("W2", Tensor.of(gaussian(r, h * o, 1 / Math.sqrt(h)), h, o));
        b.addNode(new Node("fc1", "Gemm", "", List.of("x", "W1", "b1"), List.of("h"), Map.of("transB", Attribute.of(1L))));
        b.addNode(new Node("relu", "Relu", "", List.of("h"), List.of("hr"), Map.of()));
        b.addNode(new Node("fc2", "MatMul", "", List.of("hr", "W2"), List.of("y"), Map.of()));
        b.addOutput(new ValueInfo("y", new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(o)))));
        return b.build();
    }

    /** x[N,3,7,7] -> Conv(W [4,3,3,3], stride 2, pad 1) -> y. */
    static Graph conv(long seed) {
        Random r = new Random(seed);
        Graph.Builder b = Graph.builder().name("conv").opset("", 17);
        b.addInput(new ValueInfo("x", new TensorType(DType.FLOAT32, List.of(Dim.of(2), Dim.of(4), Dim.of(7), Dim.of(7)))));
        b.initializer("W", Tensor.of(gaussian(r, 8 * 4 * 9, 0.3), 8, 4, 3, 3));
        b.addNode(new Node("conv", "Conv", "", List.of("x", "W"), List.of("y"), Map.of("kernel_shape", Attribute.of(3L, 3L),
                "strides", Attribute.of(2L, 2L), "pads", Attribute.of(1L, 1L, 1L, 1L))));
        b.addOutput(new ValueInfo("y", TensorType.unknown()));
        return b.build();
    }

    static List<Map<String, Tensor>> batches(Random r, String in, long[] shape, int n) {
        List<Map<String, Tensor>> l = new ArrayList<>();
        for (int i = 0; i < n; i++) l.add(Map.of(in, Tensor.of(gaussian(r, (int) Tensor.checkedSize(shape), 1), shape)));
        return l;
    }

    @Test void layersAndMatrixLayouts() {
        Graph g = mlp(8, 6, 4, 1);
        List<PrunableLayer> ls = PrunableLayer.find(g);
        assertEquals(2, ls.size());
        PrunableLayer fc1 = ls.get(0), fc2 = ls.get(1);
        assertEquals(6, fc1.rows());
        assertEquals(8, fc1.cols());
        assertEquals(4, fc2.rows()); // MatMul [K=6, N=4]: rows = outputs
        assertEquals(6, fc2.cols());
        float[] w2 = g.initializers().get("W2").toFloatArray();
        double[][] m = fc2.matrix(g.initializers().get("W2"));
        assertEquals(w2[2 * 4 + 3], m[3][2], 0); // W2[k=2][n=3]
        assertTrue(java.util.Arrays.equals(w2, fc2.tensor(m).toFloatArray()));
    }

    /** Conv im2col rows times the weight matrix reproduce ONNX Runtime's convolution. */
    @Test void convPatchesReproduceOrtConvolution() throws Exception {
        Graph g = conv(2);
        Tensor x = Tensor.of(gaussian(new Random(3), 2 * 4 * 49, 1), 2, 4, 7, 7);
        Tensor y = OrtReference.run(OnnxExporter.toBytes(g), Map.of("x", x)).get("y");
        PrunableLayer l = PrunableLayer.find(g).get(0);
        assertEquals(9, l.nmStride());
        INDArray rows = LayerInputStats.rows(l, g.nodes().get(0), x, 0);
        INDArray w = Nd4j.create(l.matrix(g.initializers().get("W")));
        INDArray out = rows.mmul(w.transpose()); // [N*OH*OW, Cout]
        long[] ys = y.shape(); // [2, 8, 4, 4]
        float[] yf = y.toFloatArray();
        for (int b = 0; b < ys[0]; b++)
            for (int co = 0; co < ys[1]; co++)
                for (int p = 0; p < ys[2] * ys[3]; p++) {
                    double ref = yf[(int) ((b * ys[1] + co) * ys[2] * ys[3] + p)];
                    assertEquals(ref, out.getDouble(b * ys[2] * ys[3] + p, co), 1e-4);
                }
    }

    @Test void wandaScoresAreMagnitudeTimesInputNorms() {
        Graph g = mlp(8, 6, 4, 1);
        Random r = new Random(5);
        List<Map<String, Tensor>> data = batches(r, "x", new long[] {16, 8}, 3);
        double[] norm2 = new double[8];
        for (Map<String, Tensor> m : data) {
            float[] f = m.get("x").toFloatArray();
            for (int i = 0; i < f.length; i++) norm2[i % 8] += f[i] * (double) f[i];
        }
        ImportanceContext ctx = new ImportanceContext(g, data, 0, 0, null, 0, 16, null);
        PrunableLayer fc1 = PrunableLayer.find(g).get(0);
        double[][] w = fc1.matrix(g.initializers().get("W1"));
        double[][] s = new Wanda().scores(fc1, w, ctx);
        for (int i = 0; i < 6; i++) for (int j = 0; j < 8; j++) assertEquals(Math.abs(w[i][j]) * Math.sqrt(norm2[j]), s[i][j], 1e-9 * (1 + s[i][j]));
    }

    @Test void maskSelectionCountsAndPatterns() {
        Random r = new Random(7);
        double[][] s = new double[6][16];
        for (double[] row : s) for (int j = 0; j < 16; j++) row[j] = r.nextDouble();
        boolean[][] k = MaskSelector.layer(s, 0.3);
        assertEquals(Math.round(0.3 * 96) / 96.0, MaskSelector.sparsity(k), 1e-12);
        // every kept score >= every pruned score
        double maxPruned = -1, minKept = 2;
        for (int i = 0; i < 6; i++) for (int j = 0; j < 16; j++) {
            if (k[i][j]) minKept = Math.min(minKept, s[i][j]);
            else maxPruned = Math.max(maxPruned, s[i][j]);
        }
        assertTrue(maxPruned <= minKept);
        boolean[][] po = MaskSelector.perOutput(s, 0.25);
        for (boolean[] row : po) {
            int z = 0;
            for (boolean b : row) if (!b) z++;
            assertEquals(4, z);
        }
        // 2:4 with stride 2 (a Conv with 2 kernel positions): members of a group are columns c, c+2, c+4, c+6
        boolean[][] nm = MaskSelector.nm(s, 2, 4, 2);
        for (int i = 0; i < 6; i++)
            for (int blk = 0; blk < 2; blk++)
                for (int p = 0; p < 2; p++) {
                    int kept = 0;
                    double lowKept = 2, highPruned = -1;
                    for (int t = 0; t < 4; t++) {
                        int c = (blk * 4 + t) * 2 + p;
                        if (nm[i][c]) {
                            kept++;
                            lowKept = Math.min(lowKept, s[i][c]);
                        } else highPruned = Math.max(highPruned, s[i][c]);
                    }
                    assertEquals(2, kept);
                    assertTrue(highPruned <= lowKept);
                }
        // global: one threshold over two matrices of different scales
        double[][] a = {{1, 2, 3, 4}}, b = {{10, 20, 30, 40}};
        List<boolean[][]> gl = MaskSelector.global(List.of(a, b), 0.5);
        assertEquals(1.0, MaskSelector.sparsity(gl.get(0)), 0);
        assertEquals(0.0, MaskSelector.sparsity(gl.get(1)), 0);
    }

    /** Taylor scores |w dL/dw| against central finite differences of the loss. */
    @Test void taylorMatchesFiniteDifferences() {
        Graph g = mlp(5, 4, 3, 11);
        Random r = new Random(12);
        int n = 8;
        float[] x = gaussian(r, n * 5, 1);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) y[i] = r.nextInt(3);
        Dataset d = new Dataset(x, y, new long[] {5});
        ImportanceContext ctx = new ImportanceContext(g, null, 0, 0, d, 1, n, null);
        PrunableLayer fc1 = PrunableLayer.find(g).get(0);
        double[][] w = fc1.matrix(g.initializers().get("W1"));
        double[][] s = new Taylor().scores(fc1, w, ctx);
        // the batch Taylor used: batches(n, shuffle) of all n samples -> the loss over the whole set
        for (int[] ij : new int[][] {{0, 0}, {1, 3}, {3, 4}}) {
            double eps = 1e-3;
            double lp = loss(g, fc1, w, ij, eps, x, y), lm = loss(g, fc1, w, ij, -eps, x, y);
            double fd = (lp - lm) / (2 * eps);
            assertEquals(Math.abs(w[ij[0]][ij[1]] * fd), s[ij[0]][ij[1]], 2e-3 * (Math.abs(w[ij[0]][ij[1]] * fd)) + 1e-5);
        }
    }

    private static double loss(Graph g, PrunableLayer l, double[][] w, int[] ij, double eps, float[] x, int[] y) {
        double[][] w2 = new double[w.length][];
        for (int i = 0; i < w.length; i++) w2[i] = w[i].clone();
        w2[ij[0]][ij[1]] += eps;
        Graph h = g.toBuilder().initializer(l.weight(), l.tensor(w2)).build();
        Tape t = new Tape(h, n -> false, DataType.DOUBLE, 0);
        INDArray in = Nd4j.create(x, new long[] {y.length, 5}).castTo(DataType.DOUBLE);
        INDArray logits = t.infer(Map.of("x", in)).get("y");
        return Losses.softmaxCrossEntropy(logits, y, 0).value();
    }

    @Test void batchNormScaleReadsGamma() {
        Graph g = Models.resnetSmall(1);
        float[] gamma = g.initializers().get("stem.bn.weight").toFloatArray().clone();
        for (int i = 0; i < gamma.length; i++) gamma[i] = (i % 3) - 1.5f * i;
        g = g.toBuilder().initializer("stem.bn.weight", Tensor.of(gamma, gamma.length)).build();
        PrunableLayer stem = PrunableLayer.find(g).stream().filter(l -> l.weight().equals("stem.conv.weight")).findFirst().orElseThrow();
        Importance bn = new BatchNormScale();
        double[] rs = bn.rowScores(stem, stem.matrix(g.initializers().get(stem.weight())), ImportanceContext.weightsOnly(g));
        for (int i = 0; i < gamma.length; i++) assertEquals(Math.abs(gamma[i]), rs[i], 1e-6);
        PrunableLayer fc = PrunableLayer.find(g).stream().filter(l -> l.op().equals("Gemm")).findFirst().orElseThrow();
        Graph gg = g;
        assertThrows(ModelException.class, () -> bn.scores(fc, fc.matrix(gg.initializers().get(fc.weight())), ImportanceContext.weightsOnly(gg)));
    }

    @Test void l1AndL2GroupScores() {
        double[][] w = {{3, -4}, {1, 1}};
        PrunableLayer l = null;
        assertEquals(7, new Magnitude().rowScores(l, w, null)[0], 1e-12);
        assertEquals(5, new L2Norm().rowScores(l, w, null)[0], 1e-12);
    }

    /** Output error of the pruned layer, sum over calibration rows of ||(W - Wp) x||^2, against magnitude and Wanda. */
    @Test void sparseGptReconstructsBetterThanMaskOnlyCriteria() {
        int k = 32, h = 24;
        Graph g = mlp(k, h, 4, 21);
        Random r = new Random(22);
        // correlated inputs: x = z A + noise
        double[][] a = new double[6][k];
        for (double[] row : a) for (int j = 0; j < k; j++) row[j] = r.nextGaussian();
        List<Map<String, Tensor>> data = new ArrayList<>();
        for (int b = 0; b < 4; b++) {
            float[] f = new float[64 * k];
            for (int i = 0; i < 64; i++) {
                double[] z = new double[6];
                for (int t = 0; t < 6; t++) z[t] = r.nextGaussian();
                for (int j = 0; j < k; j++) {
                    double v = 0.1 * r.nextGaussian();
                    for (int t = 0; t < 6; t++) v += z[t] * a[t][j];
                    f[i * k + j] = (float) v;
                }
            }
            data.add(Map.of("x", Tensor.of(f, 64, k)));
        }
        Map<String, Double> err = new LinkedHashMap<>();
        for (String c : List.of("magnitude", "wanda", "sparsegpt")) {
            for (Granularity gr : List.of(Granularity.LAYER, Granularity.nm(2, 4))) {
                PruneConfig pc = new PruneConfig(c, gr, 0.5, Map.of(), List.of("W2"), 0, 0, 0, 0.01, 128, true);
                Graph p = new PrunePass(pc, data, null, null).apply(g);
                assertEquals(0.5, PrunePass.zeros(p.initializers().get("W1")) / (double) (k * h), 1e-9, c + " " + gr);
                if (gr.kind() == Granularity.Kind.NM) {
                    NmCheck.LayerCheck ch = NmCheck.check(p, 2, 4).get(0);
                    assertTrue(ch.conforms(), c + ": " + ch);
                }
                err.put(c + " " + gr, outputError(g, p, data, k, h));
            }
        }
        assertTrue(err.get("sparsegpt layer") < 0.6 * err.get("magnitude layer"), err.toString());
        assertTrue(err.get("sparsegpt layer") < err.get("wanda layer"), err.toString());
        assertTrue(err.get("sparsegpt 2:4") < 0.8 * err.get("magnitude 2:4"), err.toString());
        assertTrue(err.get("wanda layer") < err.get("magnitude layer"), err.toString());
    }

    private static double outputError(Graph g, Graph p, List<Map<String, Tensor>> data, int k, int h) {
        float[] w = g.initializers().get("W1").toFloatArray(), q = p.initializers().get("W1").toFloatArray();
        double e = 0;
        for (Map<String, Tensor> m : data) {
            float[] x = m.get("x").toFloatArray();
            for (int i = 0; i < x.length / k; i++)
                for (int o = 0; o < h; o++) {
                    double d = 0;
                    for (int j = 0; j < k; j++) d += (w[o * k + j] - q[o * k + j]) * x[i * k + j];
                    e += d * d;
                }
        }
        return e;
    }

    /** SparseGPT pruning one weight in one column block: the OBS update of the remaining weights is exact least squares. */
    @Test void sparseGptSingleWeightIsObsOptimal() {
        // 1 row, 3 columns, H = X^T X; pruning column 0 optimally: min ||(w - w') X|| with w'_0 = 0 has the closed form
        // w'_rest = w_rest + w_0 * (H_rr^-1 H_r0)
        Random r = new Random(30);
        int n = 200;
        double[][] X = new double[n][3];
        for (double[] row : X) {
            double z = r.nextGaussian();
            row[0] = z + 0.3 * r.nextGaussian();
            row[1] = z + 0.3 * r.nextGaussian();
            row[2] = r.nextGaussian();
        }
        double[][] H = new double[3][3];
        for (double[] row : X) for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) H[i][j] += row[i] * row[j];
        double[] w = {0.1, 2.0, -1.5};
        boolean[][] keep = new boolean[1][3];
        double[][] res = new SparseGpt(0, 128).sweep(new double[][] {w}, H, n, 1.0 / 3, Granularity.LAYER, keep);
        assertEquals(false, keep[0][0]);
        // closed form
        double a = H[1][1], b = H[1][2], c = H[2][1], d = H[2][2], det = a * d - b * c;
        double[] rhs = {H[1][0], H[2][0]};
        double u1 = (d * rhs[0] - b * rhs[1]) / det, u2 = (-c * rhs[0] + a * rhs[1]) / det;
        assertEquals(0, res[0][0], 0);
        assertEquals(w[1] + w[0] * u1, res[0][1], 1e-9);
        assertEquals(w[2] + w[0] * u2, res[0][2], 1e-9);
    }
}
