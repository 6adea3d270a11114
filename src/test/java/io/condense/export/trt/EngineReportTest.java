package io.condense.export.trt;

import io.condense.ir.ModelException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link EngineReport} on a HAND-MADE inspector JSON (inspector-int8-sparse-sample.json, written by us after the
 * format TensorRT documents for IEngineInspector with ProfilingVerbosity::kDETAILED and LayerInformationFormat::kJSON:
 * "Layers" with Name, LayerType, Inputs/Outputs with Format/Datatype, TacticName; tactic names in the style TensorRT
 * prints). It is not the output of a real build: no GPU was available. It models an INT8 QDQ CNN with one FP16 conv
 * left out of the Q/DQ placement, an FP32 classifier, two reformat layers, one sparse and one dense INT8 conv over
 * 2:4 weights, and a Myelin block.
 */
class EngineReportTest {
    static String sample() throws IOException {
        try (InputStream in = EngineReportTest.class.getResourceAsStream("inspector-int8-sparse-sample.json")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void perLayerPrecisionsTacticsAndCounts() throws IOException {
        EngineReport r = EngineReport.parse(sample());
        assertEquals(8, r.layers().size());
        assertEquals(List.of("input", "output"), r.bindings());
        EngineReport.Layer first = r.layers().get(0);
        assertEquals("Reformat", first.type());
        assertEquals("FP32", first.inputPrecision());
        assertEquals("FP16", first.outputPrecision());
        assertEquals("FP16", r.layers().get(1).inputPrecision());
        assertEquals("INT8", r.layers().get(2).inputPrecision());
        assertEquals("INT8", r.layers().get(2).outputPrecision());
        assertEquals(2, r.reformats().size());
        assertEquals(List.of("quant_relu1 + conv2 + relu2"), r.sparseLayers().stream().map(EngineReport.Layer::name).toList());
        assertEquals(List.of("conv1 + relu1", "fc"), r.higherPrecision(true).stream().map(EngineReport.Layer::name).toList());
        assertEquals(List.of("fc"), r.higherPrecision(false).stream().map(EngineReport.Layer::name).toList());
        assertEquals(Map.of("FP16", 2, "INT8", 3, "FP32", 1), r.precisionHistogram());
    }

    @Test
    void warningsNameTheLayersThatDefeatInt8AndSparsity() throws IOException {
        EngineReport r = EngineReport.parse(sample());
        List<String> w = r.warnings(true, Set.of("conv2", "conv3"), true);
        assertEquals(4, w.size(), w.toString());
        assertTrue(w.get(0).startsWith("2 compute layer(s) are not INT8") && w.get(0).contains("conv1 + relu1; fc"), w.get(0));
        assertTrue(w.get(1).startsWith("1 layer(s) over 2:4 weights got a dense tactic") && w.get(1).endsWith("quant_relu2 + conv3"), w.get(1));
        assertTrue(w.get(2).startsWith("2 reformat layer(s)"), w.get(2));
        assertTrue(w.get(3).startsWith("1 Myelin layer(s)"), w.get(3));
        // without sparsity asked, no 2:4 warning
        assertEquals(3, r.warnings(true, Set.of("conv2", "conv3"), false).size());
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        r.print(new PrintStream(bo, true, StandardCharsets.UTF_8), true, Set.of("conv2", "conv3"), true);
        String text = bo.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("<- higher precision") && text.contains("reformat layers: 2; sparse tactics: 1"), text);
    }

    @Test
    void precisionStrings() {
        assertEquals("FP32", EngineReport.precision("Row major linear FP32"));
        assertEquals("FP16", EngineReport.precision("Channel major FP16 format where channel % 2 == 0"));
        assertEquals("INT8", EngineReport.precision("Thirty-two wide channel vectorized row major Int8 format."));
        assertEquals("BF16", EngineReport.precision("Row major linear BFloat16"));
        assertEquals("INT32", EngineReport.precision("Row major linear Int32"));
        assertEquals("FP32", EngineReport.precision("Row major linear Float"));
        assertEquals("?", EngineReport.precision(""));
    }

    @Test
    void badInputIsOneLine() {
        assertThrows(ModelException.class, () -> EngineReport.parse("not json"));
        assertThrows(ModelException.class, () -> EngineReport.parse("{\"x\": 1}"));
        ModelException e = assertThrows(ModelException.class, () -> EngineReport.parse("{\"Layers\": [\"conv1 + relu1\"], \"Bindings\": []}"));
        assertTrue(e.getMessage().contains("detailed profiling verbosity"), e.getMessage());
    }
}
