package io.condense.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.condense.TestData;
import io.condense.data.Idx;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.OnnxImporter;
import io.condense.quant.CalibrationData;
import io.condense.quant.Sensitivity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code condense-spark calibrate|eval} on the staged MNIST model: Spark output == the single-process output. */
class SparkMainTest {
    @TempDir Path tmp;

    @Test
    void calibrateOnSparkWritesTheSingleProcessStatisticsAndAWorkingModel() throws Exception {
        Path model = TestData.require("onnx/models/mnist-8/model.onnx");
        Path images = TestData.require("mnist/t10k-images-idx3-ubyte.gz");
        Path spark = tmp.resolve("spark.json"), single = tmp.resolve("single.json"), q = tmp.resolve("q.onnx");
        assertEquals(0, SparkMain.run("calibrate", model.toString(), "--idx", images.toString(), "--samples", "96", "--batch-size", "8",
                "--master", "local[2]", "--partitions", "3", "--out", spark.toString(), "--quantized", q.toString()));
        assertEquals(0, SparkMain.run("calibrate", model.toString(), "--idx", images.toString(), "--samples", "96", "--batch-size", "8",
                "--single", "--master", "local[1]", "--out", single.toString()));
        JsonNode a = new ObjectMapper().readTree(spark.toFile()), b = new ObjectMapper().readTree(single.toFile());
        assertEquals(96, a.get("samples").asLong());
        assertTrue(a.get("tensors").size() > 3, "several activations calibrated");
        assertEquals(b, a, "Spark statistics == single-process statistics");
        // the quantized model runs and still classifies: its predictions agree with the float model on most images
        Graph f = OnnxImporter.load(model), qg = OnnxImporter.load(q);
        assertTrue(qg.nodes().stream().anyMatch(n -> n.opType().equals("QuantizeLinear")));
        Idx.Array x = Idx.read(images);
        float[] px = java.util.Arrays.copyOf(x.data(), 96 * 784);
        for (int i = 0; i < px.length; i++) px[i] /= 255f;
        List<Map<String, Tensor>> feeds = new ArrayList<>();
        CalibrationData.fromArray(f.inputs().get(0), px, 96, 784, 1, 0).forEach(feeds::add);
        int[] pf = Sensitivity.top1(f, feeds), pq = Sensitivity.top1(qg, feeds);
        int agree = 0;
        for (int i = 0; i < pf.length; i++) if (pf[i] == pq[i]) agree++;
        assertTrue(agree >= 90, "INT8 agrees with float on " + agree + "/96");
    }

    @Test
    void evalCountsEqualTheSingleProcessAccuracy() throws Exception {
        Path model = TestData.require("onnx/models/mnist-8/model.onnx");
        Path images = TestData.require("mnist/t10k-images-idx3-ubyte.gz"), labels = TestData.require("mnist/t10k-labels-idx1-ubyte.gz");
        Path out = tmp.resolve("eval.json");
        assertEquals(0, SparkMain.run("eval", model.toString(), "--idx-images", images.toString(), "--idx-labels", labels.toString(),
                "--samples", "200", "--master", "local[2]", "--partitions", "3", "--out", out.toString()));
        JsonNode r = new ObjectMapper().readTree(out.toFile());
        Graph g = OnnxImporter.load(model);
        Idx.Array x = Idx.read(images), y = Idx.read(labels);
        float[] px = java.util.Arrays.copyOf(x.data(), 200 * 784);
        for (int i = 0; i < px.length; i++) px[i] /= 255f;
        List<Map<String, Tensor>> feeds = new ArrayList<>();
        CalibrationData.fromArray(g.inputs().get(0), px, 200, 784, 1, 0).forEach(feeds::add);
        int[] p = Sensitivity.top1(g, feeds);
        int correct = 0;
        for (int i = 0; i < 200; i++) if (p[i] == (int) y.data()[i]) correct++;
        assertEquals(200, r.get("samples").asLong());
        assertEquals(correct, r.get("correct").asLong());
        assertTrue(correct >= 190, "mnist-8 is ~98.9% accurate: " + correct + "/200");
    }

    /** Parquet in (a column of 8-bit pixel bytes) and out (the statistics table) gives the --idx statistics (Spark SQL start-up: slow). */
    @org.junit.jupiter.api.Tag("slow")
    @Test
    void parquetInputAndOutput() throws Exception {
        Path model = TestData.require("onnx/models/mnist-8/model.onnx");
        Path images = TestData.require("mnist/t10k-images-idx3-ubyte.gz");
        Path single = tmp.resolve("single.json");
        assertEquals(0, SparkMain.run("calibrate", model.toString(), "--idx", images.toString(), "--samples", "96", "--batch-size", "8",
                "--single", "--master", "local[1]", "--out", single.toString()));
        JsonNode b = new ObjectMapper().readTree(single.toFile());
        // the same images as a Parquet column of 8-bit pixel bytes in, the statistics as a Parquet table out
        Idx.Array raw = Idx.read(images);
        Path pqIn = tmp.resolve("images.parquet"), outPq = tmp.resolve("stats.parquet");
        org.apache.spark.sql.SparkSession s = org.apache.spark.sql.SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        try {
            List<org.apache.spark.sql.Row> rows = new ArrayList<>();
            for (int i = 0; i < 96; i++) {
                byte[] px = new byte[784];
                for (int j = 0; j < 784; j++) px[j] = (byte) (int) raw.data()[i * 784 + j];
                rows.add(org.apache.spark.sql.RowFactory.create((long) i, px));
            }
            org.apache.spark.sql.types.StructType schema = new org.apache.spark.sql.types.StructType()
                    .add("id", org.apache.spark.sql.types.DataTypes.LongType).add("image", org.apache.spark.sql.types.DataTypes.BinaryType);
            s.createDataFrame(rows, schema).coalesce(1).write().parquet(pqIn.toString());
        } finally {
            s.stop();
        }
        assertEquals(0, SparkMain.run("calibrate", model.toString(), "--parquet", pqIn.toString(), "--column", "image", "--pixels", "--batch-size", "8",
                "--master", "local[2]", "--partitions", "3", "--out", outPq.toString()));
        s = org.apache.spark.sql.SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        try {
            List<org.apache.spark.sql.Row> got = s.read().parquet(outPq.toString()).collectAsList();
            assertEquals(b.get("tensors").size(), got.size());
            for (JsonNode t : b.get("tensors")) {
                org.apache.spark.sql.Row r = got.stream().filter(x -> x.getString(0).equals(t.get("name").asText())).findFirst().orElseThrow();
                assertEquals(t.get("count").asLong(), r.getLong(1));
                assertEquals(t.get("abs_max").asDouble(), r.getDouble(4), 0.0);
                assertEquals(t.get("thresholds").get("entropy").asDouble(), r.getDouble(7), 0.0);
                assertEquals(t.get("histogram").get(5).asLong(), r.getList(10).get(5));
            }
        } finally {
            s.stop();
        }
    }

    @Test
    void sensitivityAndCoresetCommands() throws Exception {
        Path model = TestData.require("onnx/models/mnist-8/model.onnx");
        Path images = TestData.require("mnist/t10k-images-idx3-ubyte.gz"), labels = TestData.require("mnist/t10k-labels-idx1-ubyte.gz");
        Path sens = tmp.resolve("sens.json"), core = tmp.resolve("coreset.json");
        assertEquals(0, SparkMain.run("sensitivity", model.toString(), "--idx-images", images.toString(), "--idx-labels", labels.toString(),
                "--samples", "100", "--levels", "0.5,0.95", "--master", "local[2]", "--out", sens.toString()));
        JsonNode r = new ObjectMapper().readTree(sens.toFile());
        assertTrue(r.get("baseline").asDouble() >= 0.95, "mnist-8 on 100 test images: " + r.get("baseline"));
        assertEquals(2, r.get("layers").size(), "mnist-8's two Conv layers (its MatMul weight comes through a Reshape)");
        // 95% of the first Conv's 200 weights removed costs most of the accuracy (measured: 0.98 at 50%, 0.28 at 95%)
        assertTrue(r.get("layers").get(0).get("accuracy").get(1).asDouble() < r.get("baseline").asDouble() - 0.3, r.toString());
        assertEquals(0, SparkMain.run("coreset", model.toString(), "--idx-images", images.toString(), "--idx-labels", labels.toString(),
                "--samples", "512", "--ipc", "2", "--method", "herding", "--master", "local[2]", "--partitions", "2", "--out", core.toString()));
        JsonNode c = new ObjectMapper().readTree(core.toFile());
        Idx.Array y = Idx.read(labels);
        assertEquals(20, c.get("indices").size());
        for (int k = 0; k < 20; k++) assertEquals(k / 2, (int) y.data()[c.get("indices").get(k).asInt()], "class by class");
    }

    @Test
    void badInputIsOneLineAndExitCode() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        int rc, rcUsage;
        try {
            System.setErr(new PrintStream(err, true));
            rc = SparkMain.run("calibrate", tmp.resolve("missing.onnx").toString(), "--idx", "x", "--master", "local[1]", "--out", tmp.resolve("o.json").toString());
            rcUsage = SparkMain.run("calibrate", "m.onnx", "--out", "o.json");
        } finally {
            System.setErr(old);
        }
        assertEquals(1, rc);
        assertEquals(2, rcUsage);
        String[] lines = err.toString().strip().split("\\R");
        assertTrue(lines[0].startsWith("condense-spark: error: no such file"), err.toString());
        assertFalse(err.toString().contains("\tat "), "no stack trace: " + err);
        assertFalse(Files.exists(tmp.resolve("o.json")));
    }
}
