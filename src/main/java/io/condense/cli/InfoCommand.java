package io.condense.cli;

import io.condense.backend.cpu.KernelRegistry;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxImporter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;

/** {@code condense info MODEL}: what a model takes, returns and is made of. */
@Command(name = "info", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Show a model's inputs and outputs (dtype and shape, symbolic dims by name), opsets, "
                + "op histogram, parameters by dtype, size on disk and producer.",
        footer = {"", "Example:", "  condense info ../shared/data/onnx/models/mnist-8/model.onnx"})
final class InfoCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "ONNX model file (.onnx).")
    Path model;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        long t0 = System.nanoTime();
        Graph g = OnnxImporter.load(model);
        double loadMs = (System.nanoTime() - t0) / 1e6;
        PrintWriter out = spec.commandLine().getOut();
        print(out, model, Files.size(model), g, loadMs);
        out.flush();
        return Main.EXIT_OK;
    }

    static void print(PrintWriter out, Path file, long fileBytes, Graph g, double loadMs) {
        out.printf("model:      %s%n", file);
        out.printf("size:       %s on disk (loaded in %.0f ms)%n", Fmt.bytes(fileBytes), loadMs);
        String producer = (g.producerName() + " " + g.producerVersion()).strip();
        out.printf("producer:   %s%n", producer.isEmpty() ? "(not recorded)" : producer);
        out.printf("ir version: %d%n", g.irVersion());
        List<String> opsets = new ArrayList<>();
        g.opsets().forEach((d, v) -> opsets.add((d.isEmpty() ? "ai.onnx" : d) + " " + v));
        out.printf("opsets:     %s%n", String.join(", ", opsets));
        if (!g.name().isEmpty()) out.printf("graph:      %s%n", g.name());
        if (!g.metadata().isEmpty()) {
            out.println("metadata:");
            g.metadata().forEach((k, v) -> out.printf("  %s = %s%n", k, Main.oneLine(v)));
        }

        out.printf("inputs (%d):%n", g.inputs().size());
        printValues(out, g.inputs());
        out.printf("outputs (%d):%n", g.outputs().size());
        printValues(out, g.outputs());

        Map<DType, long[]> byType = new EnumMap<>(DType.class);
        for (Tensor t : g.initializers().values()) {
            long[] c = byType.computeIfAbsent(t.dtype(), k -> new long[3]);
            c[0] += t.size();
            c[1] += t.storageBytes();
            c[2]++;
        }
        long params = 0, bytes = 0;
        for (long[] c : byType.values()) {
            params += c[0];
            bytes += c[1];
        }
        out.printf("parameters: %s in %d initializers, %s%n", Fmt.count(params), g.initializers().size(), Fmt.bytes(bytes));
        for (Map.Entry<DType, long[]> e : byType.entrySet()) {
            long[] c = e.getValue();
            out.printf("  %-9s %15s  %10s  (%d tensor%s)%n", e.getKey().name().toLowerCase(), Fmt.count(c[0]),
                    Fmt.bytes(c[1]), c[2], c[2] == 1 ? "" : "s");
        }

        Map<String, Integer> hist = new TreeMap<>();
        int[] total = {0};
        histogram(g, hist, total);
        out.printf("ops: %d nodes, %d op types%s%n", total[0], hist.size(),
                total[0] > g.nodes().size() ? " (including " + (total[0] - g.nodes().size()) + " in subgraphs)" : "");
        List<Map.Entry<String, Integer>> sorted = new ArrayList<>(hist.entrySet());
        sorted.sort((a, b) -> b.getValue() != a.getValue().intValue() ? b.getValue() - a.getValue()
                : a.getKey().compareTo(b.getKey()));
        for (Map.Entry<String, Integer> e : sorted) out.printf("  %-28s %6d%n", e.getKey(), e.getValue());

        TreeSet<String> missing = new TreeSet<>();
        unsupported(g, KernelRegistry.standard(), missing);
        out.println(missing.isEmpty() ? "cpu backend: supports every op of this model"
                : "cpu backend: no kernel yet for " + String.join(", ", missing));
    }

    private static void printValues(PrintWriter out, List<ValueInfo> values) {
        int w = 4;
        for (ValueInfo v : values) w = Math.max(w, v.name().length());
        for (ValueInfo v : values) out.printf("  %-" + w + "s  %s%n", v.name(), Fmt.type(v.type()));
    }

    private static void histogram(Graph g, Map<String, Integer> hist, int[] total) {
        for (Node n : g.nodes()) {
            hist.merge(opName(n), 1, Integer::sum);
            total[0]++;
            for (Graph sub : subgraphs(n)) histogram(sub, hist, total);
        }
    }

    private static void unsupported(Graph g, KernelRegistry r, TreeSet<String> missing) {
        for (Node n : g.nodes()) {
            if (r.get(n.domain(), n.opType()) == null) missing.add(opName(n));
            for (Graph sub : subgraphs(n)) unsupported(sub, r, missing);
        }
    }

    static List<Graph> subgraphs(Node n) {
        List<Graph> l = new ArrayList<>();
        for (Attribute a : n.attributes().values()) {
            if (a.kind() == Attribute.Kind.GRAPH) l.add(a.asGraph());
            else if (a.kind() == Attribute.Kind.GRAPHS) l.addAll(a.asGraphs());
        }
        return l;
    }

    static String opName(Node n) { return n.domain().isEmpty() ? n.opType() : n.domain() + "." + n.opType(); }
}
