package io.condense.spark;

import io.condense.ir.Graph;
import io.condense.quant.Calibration;
import io.condense.quant.CalibrationData;
import io.condense.quant.CalibrationResult;
import io.condense.quant.QuantConfig;
import io.condense.train.Models;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A task that fails once ({@code local[2,3]}: up to 3 attempts) is retried, and the result is still the single-process one. */
class SparkRetryTest {
    static final AtomicInteger FAILURES = new AtomicInteger();

    @Test
    void retriedTaskGivesTheSameStatistics() {
        Graph g = Models.lenet5(21);
        List<float[]> xs = SparkTestSupport.samples(24, 784, 9);
        List<String> tensors = SparkTestSupport.allOutputs(g);
        QuantConfig cfg = QuantConfig.defaults();
        CalibrationResult single = Calibration.run(g, tensors,
                CalibrationData.fromArray(g.inputs().get(0), SparkTestSupport.concat(xs), xs.size(), 784, 4, 0), cfg, null);
        JavaSparkContext sc = SparkTestSupport.context("local[2,3]");
        try {
            Feeds<float[]> arrays = Feeds.arrays();
            Feeds<float[]> failingOnce = (graph, batch) -> {
                TaskContext t = TaskContext.get();
                // the first attempt of partition 1 dies after it has already built some feeds
                if (t != null && t.partitionId() == 1 && t.attemptNumber() == 0 && FAILURES.compareAndSet(0, 1)) {
                    throw new IllegalStateException("injected task failure");
                }
                return arrays.feeds(graph, batch);
            };
            CalibrationResult got = DistributedStats.calibrate(Batched.of(sc.parallelize(xs, 2), 4, 0, 3), SparkModel.broadcast(sc, g),
                    failingOnce, tensors, cfg.bins(), 0);
            assertEquals(1, FAILURES.get(), "the injected failure happened");
            SparkTestSupport.assertSameStats(single, got);
        } finally {
            sc.stop();
        }
    }
}
