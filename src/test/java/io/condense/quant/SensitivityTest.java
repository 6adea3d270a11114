package io.condense.quant;

import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.train.Models;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SensitivityTest {
    @Test
    void oneEntryPerQuantizableLayerSortedByDrop() {
        io.condense.train.Threads.auto();
        Graph p = PtqPass.prepare(Models.lenet5(4));
        List<Map<String, Tensor>> data = PtqTest.batches(PtqTest.images(8, 32), 16);
        QuantConfig cfg = QuantConfig.of(CalibrationMethod.MINMAX);
        CalibrationResult stats = PtqPass.calibrate(p, cfg, data, null);
        Sensitivity.Report r = Sensitivity.analyze(p, stats, cfg, data, null, null);
        assertEquals("agreement", r.metricName());
        assertEquals(1.0, r.floatMetric());
        Set<String> expected = QdqRules.plan(p, cfg).stream().map(s -> p.nodes().get(s.node()).name()).collect(Collectors.toSet());
        assertEquals(expected, r.layers().stream().map(Sensitivity.Layer::node).collect(Collectors.toSet()));
        assertEquals(6, r.layers().size()); // 2 Conv, 2 MaxPool, 2 Gemm
        for (int i = 1; i < r.layers().size(); i++) assertTrue(r.layers().get(i - 1).drop() >= r.layers().get(i).drop());
        for (Sensitivity.Layer l : r.layers()) assertEquals(r.floatMetric() - l.metric(), l.drop(), 1e-12);
        assertEquals(r.layers().subList(0, 2).stream().map(Sensitivity.Layer::node).toList(), r.worst(2));
        // labels switch the metric to accuracy
        int[] labels = Sensitivity.top1(p, data);
        labels[0] = (labels[0] + 1) % 10;
        Sensitivity.Report acc = Sensitivity.analyze(p, stats, cfg, data, labels, null);
        assertEquals("accuracy", acc.metricName());
        assertEquals(31 / 32.0, acc.floatMetric(), 1e-12);
    }
}
