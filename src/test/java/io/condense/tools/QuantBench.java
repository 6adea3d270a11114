package io.condense.tools;

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
 * Latency of quantized models on the CPU backend and on ONNX Runtime, measured alternately in one process after a
 * warm-up: {@code QuantBench MODEL.onnx [runs]}. Prints the median and best of each.
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
        try (Session s = Backends.cpu().open(g); OrtReference ort = new OrtReference(bytes)) {
            for (int i = 0; i < Math.max(5, runs / 2); i++) { s.run(feeds); ort.run(feeds); }
            long[] ours = new long[runs], theirs = new long[runs];
            for (int i = 0; i < runs; i++) {
                long t0 = System.nanoTime();
                s.run(feeds);
                long t1 = System.nanoTime();
                ort.run(feeds);
                ours[i] = t1 - t0;
                theirs[i] = System.nanoTime() - t1;
            }
            java.util.Arrays.sort(ours);
            java.util.Arrays.sort(theirs);
            System.out.printf("%s: condense median %.2f ms (best %.2f), ORT median %.2f ms (best %.2f), ratio %.1fx%n",
                    Path.of(args[0]).getFileName(), ours[runs / 2] / 1e6, ours[0] / 1e6, theirs[runs / 2] / 1e6, theirs[0] / 1e6,
                    (double) ours[runs / 2] / theirs[runs / 2]);
        }
    }
}
