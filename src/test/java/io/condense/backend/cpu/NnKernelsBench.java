package io.condense.backend.cpu;

import ai.onnxruntime.OrtException;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Speed of the conv paths against ONNX Runtime (prints GFLOP/s). Run with
 * {@code -Pall -Dtest=NnKernelsBench}; add {@code -Dorg.bytedeco.javacpp.platform.extension=} for the plain ND4J build.
 */
@Tag("slow")
class NnKernelsBench {
    /** -Dcondense.cpu.threads=N limits ND4J (see NativeSetup) and here also ORT to N threads (0: their defaults). */
    static final int THREADS = Integer.getInteger("condense.cpu.threads", 0);

    /**
     * Best-of-reps time of r. With one thread (-Dcondense.cpu.threads=1, which also makes ORT single-threaded here)
     * this is the calling thread's CPU time, which a busy shared machine does not inflate; otherwise wall time.
     */
    static double seconds(Runnable r, int reps) {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        boolean cpu = THREADS == 1 && mx.isCurrentThreadCpuTimeSupported();
        for (int i = 0; i < 3; i++) r.run();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < reps; i++) {
            long t = cpu ? mx.getCurrentThreadCpuTime() : System.nanoTime();
            r.run();
            best = Math.min(best, (cpu ? mx.getCurrentThreadCpuTime() : System.nanoTime()) - t);
        }
        return best / 1e9;
    }

    static Tensor rand(Random rnd, long... shape) {
        float[] v = new float[(int) Tensor.checkedSize(shape)];
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextFloat() * 2 - 1;
        return Tensor.of(v, shape);
    }

    @Test
    void conv() throws OrtException {
        NativeSetup.init();
        Nd4j.scalar(1f);
        System.out.println("OpenMP threads: " + NativeOpsHolder.getInstance().getDeviceNativeOps().ompGetMaxThreads()
                + ", BLAS threads: " + Nd4j.factory().blas().getMaxThreads());
        System.out.println("platform extension: '" + NativeSetup.extension() + "'");
        String info = NativeOpsHolder.getInstance().getDeviceNativeOps().buildInfo();
        System.out.println("nd4j threads: max " + Nd4j.getEnvironment().maxThreads() + ", master " + Nd4j.getEnvironment().maxMasterThreads()
                + ", availableProcessors " + Runtime.getRuntime().availableProcessors());
        System.out.println("libnd4j build: " + info.replace('\n', ' '));
        Random rnd = new Random(1);
        int[][] cases = {{64, 56, 64, 3}, {128, 28, 128, 3}, {256, 14, 256, 3}, {64, 56, 256, 1}, {64, 224, 64, 3}, {3, 224, 64, 3}, {512, 13, 1000, 1}, {16, 56, 64, 3}, {8, 112, 32, 3}, {32, 56, 64, 3}, {1, 224, 64, 5}};
        for (int[] cs : cases) {
            int C = cs[0], H = cs[1], M = cs[2], k = cs[3];
            Tensor x = rand(rnd, 1, C, H, H), w = rand(rnd, M, C, k, k), b = rand(rnd, M);
            Map<String, Attribute> attrs = Map.of("pads", Attribute.of((long) k / 2, k / 2, k / 2, k / 2));
            double flop = 2.0 * M * C * k * k * H * H;
            INDArray xa = Nd.toNd(x), wa = Nd.toNd(w), ba = Nd.toNd(b);
            OpContext ctx = new OpContext(Node.of("Conv", List.of("x", "w", "b"), List.of("y"), attrs), 13,
                    new INDArray[] {xa, wa, ba}, new DType[] {DType.FLOAT32, DType.FLOAT32, DType.FLOAT32});
            NnKernels.nd4jConv = true;
            double tNd = seconds(() -> NnKernels.conv(ctx), 40);
            NnKernels.nd4jConv = false;
            double tIm = seconds(() -> NnKernels.conv(ctx), 40);
            NnKernels.nd4jConv = NnKernels.DEFAULT_ND4J_CONV;
            if (k == 1) {
                NnKernels.gemmPointwise = false;
                double t1 = seconds(() -> NnKernels.conv(ctx), 40);
                NnKernels.gemmPointwise = true;
                System.out.printf("1x1 on libnd4j conv2d: %.2f ms%n", t1 * 1e3);
            }
            Graph g = Graph.builder().opset("", 13)
                    .addInput(new ValueInfo("x", x.type()))
                    .initializer("w", w).initializer("b", b)
                    .addNode(Node.of("Conv", List.of("x", "w", "b"), List.of("y"), attrs))
                    .addOutput(new ValueInfo("y", new TensorType(DType.FLOAT32, null))).build();
            double tSess;
            try (Session s = Backends.cpu().open(g)) {
                tSess = seconds(() -> s.run(Map.of("x", x)), 20);
            }
            double tOrt = seconds(() -> {
                try { NnKernelsTest.runOrt(g, Map.of("x", x)); } catch (OrtException e) { throw new RuntimeException(e); }
            }, 1);
            double tOrtRun = ortRun(g, x);
            System.out.printf("conv %dx%dx%d->%d k%d: nd4j %.2f ms (%.0f GFLOP/s), im2col %.2f ms (%.0f GFLOP/s), "
                            + "cpu session %.2f ms, ORT run %.2f ms (%.0f GFLOP/s)%n", C, H, H, M, k,
                    tNd * 1e3, flop / tNd / 1e9, tIm * 1e3, flop / tIm / 1e9, tSess * 1e3, tOrtRun * 1e3, flop / tOrtRun / 1e9);
            assertTrue(tOrt > 0);
        }
        // depthwise 3x3 (MobileNet-like) and max pooling
        for (int[] cs : new int[][] {{32, 112, 1}, {128, 56, 2}, {512, 14, 1}}) {
            int C = cs[0], H = cs[1], st = cs[2];
            Tensor x = rand(rnd, 1, C, H, H), w = rand(rnd, C, 1, 3, 3), b = rand(rnd, C);
            Map<String, Attribute> attrs = Map.of("pads", Attribute.of(1L, 1, 1, 1), "group", Attribute.of((long) C),
                    "strides", Attribute.of((long) st, st));
            int Ho = (H - 1) / st + 1;
            double flop = 2.0 * C * 9 * Ho * Ho;
            OpContext ctx = new OpContext(Node.of("Conv", List.of("x", "w", "b"), List.of("y"), attrs), 13,
                    new INDArray[] {Nd.toNd(x), Nd.toNd(w), Nd.toNd(b)}, new DType[] {DType.FLOAT32, DType.FLOAT32, DType.FLOAT32});
            NnKernels.directDepthwise = false;
            double tNd = seconds(() -> NnKernels.conv(ctx), 40);
            NnKernels.directDepthwise = true;
            double tIm = seconds(() -> NnKernels.conv(ctx), 40);
            NnKernels.directDepthwise = NnKernels.DEFAULT_DIRECT_DEPTHWISE;
            Graph g = Graph.builder().opset("", 13).addInput(new ValueInfo("x", x.type()))
                    .initializer("w", w).initializer("b", b)
                    .addNode(Node.of("Conv", List.of("x", "w", "b"), List.of("y"), attrs))
                    .addOutput(new ValueInfo("y", new TensorType(DType.FLOAT32, null))).build();
            double tOrt = ortRun(g, x);
            System.out.printf("depthwise %dx%dx%d s%d: nd4j %.2f ms (%.1f GFLOP/s), direct %.2f ms, ORT %.2f ms (%.1f GFLOP/s)%n",
                    C, H, H, st, tNd * 1e3, flop / tNd / 1e9, tIm * 1e3, tOrt * 1e3, flop / tOrt / 1e9);
        }
        {
            Tensor x = rand(rnd, 1, 64, 112, 112);
            Map<String, Attribute> attrs = Map.of("kernel_shape", Attribute.of(3L, 3), "strides", Attribute.of(2L, 2),
                    "pads", Attribute.of(1L, 1, 1, 1));
            OpContext ctx = new OpContext(Node.of("MaxPool", List.of("x"), List.of("y"), attrs), 12,
                    new INDArray[] {Nd.toNd(x)}, new DType[] {DType.FLOAT32});
            double t = seconds(() -> NnKernels.pool(ctx, true), 20);
            Graph g = Graph.builder().opset("", 12).addInput(new ValueInfo("x", x.type()))
                    .addNode(Node.of("MaxPool", List.of("x"), List.of("y"), attrs))
                    .addOutput(new ValueInfo("y", new TensorType(DType.FLOAT32, null))).build();
            System.out.printf("maxpool 64x112x112 k3s2: cpu %.2f ms, ORT %.2f ms%n", t * 1e3, ortRun(g, x) * 1e3);
        }
        op("BatchNormalization 64x112x112", 15, Map.of(), rand(rnd, 1, 64, 112, 112), rand(rnd, 64), rand(rnd, 64), rand(rnd, 64), positive(rnd, 64));
        op("InstanceNormalization 64x56x56", 13, Map.of(), rand(rnd, 1, 64, 56, 56), rand(rnd, 64), rand(rnd, 64));
        op("LayerNormalization 128x384", 17, Map.of(), rand(rnd, 1, 128, 384), rand(rnd, 384), rand(rnd, 384));
        op("MatMul 128x384 x 384x1536", 13, Map.of(), rand(rnd, 1, 128, 384), rand(rnd, 384, 1536));
        op("MatMul attention 12x128x64 x 12x64x128", 13, Map.of(), rand(rnd, 1, 12, 128, 64), rand(rnd, 1, 12, 64, 128));
        op("Gemm 1x2048 x 1000x2048^T", 13, Map.of("transB", Attribute.of(1L)), rand(rnd, 1, 2048), rand(rnd, 1000, 2048), rand(rnd, 1000));
        op("GlobalAveragePool 512x7x7", 13, Map.of(), rand(rnd, 1, 512, 7, 7));
        op("GlobalAveragePool 1000x13x13", 13, Map.of(), rand(rnd, 1, 1000, 13, 13));
        op("AveragePool 3x3 s1 p1 64x56x56", 13, Map.of("kernel_shape", Attribute.of(3L, 3), "pads", Attribute.of(1L, 1, 1, 1)), rand(rnd, 1, 64, 56, 56));
        op("ConvTranspose 64x28x28->32 k4 s2 p1", 13, Map.of("strides", Attribute.of(2L, 2), "pads", Attribute.of(1L, 1, 1, 1)),
                rand(rnd, 1, 64, 28, 28), rand(rnd, 64, 32, 4, 4), rand(rnd, 32));
        op("LRN 64x56x56 size 5", 13, Map.of("size", Attribute.of(5L)), rand(rnd, 1, 64, 56, 56));
        INDArray a = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 512, 512);
        double tg = seconds(() -> a.mmul(a), 20);
        System.out.printf("sgemm 512: %.2f ms (%.0f GFLOP/s)%n", tg * 1e3, 2.0 * 512 * 512 * 512 / tg / 1e9);
    }

    static ai.onnxruntime.OrtSession.SessionOptions threads(ai.onnxruntime.OrtSession.SessionOptions so) throws OrtException {
        if (THREADS > 0) so.setIntraOpNumThreads(THREADS);
        return so;
    }

    /** Whole CNN models: CPU session vs ORT session run (random float inputs of the declared static shapes). */
    @Test
    void models() throws Exception {
        NativeSetup.init();
        java.nio.file.Path dir = io.condense.TestData.require("onnx/models");
        Random rnd = new Random(3);
        for (String m : new String[] {"squeezenet1.1-fp16/SqueezeNet_fp16.onnx", "super_resolution-10/super_resolution.onnx", "mnist-8/model.onnx",
                "../light/light_squeezenet.onnx"}) {
            Graph g = io.condense.onnx.OnnxImporter.load(dir.resolve(m));
            Map<String, Tensor> feeds = new java.util.LinkedHashMap<>();
            for (ValueInfo in : g.inputs()) {
                long[] shape = in.type().dims().stream().mapToLong(d -> d.isKnown() ? d.value() : 1).toArray();
                double[] v = new double[(int) Tensor.checkedSize(shape)];
                for (int i = 0; i < v.length; i++) v[i] = rnd.nextDouble();
                feeds.put(in.name(), Tensor.fromDoubles(in.type().dtype(), shape, v));
            }
            double tCpu;
            try (Session s = Backends.cpu().open(g)) {
                tCpu = seconds(() -> s.run(feeds), 10);
            }
            ai.onnxruntime.OrtEnvironment env = ai.onnxruntime.OrtEnvironment.getEnvironment();
            Map<String, ai.onnxruntime.OnnxTensor> of = new java.util.LinkedHashMap<>();
            double tOrt;
            try (ai.onnxruntime.OrtSession.SessionOptions so = new ai.onnxruntime.OrtSession.SessionOptions();
                 ai.onnxruntime.OrtSession s = env.createSession(dir.resolve(m).toString(), threads(so))) {
                for (Map.Entry<String, Tensor> e : feeds.entrySet()) of.put(e.getKey(), NnKernelsTest.toOrt(env, e.getValue()));
                tOrt = seconds(() -> {
                    try (ai.onnxruntime.OrtSession.Result r = s.run(of)) {
                        r.get(0);
                    } catch (OrtException e) {
                        throw new RuntimeException(e);
                    }
                }, 10);
            } finally {
                for (ai.onnxruntime.OnnxTensor o : of.values()) o.close();
            }
            System.out.printf("model %s: cpu %.2f ms, ORT %.2f ms (ratio %.1f)%n", m, tCpu * 1e3, tOrt * 1e3, tCpu / tOrt);
            profile(g, feeds);
        }
    }

    /** Time per op type over a few runs of the graph, node by node. */
    static void profile(Graph g, Map<String, Tensor> feeds) {
        Map<String, Double> per = new java.util.TreeMap<>();
        Map<String, Double> perNode = new java.util.HashMap<>();
        Map<String, INDArray> consts = new java.util.HashMap<>();
        g.initializers().forEach((k, v) -> consts.put(k, Nd.toNd(v)));
        for (int rep = 0; rep < 5; rep++) {
            Map<String, INDArray> vals = new java.util.HashMap<>(consts);
            feeds.forEach((k, v) -> vals.put(k, Nd.toNd(v)));
            for (Node n : g.topologicalOrder()) {
                INDArray[] args = new INDArray[n.inputs().size()];
                DType[] dt = new DType[args.length];
                for (int j = 0; j < args.length; j++) if (!n.input(j).isEmpty()) args[j] = vals.get(n.input(j));
                long t = System.nanoTime();
                INDArray[] out = KernelRegistry.standard().get(n.domain(), n.opType()).run(new OpContext(n, g.opsetOf(n.domain()), args, dt));
                double ms = (System.nanoTime() - t) / 1e6 / 4;
                if (rep > 0) per.merge(n.opType(), ms, Double::sum);
                if (rep > 0 && n.opType().equals("Conv")) perNode.merge(n.output(0) + " " + java.util.Arrays.toString(args[0].shape())
                        + " w" + java.util.Arrays.toString(args[1].shape()) + " " + args[0].dataType(), ms, Double::sum);
                for (int j = 0; j < n.outputs().size(); j++) if (!n.output(j).isEmpty()) vals.put(n.output(j), out[j]);
            }
        }
        StringBuilder sb = new StringBuilder("  per op (ms/run):");
        per.forEach((k, v) -> sb.append(String.format(" %s %.2f", k, v)));
        System.out.println(sb);
        perNode.entrySet().stream().sorted((a, b) -> Double.compare(b.getValue(), a.getValue())).limit(6)
                .forEach(e -> System.out.printf("    %s: %.2f ms%n", e.getKey(), e.getValue()));
    }

    static Tensor positive(Random rnd, long... shape) {
        float[] v = new float[(int) Tensor.checkedSize(shape)];
        for (int i = 0; i < v.length; i++) v[i] = 0.5f + rnd.nextFloat();
        return Tensor.of(v, shape);
    }

    /** Kernel time of a one-node model against ORT's run time (inputs all fed as graph inputs). */
    static void op(String name, int opset, Map<String, Attribute> attrs, Tensor... inputs) throws OrtException {
        String type = name.substring(0, name.indexOf(' '));
        Graph g = NnKernelsTest.model(type, opset, attrs, 1, inputs);
        Node n = g.nodes().get(0);
        INDArray[] args = new INDArray[inputs.length];
        for (int i = 0; i < args.length; i++) args[i] = Nd.toNd(inputs[i]);
        OpContext ctx = new OpContext(n, opset, args, new DType[args.length]);
        Kernel k = KernelRegistry.standard().get("", type);
        double t = seconds(() -> k.run(ctx), 30);
        ai.onnxruntime.OrtEnvironment env = ai.onnxruntime.OrtEnvironment.getEnvironment();
        Map<String, ai.onnxruntime.OnnxTensor> feeds = new java.util.LinkedHashMap<>();
        double tOrt;
        try (ai.onnxruntime.OrtSession.SessionOptions so = new ai.onnxruntime.OrtSession.SessionOptions();
             ai.onnxruntime.OrtSession s = env.createSession(io.condense.onnx.OnnxExporter.toBytes(g), threads(so))) {
            for (int i = 0; i < inputs.length; i++) feeds.put("in" + i, NnKernelsTest.toOrt(env, inputs[i]));
            tOrt = seconds(() -> {
                try (ai.onnxruntime.OrtSession.Result r = s.run(feeds)) {
                    r.get(0);
                } catch (OrtException e) {
                    throw new RuntimeException(e);
                }
            }, 30);
        } finally {
            for (ai.onnxruntime.OnnxTensor o : feeds.values()) o.close();
        }
        System.out.printf("%s: cpu %.3f ms, ORT %.3f ms (ratio %.1f)%n", name, t * 1e3, tOrt * 1e3, t / tOrt);
    }

    /** ORT session run time alone (session created once). */
    static double ortRun(Graph g, Tensor x) throws OrtException {
        ai.onnxruntime.OrtEnvironment env = ai.onnxruntime.OrtEnvironment.getEnvironment();
        try (ai.onnxruntime.OrtSession.SessionOptions so = new ai.onnxruntime.OrtSession.SessionOptions();
             ai.onnxruntime.OrtSession s = env.createSession(io.condense.onnx.OnnxExporter.toBytes(g), threads(so));
             ai.onnxruntime.OnnxTensor in = NnKernelsTest.toOrt(env, x)) {
            return seconds(() -> {
                try (ai.onnxruntime.OrtSession.Result r = s.run(Map.of("x", in))) {
                    r.get(0);
                } catch (OrtException e) {
                    throw new RuntimeException(e);
                }
            }, 40);
        }
    }
}
