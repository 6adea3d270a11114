package io.condense.spark;

import io.condense.ir.Graph;
import io.condense.quant.TensorStats;
import io.condense.quant.CalibrationMethod;
import io.condense.quant.CalibrationResult;
import io.condense.quant.QuantConfig;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A local Spark context for the tests (no UI, loopback only) and the checks shared by the Spark tests. */
final class SparkTestSupport {
    private SparkTestSupport() {}

    static JavaSparkContext context(String master) {
        SparkConf conf = new SparkConf().setMaster(master).setAppName("condense-test")
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.ui.showConsoleProgress", "false")
                .set("spark.default.parallelism", "2");
        JavaSparkContext sc = new JavaSparkContext(conf);
        sc.setLogLevel("ERROR");
        return sc;
    }

    /** {@code n} seeded samples of {@code size} values in [0, 1). */
    static List<float[]> samples(int n, int size, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<float[]> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[] x = new float[size];
            for (int j = 0; j < size; j++) x[j] = (float) r.nextDouble();
            l.add(x);
        }
        return l;
    }

    static float[] concat(List<float[]> l) {
        int ss = l.get(0).length;
        float[] x = new float[l.size() * ss];
        for (int i = 0; i < l.size(); i++) System.arraycopy(l.get(i), 0, x, i * ss, ss);
        return x;
    }

    static List<String> allOutputs(Graph g) {
        List<String> t = new ArrayList<>();
        for (var n : g.nodes()) t.add(n.output(0));
        return t;
    }

    /** Every statistic bit for bit, and every threshold the calibrators derive from them. */
    static void assertSameStats(CalibrationResult want, CalibrationResult got) {
        assertEquals(want.stats().keySet(), got.stats().keySet());
        assertEquals(want.batches(), got.batches());
        assertEquals(want.samples(), got.samples());
        for (String t : want.stats().keySet()) {
            TensorStats a = want.get(t), b = got.get(t);
            assertEquals(a.count(), b.count(), t);
            assertEquals(Double.doubleToLongBits(a.min()), Double.doubleToLongBits(b.min()), t);
            assertEquals(Double.doubleToLongBits(a.max()), Double.doubleToLongBits(b.max()), t);
            assertArrayEquals(a.histogram().counts(), b.histogram().counts(), t);
            assertEquals(a.histogram().binWidth(), b.histogram().binWidth(), 0.0, t);
            for (CalibrationMethod m : CalibrationMethod.values()) {
                QuantConfig c = QuantConfig.of(m);
                assertEquals(Double.doubleToLongBits(a.threshold(c)), Double.doubleToLongBits(b.threshold(c)), t + " " + m);
            }
        }
    }
}
