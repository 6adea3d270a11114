package io.condense.tools;

import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.onnx.OnnxImporter;

import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

public class OpHistogram {
    public static void main(String[] args) throws Exception {
        for (String a : args) {
            long t0 = System.nanoTime();
            Graph g = OnnxImporter.load(Path.of(a));
            Map<String, Integer> h = new TreeMap<>();
            for (Node n : g.nodes()) h.merge(n.domain() + ":" + n.opType(), 1, Integer::sum);
            System.out.println(a + " opset=" + g.opsets() + " params=" + g.parameterCount() + " load=" + (System.nanoTime() - t0) / 1e6 + "ms");
            System.out.println("  inputs=" + g.inputs() + " outputs=" + g.outputs());
            System.out.println("  " + h);
        }
    }
}
