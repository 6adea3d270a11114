package io.condense.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.condense.OrtTestSupport;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxExporter;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Dense vs sparse kernels of condense's CPU executor on unstructured-sparse weights (magnitude-style random
 * masks) at 50/70/80/90/95% sparsity, batch 1 and 32, in one run (sessions alternate every repetition), with
 * ONNX Runtime (which densifies constant weights) as a third column. Layers: a 1024x1024 MatMul, BERT-base's FFN
 * shapes (768->3072 MatMul) and a 256->256 1x1 Conv on 14x14.
 *
 * <p>Usage: {@code benchmarks/prune/sparse-kernel.sh [--reps N] [--warmup N]}.
 */
public final class SparseKernelBenchmark {
    public static void main(String[] args) throws Exception {
        int reps = 30, warmup = 5;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--reps")) reps = Integer.parseInt(args[++i]);
            else if (args[i].equals("--warmup")) warmup = Integer.parseInt(args[++i]);
            else throw new IllegalArgumentException("unknown option " + args[i] + " (--reps N --warmup N)");
        }
        System.out.println("load average before: " + loadavg());
        System.out.printf(Locale.ROOT, "%-22s %8s %6s %12s %12s %12s %9s %9s%n", "layer", "sparsity", "batch",
                "dense ms", "sparse ms", "ORT ms", "speedup", "vs ORT");
        for (String layer : List.of("matmul-1024x1024", "ffn-768x3072", "conv1x1-256-14x14")) {
            for (double sp : new double[] {0.5, 0.7, 0.8, 0.9, 0.95}) {
                for (int batch : new int[] {1, 32}) {
                    Graph g = model(layer, sp, batch, 7);
                    Map<String, Tensor> feeds = OrtTestSupport.randomInputs(g.inputs(), 1, batch, 1);
                    System.setProperty("condense.sparse", "false");
                    Session dense = Backends.cpu().open(g);
                    System.setProperty("condense.sparse", "true");
                    System.setProperty("condense.sparse.maxDensity", "1.0");
                    Session sparse = Backends.cpu().open(g);
                    System.clearProperty("condense.sparse.maxDensity");
                    OrtEnvironment env = OrtEnvironment.getEnvironment();
                    OrtSession ort = OrtTestSupport.session(OnnxExporter.toBytes(g), Runtime.getRuntime().availableProcessors(), OrtSession.SessionOptions.OptLevel.ALL_OPT);
                    Tensor x = feeds.get("x");
                    double[] td = new double[reps], ts = new double[reps], to = new double[reps];
                    float[] a = null, b = null;
                    for (int r = -warmup; r < reps; r++) {
                        long t0 = System.nanoTime();
                        Map<String, Tensor> yd = dense.run(feeds);
                        long t1 = System.nanoTime();
                        Map<String, Tensor> ys = sparse.run(feeds);
                        long t2 = System.nanoTime();
                        try (OnnxTensor in = OrtTestSupport.toOrt(x); OrtSession.Result res = ort.run(Map.of("x", in))) {
                            res.get(0);
                        }
                        long t3 = System.nanoTime();
                        if (r >= 0) { td[r] = (t1 - t0) / 1e6; ts[r] = (t2 - t1) / 1e6; to[r] = (t3 - t2) / 1e6; }
                        a = yd.get("y").toFloatArray();
                        b = ys.get("y").toFloatArray();
                    }
                    double diff = 0;
                    for (int i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
                    double md = median(td), ms = median(ts), mo = median(to);
                    System.out.printf(Locale.ROOT, "%-22s %7.0f%% %6d %12.3f %12.3f %12.3f %8.2fx %8.2fx   (max |dense-sparse| %.2g)%n",
                            layer, sp * 100, batch, md, ms, mo, md / ms, mo / ms, diff);
                    dense.close();
                    sparse.close();
                    ort.close();
                }
            }
        }
        System.out.println("load average after: " + loadavg());
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    static String loadavg() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (Exception e) {
            return "unknown";
        }
    }

    static Graph model(String layer, double sparsity, int batch, long seed) {
        Random r = new Random(seed);
        Graph.Builder b = Graph.builder().name(layer).opset("", 17);
        long[] in, out, w;
        String op;
        switch (layer) {
            case "matmul-1024x1024" -> { in = new long[] {batch, 1024}; out = new long[] {batch, 1024}; w = new long[] {1024, 1024}; op = "MatMul"; }
            case "ffn-768x3072" -> { in = new long[] {batch, 768}; out = new long[] {batch, 3072}; w = new long[] {768, 3072}; op = "MatMul"; }
            default -> { in = new long[] {batch, 256, 14, 14}; out = new long[] {batch, 256, 14, 14}; w = new long[] {256, 256, 1, 1}; op = "Conv"; }
        }
        float[] d = new float[(int) Tensor.checkedSize(w)];
        for (int i = 0; i < d.length; i++) d[i] = r.nextDouble() < sparsity ? 0f : (float) r.nextGaussian();
        b.initializer("w", Tensor.of(d, w));
        List<Dim> di = new ArrayList<>(), dout = new ArrayList<>();
        for (long s : in) di.add(Dim.of(s));
        for (long s : out) dout.add(Dim.of(s));
        b.addInput(new ValueInfo("x", new TensorType(DType.FLOAT32, di)));
        b.addOutput(new ValueInfo("y", new TensorType(DType.FLOAT32, dout)));
        Map<String, Attribute> attrs = op.equals("Conv") ? Map.of("kernel_shape", Attribute.of(1L, 1L)) : Map.of();
        b.addNode(new Node("layer", op, "", List.of("x", "w"), List.of("y"), attrs));
        return b.build();
    }
}
