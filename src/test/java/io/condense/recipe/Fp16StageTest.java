package io.condense.recipe;

import com.fasterxml.jackson.databind.JsonNode;
import io.condense.TestData;
import io.condense.cli.Main;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.ShapeInference;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import io.condense.report.Report;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code fp16} recipe stage: validated, and after {@code quantize} it converts the float parts of the INT8 model. */
class Fp16StageTest {
    @TempDir Path tmp;

    /** ONNX Runtime's top-1 accuracy on the first {@code n} MNIST test images (pixels 0..255). */
    static double ortAccuracy(Path onnx, Path mnist, int n) throws Exception {
        Graph g = OnnxImporter.load(onnx);
        io.condense.data.Dataset d = io.condense.data.Mnist.load(mnist, false, 1f).head(n);
        int[] labels = d.labels();
        int seen = 0, correct = 0;
        try (var s = io.condense.OrtTestSupport.session(Files.readAllBytes(onnx), 1, ai.onnxruntime.OrtSession.SessionOptions.OptLevel.ALL_OPT)) {
            for (var feed : io.condense.quant.CalibrationData.fromDataset(g.inputs().get(0), d, 1, 0)) {
                var y = io.condense.OrtTestSupport.run(s, feed).values().iterator().next();
                int best = 0;
                for (int c = 1; c < y.size(); c++) if (y.getDouble(c) > y.getDouble(best)) best = c;
                if (best == labels[seen++]) correct++;
            }
        }
        return (double) correct / seen;
    }

    @Test
    void validation() {
        Recipe r = RecipeLoader.parse("stages:\n  - fp16: {target: [bf16, fp16], keep_ops: [Softmax]}\n", "r.yaml", "r");
        assertEquals("fp16", r.stages().get(0).type());
        var c = (io.condense.recipe.stages.Fp16Stage.Config) r.stages().get(0).config();
        assertEquals(2, new io.condense.recipe.stages.Fp16Stage().candidates(c).size());
        assertEquals(io.condense.passes.FloatConversion.Target.FP16, c.target().get(0));
        String m = assertThrows(ModelException.class, () -> RecipeLoader.parse("stages:\n  - fp16: {target: fp8}\n", "r.yaml", "r")).getMessage();
        assertTrue(m.contains("fp8") && m.contains("fp16") && m.contains("bf16"), m);
        String k = assertThrows(ModelException.class, () -> RecipeLoader.parse("stages:\n  - fp16: {keep_op: [Softmax]}\n", "r.yaml", "r")).getMessage();
        assertTrue(k.contains("keep_op"), k);
    }

    @Test
    void quantizeThenFp16OnMnist() throws Exception {
        Path model = TestData.require("onnx/models/mnist-8/model.onnx"), mnist = TestData.require("mnist");
        Path recipe = tmp.resolve("r.yaml"), out = tmp.resolve("out");
        Files.writeString(recipe, """
                name: int8-fp16
                search: {max_relative_drop: 0.02, latency_repeats: 1}
                data: {calibration_batches: 4, eval_samples: 100}
                stages:
                  - quantize: {calibrator: [minmax]}
                  - fp16
                  - export-onnx: {file: model.onnx}
                  - report
                """);
        StringWriter o = new StringWriter(), e = new StringWriter();
        int rc = Main.execute(new String[] {"compress", model.toString(), "--recipe", recipe.toString(), "--data", mnist.toString(), "--scale", "1",
                "--out", out.toString()}, new PrintWriter(o, true), new PrintWriter(e, true));
        assertEquals(0, rc, o + "\n" + e);
        Graph g = OnnxImporter.load(out.resolve("model.onnx"));
        JsonNode h = Provenance.history(g);
        assertEquals("convert/fp16", h.get(h.size() - 1).get("method").asText(), h.toString());
        var types = ShapeInference.inferTypes(g);
        long dq = g.nodes().stream().filter(n -> n.opType().equals("DequantizeLinear")).count();
        assertTrue(dq > 0);
        for (Node n : g.nodes()) if (n.opType().equals("DequantizeLinear")) assertEquals(DType.FLOAT16, types.get(n.output(0)).dtype());
        JsonNode rep = Report.read(out.resolve("report.json"));
        double after = rep.get("after").get("metric").asDouble();
        // the metric of the written fp16+INT8 model, checked on ONNX Runtime
        assertEquals(ortAccuracy(out.resolve("model.onnx"), mnist, 100), after, 1.0 / 100 + 1e-12);
        assertTrue(after >= rep.get("floor").asDouble(), rep.toString());
    }
}
