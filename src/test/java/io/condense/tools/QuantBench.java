package io.condense.tools;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.condense.OrtReference;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxImporter;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Latency of quantized models on the CPU backend and on ONNX Runtime (same process, timed one after the other, each
 * after a warm-up): {@code QuantBench MODEL.onnx [runs]}. Prints the median and best wall time of each and the
 * process CPU time per run (all threads), which a loaded machine distorts much less than wall time.
 */
public class QuantBench {
    public static void main(String[] args) throws Exception {
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        byte[] bytes = Files.readAllBytes(Path.of(args[0]));
        Graph g = OnnxImporter.fromBytes(bytes);
        Random r = new Random(7);
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        for (ValueInfo in : g.inputs()) {
            List<Dim> dims = in.type().dims();
            long[] s = new long[dims.size()];
            for (int i = 0; i < s.length; i++) s[i] = dims.get(i).isKnown() ? dims.get(i).value() : 1;
            float[] v = new float[(int) Tensor.checkedSize(s)];
            for (int i = 0; i < v.length; i++) v[i] = r.nextFloat();
            feeds.put(in.name(), Tensor.of(v, s));
        }
        // ORT's worker threads spin after each run by default; on a small machine that steals the CPU from the
        // runs measured next, so spinning is off and the two engines are timed in separate phases
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setIntraOpNumThreads(Runtime.getRuntime().availableProcessors());
        o.addConfigEntry("session.intra_op.allow_spinning", "0");
        try (Session s = Backends.cpu().open(g); OrtSession ort = OrtEnvironment.getEnvironment().createSession(bytes, o)) {
            Map<String, OnnxTensor> in = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : feeds.entrySet()) in.put(e.getKey(), OrtReference.toOrt(e.getValue()));
            long[] ours = new long[runs], theirs = new long[runs];
            for (int i = 0; i < Math.max(5, runs / 2); i++) s.run(feeds);
            com.sun.management.OperatingSystemMXBean os =
                    (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            long c0 = os.getProcessCpuTime();
            for (int i = 0; i < runs; i++) {
                long t0 = System.nanoTime();
                s.run(feeds);
                ours[i] = System.nanoTime() - t0;
            }
            double ourCpu = (os.getProcessCpuTime() - c0) / 1e6 / runs;
            for (int i = 0; i < Math.max(5, runs / 2); i++) ort.run(in).close();
            long c1 = os.getProcessCpuTime();
            for (int i = 0; i < runs; i++) {
                long t0 = System.nanoTime();
                ort.run(in).close();
                theirs[i] = System.nanoTime() - t0;
            }
            double ortCpu = (os.getProcessCpuTime() - c1) / 1e6 / runs;
            java.util.Arrays.sort(ours);
            java.util.Arrays.sort(theirs);
            System.out.printf("%s: condense median %.2f ms (best %.2f, %.1f CPU-ms/run), ORT median %.2f ms (best %.2f, %.1f CPU-ms/run)%n",
                    Path.of(args[0]).getFileName(), ours[runs / 2] / 1e6, ours[0] / 1e6, ourCpu, theirs[runs / 2] / 1e6, theirs[0] / 1e6, ortCpu);
        }
    }
}
