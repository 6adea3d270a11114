package io.condense.backend.cpu;

import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Node;
import io.condense.passes.Fusion;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Microbenchmark of the CPU backend's hot kernels at MiniLM-L6 shapes (sequence 128, hidden 384, 12 heads):
 * each kernel's time per call, its GB/s (memory-bound ops: bytes read + written) or GFLOP/s (MatMul), and that as a
 * fraction of this machine's measured peak: a STREAM-like copy of a 64 MB float array for GB/s, a 1024^3 sgemm through
 * ND4J for GFLOP/s. Kernels run as the session runs them: the registered kernel on an {@link OpContext}, inputs as
 * ND4J arrays, a fresh output per call. Rates use the median wall time per call; "cpu us/call" is the process CPU time
 * per call (all threads), which a loaded machine inflates less. Not part of CI; run with {@code benchmarks/kernels.sh}.
 * Options: {@code --ms N} target time per measurement (default 300), {@code --only SUBSTRING}.
 */
public final class KernelBench {
    private static final Random R = new Random(1);
    private long targetMs = 300;
    private double peakGBs, peakGFlops;

    public static void main(String[] args) {
        KernelBench b = new KernelBench();
        String only = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--ms" -> b.targetMs = Long.parseLong(args[++i]);
                case "--only" -> only = args[++i];
                default -> {
                    System.err.println("usage: benchmarks/kernels.sh [--ms N] [--only SUBSTRING]");
                    System.exit(2);
                }
            }
        }
        b.run(only);
    }

    private void run(String only) {
        double[] la = loadAverage();
        System.out.printf("condense kernel microbenchmark; load average %.2f on %d cores%s%n", la[0], Runtime.getRuntime().availableProcessors(),
                la[0] > Runtime.getRuntime().availableProcessors() ? " (busy machine: figures are indicative only)" : "");
        // peaks
        float[] src = new float[16 << 20], dst = new float[16 << 20];
        double copyNs = time(() -> System.arraycopy(src, 0, dst, 0, src.length));
        peakGBs = 2.0 * 4 * src.length / copyNs;
        INDArray ga = Nd4j.rand(DataType.FLOAT, 1024, 1024), gb = Nd4j.rand(DataType.FLOAT, 1024, 1024);
        double gemmNs = time(() -> Nd4j.gemm(ga, gb, false, false));
        peakGFlops = 2.0 * 1024 * 1024 * 1024 / gemmNs;
        System.out.printf("peak: copy 64 MB float[] %.1f GB/s (read+write); sgemm 1024^3 (ND4J) %.1f GFLOP/s%n%n", peakGBs, peakGFlops);
        System.out.printf("%-44s %12s %10s %8s %12s%n", "kernel", "us/call", "rate", "of peak", "cpu us/call");
        KernelRegistry reg = KernelRegistry.standard();
        List<Case> cases = new ArrayList<>();
        long[] h = {1, 128, 384}, ff = {1, 128, 1536}, att = {1, 12, 128, 128};
        cases.add(mem("Add same shape [1,128,384]", reg, "Add", attrs(), rand(h), rand(h)));
        cases.add(mem("Add bias [1,128,1536]+[1536]", reg, "Add", attrs(), rand(ff), rand(1536)));
        cases.add(mem("Add mask [1,12,128,128]+[1,1,1,128]", reg, "Add", attrs(), rand(att), rand(1, 1, 1, 128)));
        cases.add(mem("Mul scalar [1,12,128,128]", reg, "Mul", attrs(), rand(att), Nd4j.scalar(0.125f)));
        cases.add(mem("Sub per-row [1,128,384]-[1,128,1]", reg, "Sub", attrs(), rand(h), rand(1, 128, 1)));
        cases.add(mem("Div same shape [1,128,1536]", reg, "Div", attrs(), rand(ff), rand(ff)));
        cases.add(mem("Add large same shape [4M]", reg, "Add", attrs(), rand(4 << 20), rand(4 << 20)));
        cases.add(mem("Erf [1,128,1536]", reg, "Erf", attrs(), rand(ff)));
        cases.add(mem("Tanh [1,128,1536]", reg, "Tanh", attrs(), rand(ff)));
        cases.add(mem("Exp [1,128,1536]", reg, "Exp", attrs(), rand(ff)));
        cases.add(mem("Sqrt [1,128,1536]", reg, "Sqrt", attrs(), rand(ff)));
        cases.add(mem("Pow ^2 [1,128,384]", reg, "Pow", attrs(), rand(h), Nd4j.scalar(2f)));
        io.condense.ir.Graph g0 = io.condense.ir.Graph.builder().name("bench").opset("", 18).build();
        Node gelu = new Node("gelu", Fusion.GELU, Fusion.DOMAIN, List.of("x"), List.of("y"), Map.of());
        cases.add(new Case("fused Gelu [1,128,1536]", FusedKernels.create(gelu, g0, reg), gelu, 1, bytes(2, ff), 0, rand(ff)));
        Node ln = new Node("ln", Fusion.LAYER_NORM, Fusion.DOMAIN, List.of("x", "g", "b"), List.of("y"), Map.of());
        cases.add(new Case("fused LayerNorm [1,128,384]", FusedKernels.create(ln, g0, reg), ln, 1, bytes(2, h), 0, rand(h), rand(384), rand(384)));
        cases.add(mem("Softmax [1,12,128,128]", reg, "Softmax", attrs("axis", -1L), rand(att)));
        cases.add(mem("Transpose [1,128,12,32] perm 0213", reg, "Transpose", attrs("perm", new long[] {0, 2, 1, 3}), rand(1, 128, 12, 32)));
        cases.add(mem("ReduceMean last axis [1,128,384]", reg, "ReduceMean", attrs("axes", new long[] {-1}), rand(h)));
        cases.add(flop("MatMul [128,384]x[384,1536]", reg, "MatMul", 2.0 * 128 * 384 * 1536, rand(1, 128, 384), rand(384, 1536)));
        cases.add(flop("MatMul attention [12,128,32]x[12,32,128]", reg, "MatMul", 2.0 * 12 * 128 * 32 * 128, rand(1, 12, 128, 32), rand(1, 12, 32, 128)));
        // INT8 (dynamic quantization of MiniLM's FFN): GOP/s of the integer GEMM, shown against the sgemm peak
        INDArray a8 = bytesOf(DataType.UBYTE, 1, 128, 384), w8 = bytesOf(DataType.BYTE, 384, 1536);
        INDArray az = Nd.toNd(io.condense.ir.Tensor.of(DType.UINT8, new long[0], new byte[] {0})), wz = Nd4j.zeros(DataType.BYTE, 1536);
        cases.add(new Case("MatMulInteger u8s8 [128,384]x[384,1536]", reg.get("", "MatMulInteger"),
                node("MatMulInteger", 4, Map.of()), 13, 0, 2.0 * 128 * 384 * 1536, a8, w8, az, wz));
        Node mif = new Node("mif", Fusion.MATMUL_INTEGER_TO_FLOAT, Fusion.DOMAIN, List.of("a", "b", "az", "bz", "s", "bias"), List.of("y"), Map.of());
        cases.add(new Case("fused MatMulIntegerToFloat [128,384]x[384,1536]", FusedKernels.create(mif, g0, reg), mif, 1, 0,
                2.0 * 128 * 384 * 1536, a8, w8, az, wz, rand(1536), rand(1536)));
        cases.add(new Case("DynamicQuantizeLinear [1,128,1536]", reg.get("", "DynamicQuantizeLinear"), node("DynamicQuantizeLinear", 1, Map.of()),
                13, 5.0 * 128 * 1536, 0, rand(ff)));
        Node qdq = new Node("qdq", Fusion.FAKE_QUANT, Fusion.DOMAIN, List.of("x", "s", "z", "s", "z"), List.of("y"), Map.of());
        INDArray qs = Nd4j.scalar(0.05f), qz = Nd.toNd(io.condense.ir.Tensor.of(DType.INT8, new long[0], new byte[] {3}));
        cases.add(new Case("fused QuantizeDequantize [1,128,1536]", FusedKernels.create(qdq, g0, reg), qdq, 1, bytes(2, ff), 0, rand(ff), qs, qz, qs, qz));
        for (Case c : cases) {
            if (only != null && !c.name.contains(only)) continue;
            if (c.kernel == null) {
                System.out.printf("%-44s %12s%n", c.name, "n/a (no such kernel in this build)");
                continue;
            }
            OpContext ctx = new OpContext(c.node, c.opset, c.in, new DType[c.in.length]);
            double ns = time(() -> c.kernel.run(ctx));
            if (c.flops > 0) {
                double gf = c.flops / ns;
                System.out.printf("%-44s %12.1f %6.1f GF/s %7.1f%% %12.1f%n", c.name, ns / 1e3, gf, 100 * gf / peakGFlops, lastCpuNs / 1e3);
            } else {
                double gbs = c.bytes / ns;
                System.out.printf("%-44s %12.1f %6.2f GB/s %7.1f%% %12.1f%n", c.name, ns / 1e3, gbs, 100 * gbs / peakGBs, lastCpuNs / 1e3);
            }
        }
    }

    private record Case(String name, Kernel kernel, Node node, int opset, double bytes, double flops, INDArray... in) {}

    private static Case mem(String name, KernelRegistry reg, String op, Map<String, Attribute> attrs, INDArray... in) {
        long bytes = 0;
        long outLen = 0;
        for (INDArray a : in) {
            bytes += 4 * a.length();
            outLen = Math.max(outLen, a.length());
        }
        if (op.startsWith("Reduce")) outLen = in[0].length() / in[0].size(-1);
        bytes += 4 * outLen;
        return new Case(name, reg.get("", op), node(op, in.length, attrs), 18, bytes, 0, in);
    }

    private static Case flop(String name, KernelRegistry reg, String op, double flops, INDArray... in) {
        return new Case(name, reg.get("", op), node(op, in.length, Map.of()), 18, 0, flops, in);
    }

    private static double bytes(int arrays, long[] shape) { return 4.0 * arrays * Arrays.stream(shape).reduce(1, (x, y) -> x * y); }

    private static Node node(String op, int inputs, Map<String, Attribute> attrs) {
        List<String> ins = new ArrayList<>();
        for (int i = 0; i < inputs; i++) ins.add("in" + i);
        return new Node(op.toLowerCase(), op, "", ins, List.of("out"), attrs);
    }

    private static Map<String, Attribute> attrs(Object... kv) {
        Map<String, Attribute> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            Object v = kv[i + 1];
            m.put((String) kv[i], v instanceof long[] l ? Attribute.of(l) : Attribute.of((Long) v));
        }
        return m;
    }

    /** Uniformly random bytes as a UBYTE/BYTE array. */
    private static INDArray bytesOf(DataType t, long... shape) {
        INDArray a = Nd4j.createUninitialized(t, shape, 'c');
        byte[] b = new byte[(int) a.length()];
        R.nextBytes(b);
        a.data().asNio().put(b);
        return a;
    }

    private static INDArray rand(long... shape) {
        INDArray a = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
        java.nio.FloatBuffer fb = a.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < a.length(); i++) fb.put(i, (float) R.nextGaussian());
        return a;
    }

    /** Median nanoseconds per call over batches filling about targetMs, after a warm-up of the same length. */
    private double time(Runnable r) {
        long end = System.nanoTime() + targetMs * 1_000_000L;
        int calls = 0;
        while (System.nanoTime() < end || calls < 5) {
            r.run();
            calls++;
        }
        int batches = 15;
        int per = Math.max(1, calls / batches);
        double[] t = new double[batches];
        long cpu0 = cpuNanos();
        for (int b = 0; b < batches; b++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < per; i++) r.run();
            t[b] = (double) (System.nanoTime() - t0) / per;
        }
        lastCpuNs = (double) (cpuNanos() - cpu0) / (batches * per);
        Arrays.sort(t);
        return t[batches / 2];
    }

    /** Process CPU time per call of the last {@link #time} (all threads: ND4J's OpenMP pool, GC, JIT). */
    private double lastCpuNs;

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static double[] loadAverage() {
        try {
            String s = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
            return new double[] {Double.parseDouble(s.split("\\s+")[0])};
        } catch (Exception e) {
            return new double[] {java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()};
        }
    }
}
