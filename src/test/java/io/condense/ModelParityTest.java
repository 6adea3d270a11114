package io.condense;

import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.Half;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.TensorCodec;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole pretrained models on the CPU executor against ONNX Runtime Java on the same input (and against the
 * published test output where one is staged). Float models must agree to 1e-4 max-abs, scaled by the output's
 * magnitude when it exceeds 1 (mnist-8's logits reach the thousands, where one float32 step is 2.4e-4 or more);
 * float16 models to 1e-3 (about two half-precision steps). Each comparison prints its max-abs difference.
 */
class ModelParityTest {
    static final double FLOAT_TOL = 1e-4;
    static final double HALF_TOL = 1e-3;

    record Case(String name, Path model, List<Map<String, Tensor>> feeds, List<List<Tensor>> published) {}

    @TestFactory
    Stream<DynamicTest> stagedModels() throws IOException {
        Path models = TestData.require("onnx/models");
        List<DynamicTest> tests = new ArrayList<>();
        tests.add(DynamicTest.dynamicTest("mnist-8", () -> check(withTestSets("mnist-8", models.resolve("mnist-8/model.onnx")))));
        tests.add(DynamicTest.dynamicTest("super_resolution-10", () -> check(withTestSets("super_resolution-10",
                models.resolve("super_resolution-10/super_resolution.onnx")))));
        for (String[] m : new String[][] {
                {"tribuo-cnn-mnist", "tribuo-cnn-mnist/cnn_mnist.onnx"},
                {"squeezenet1.1-fp16", "squeezenet1.1-fp16/SqueezeNet_fp16.onnx"},
                {"tinybert", "tinybert/tinybert.onnx"}}) {
            tests.add(DynamicTest.dynamicTest(m[0], () -> check(random(m[0], models.resolve(m[1]), 1000))));
        }
        return tests.stream();
    }

    /** The ONNX "light" model-zoo graphs (weights as ConstantOfShape nodes) against ORT and their published outputs. */
    @TestFactory
    Stream<DynamicTest> lightModels() throws IOException {
        Path dir = TestData.require("onnx/light");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".onnx")).sorted().toList();
        }
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> {
            String base = f.getFileName().toString().replace(".onnx", "");
            Case c = random(base, f, 1000);
            Path out = dir.resolve(base + "_output_0.pb");
            List<List<Tensor>> pub = new ArrayList<>();
            // the published outputs come from dummy inputs that are not staged; these graphs' outputs do not depend
            // on the input (constant weights, uniform softmax), which ORT confirms below before we rely on it
            if (Files.exists(out)) pub.add(List.of(TensorCodec.readPb(out)));
            check(new Case(c.name(), c.model(), c.feeds(), pub));
        }));
    }

    @TestFactory
    Stream<DynamicTest> miniLm() {
        return Stream.of(DynamicTest.dynamicTest("all-minilm-l6-v2", () -> {
            Path model = TestData.miniLm();
            Assumptions.assumeTrue(model != null, "MiniLM resource not on the test classpath: skipping");
            check(random("all-minilm-l6-v2", model, 30522));
        }));
    }

    static double maxAbs(Tensor t) {
        double m = 0;
        for (int i = 0; i < t.size(); i++) m = Math.max(m, Math.abs(t.getDouble(i)));
        return m;
    }

    static Case withTestSets(String name, Path model) throws IOException {
        Graph g = OnnxImporter.load(model);
        List<Map<String, Tensor>> feeds = new ArrayList<>();
        List<List<Tensor>> pub = new ArrayList<>();
        try (Stream<Path> s = Files.list(model.getParent())) {
            for (Path set : s.filter(p -> p.getFileName().toString().startsWith("test_data_set")).sorted().toList()) {
                Map<String, Tensor> f = new LinkedHashMap<>();
                for (int i = 0; i < g.inputs().size(); i++) {
                    ValueInfo in = g.inputs().get(i);
                    Tensor t = TensorCodec.readPb(set.resolve("input_" + i + ".pb"));
                    long[] want = concrete(in);
                    if (t.rank() != want.length) t = t.reshape(want); // super_resolution stores [224,224] for [1,1,224,224]
                    f.put(in.name(), t);
                }
                List<Tensor> outs = new ArrayList<>();
                for (int i = 0; Files.exists(set.resolve("output_" + i + ".pb")); i++) outs.add(TensorCodec.readPb(set.resolve("output_" + i + ".pb")));
                feeds.add(f);
                pub.add(outs);
            }
        }
        return new Case(name, model, feeds, pub);
    }

    /** One seeded random input; integer inputs named like token ids take values below {@code vocab}. */
    static Case random(String name, Path model, int vocab) throws IOException {
        Graph g = OnnxImporter.load(model);
        Random r = new Random(42);
        Map<String, Tensor> f = new LinkedHashMap<>();
        for (ValueInfo in : g.inputs()) {
            long[] shape = concrete(in);
            int n = (int) Tensor.checkedSize(shape);
            DType t = in.type().dtype();
            Tensor x = switch (t) {
                case FLOAT32 -> { float[] a = new float[n]; for (int i = 0; i < n; i++) a[i] = r.nextFloat(); yield Tensor.of(a, shape); }
                case FLOAT16 -> { short[] a = new short[n]; for (int i = 0; i < n; i++) a[i] = Half.fromFloat(r.nextFloat()); yield Tensor.of(t, shape, a); }
                case INT64 -> {
                    long[] a = new long[n];
                    String nm = in.name().toLowerCase();
                    for (int i = 0; i < n; i++) a[i] = nm.contains("mask") ? 1 : nm.contains("type") ? 0 : 1 + r.nextInt(vocab - 1);
                    yield Tensor.of(a, shape);
                }
                default -> throw new IllegalStateException(name + ": no random input for " + t);
            };
            f.put(in.name(), x);
        }
        return new Case(name, model, List.of(f), List.of());
    }

    /** The input's shape with symbolic dimensions fixed: batch 1, anything else (a sequence) 16. */
    static long[] concrete(ValueInfo in) {
        List<Dim> dims = in.type().dims();
        long[] s = new long[dims.size()];
        for (int i = 0; i < s.length; i++) s[i] = dims.get(i).isKnown() ? dims.get(i).value() : i == 0 ? 1 : 16;
        return s;
    }

    static void check(Case c) throws Exception {
        byte[] bytes = Files.readAllBytes(c.model());
        Graph g = OnnxImporter.fromBytes(bytes);
        try (Session s = Backends.cpu().open(g); OrtReference ort = new OrtReference(bytes)) {
            for (int k = 0; k < c.feeds().size(); k++) {
                Map<String, Tensor> feeds = c.feeds().get(k);
                Map<String, Tensor> ours = s.run(feeds);
                Map<String, Tensor> ref = ort.run(feeds);
                assertEquals(ref.keySet(), ours.keySet(), c.name() + ": output names");
                int i = 0;
                for (Map.Entry<String, Tensor> e : ref.entrySet()) {
                    Tensor want = e.getValue();
                    Tensor got = ours.get(e.getKey());
                    double scale = Math.max(1, maxAbs(want));
                    double tol = (want.dtype() == DType.FLOAT16 ? HALF_TOL : FLOAT_TOL) * scale;
                    assertArrayEquals(want.shape(), got.shape(), c.name() + " " + e.getKey() + ": shape");
                    assertEquals(want.dtype(), got.dtype(), c.name() + " " + e.getKey() + ": dtype");
                    double d = TensorAssert.maxAbsDiff(want, got);
                    System.out.printf("parity %-24s %-28s vs ORT max-abs %.3g (output max |x| %.3g)%n", c.name(), e.getKey(), d, maxAbs(want));
                    assertTrue(d <= tol, c.name() + " output " + e.getKey() + ": max-abs diff vs ORT " + d + " > " + tol);
                    if (k < c.published().size() && i < c.published().get(k).size()) {
                        Tensor pub = c.published().get(k).get(i);
                        double dr = TensorAssert.maxAbsDiff(pub, want);
                        double dp = TensorAssert.maxAbsDiff(pub, got);
                        System.out.printf("parity %-24s %-28s vs published max-abs %.3g (ORT vs published %.3g)%n",
                                c.name(), e.getKey(), dp, dr);
                        if (dr <= 1e-3 * scale) assertTrue(dp <= dr + tol, c.name() + ": published output differs by " + dp);
                    }
                    i++;
                }
            }
        }
    }
}
