package io.condense.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.condense.data.Idx;
import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextData;
import io.condense.eval.Fidelity;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.onnx.ModelSource;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.Provenance;
import io.condense.passes.OpsetConversion;
import io.condense.quant.Calibration;
import io.condense.quant.CalibrationData;
import io.condense.quant.CalibrationMethod;
import io.condense.quant.CalibrationResult;
import io.condense.quant.DynamicQuantization;
import io.condense.quant.PtqPass;
import io.condense.quant.QdqRules;
import io.condense.quant.QuantConfig;
import io.condense.quant.TensorStats;
import io.condense.quant.TransformerQuant;
import io.condense.stats.Confusion;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code condense-spark calibrate|eval ...}: condense's data-parallel commands on Spark (spark-submit the shaded
 * jar, or {@code --master local[N]}). The statistics are those of the single-process commands, bit for bit
 * ({@code --single} runs that path for comparison and writes the same JSON).
 */
@Command(name = "condense-spark", mixinStandardHelpOptions = true, version = "condense-spark 0.1.0",
        description = "condense on Apache Spark: calibration statistics and evaluation over data larger than one machine.",
        subcommands = {SparkMain.Calibrate.class, SparkMain.Eval.class, SparkMain.SensitivitySweep.class, SparkMain.CoresetSelect.class})
public final class SparkMain implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 2;
    }

    public static void main(String[] args) { System.exit(run(args)); }

    /** Runs the command line; returns the exit code (1: model or data problem, 2: usage). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new SparkMain());
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            Throwable t = ex;
            while (t.getCause() != null && !(t instanceof ModelException)) t = t.getCause();
            c.getErr().println("condense-spark: error: " + (t instanceof ModelException ? t.getMessage() : ex.toString()));
            return t instanceof ModelException || t instanceof java.io.UncheckedIOException ? 1 : 1;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("condense-spark: error: " + ex.getMessage());
            return 2;
        });
        return cl.execute(args);
    }

    /** Options shared by the commands. */
    static class Common {
        @Option(names = "--master", description = "Spark master when not set by spark-submit, e.g. local[2]") String master;
        @Option(names = "--partitions", defaultValue = "0", description = "data partitions (default: Spark's default parallelism)") int partitions;
        @Option(names = "--batch-size", defaultValue = "8", description = "samples per batch (as in the single-process commands)") int batchSize;
        @Option(names = "--samples", defaultValue = "0", description = "use the first N samples (0 = all)") long samples;
        @Option(names = "--tokenizer", description = "tokenizer.json (default: the one in the model's jar or beside the .onnx)") String tokenizer;
        @Option(names = "--max-length", defaultValue = "0", description = "truncate sentences to N tokens (default: the tokenizer's)") int maxLength;
        @Option(names = "--scale", description = "pixel scale of IDX / Parquet pixel data (default 1/255)") Float scale;
        @Option(names = "--single", description = "run the single-process path instead of Spark (same output, for comparison)") boolean single;

        void validate() {
            if (batchSize <= 0) throw new CommandLine.ParameterException(new CommandLine(this), "--batch-size must be positive, got " + batchSize);
            if (partitions < 0 || samples < 0 || maxLength < 0) throw new CommandLine.ParameterException(new CommandLine(this), "--partitions, --samples and --max-length must be >= 0");
        }

        SparkSession spark(String app) {
            SparkSession.Builder b = SparkSession.builder().appName(app);
            if (!new org.apache.spark.SparkConf().contains("spark.log.level")) b = b.config("spark.log.level", "WARN");
            if (master != null) b = b.master(master);
            else if (!new org.apache.spark.SparkConf().contains("spark.master")) b = b.master("local[*]");
            SparkSession s = b.getOrCreate();
            s.sparkContext().setLogLevel("WARN");
            return s;
        }

        int parts(JavaSparkContext sc) { return partitions > 0 ? partitions : sc.defaultParallelism(); }

        /** The backend's threads per task: spark.task.cpus. */
        static int threads(JavaSparkContext sc) { return sc.getConf().getInt("spark.task.cpus", 1); }
    }

    /** Data options: exactly one source. */
    static class Data {
        @Option(names = "--text", description = "text file, one sentence per line (any Hadoop path)") String text;
        @Option(names = "--idx", description = "IDX images (MNIST format; any Hadoop path)") String idx;
        @Option(names = "--parquet", description = "Parquet data set (any Hadoop path); with --column") String parquet;
        @Option(names = "--column", description = "Parquet column: binary float32 tensors, binary pixels (--pixels) or array<number>") String column;
        @Option(names = "--pixels", description = "the Parquet binary column holds 8-bit pixels") boolean pixels;

        void validate(CommandLine cl) {
            int n = (text != null ? 1 : 0) + (idx != null ? 1 : 0) + (parquet != null ? 1 : 0);
            if (n != 1) throw new CommandLine.ParameterException(cl, "give exactly one of --text, --idx, --parquet");
            if (parquet != null && column == null) throw new CommandLine.ParameterException(cl, "--parquet needs --column");
        }
    }

    static ModelSource.Loaded loadModel(JavaSparkContext sc, String path) {
        return ModelSource.load(SparkIo.local(sc.hadoopConfiguration(), path));
    }

    static byte[] tokenizerJson(JavaSparkContext sc, ModelSource.Loaded m, String tokenizer, String model) {
        if (tokenizer != null) return io.condense.onnx.ModelFiles.readAll(SparkIo.local(sc.hadoopConfiguration(), tokenizer), "tokenizer file");
        if (m.tokenizerJson() != null) return m.tokenizerJson();
        throw new ModelException("no tokenizer.json found with " + model + "; give --tokenizer");
    }

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    // ---- calibrate --------------------------------------------------------------------------------------------

    @Command(name = "calibrate", mixinStandardHelpOptions = true,
            description = {"Activation statistics for INT8 quantization (min, max, histogram; min-max / percentile / entropy / MSE thresholds)",
                    "over the given data, computed per partition and merged exactly; optionally writes the static INT8 QDQ model."})
    static final class Calibrate implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Parameters(index = "0", paramLabel = "MODEL", description = ".onnx or a jar with one .onnx (any Hadoop path)") String model;
        @CommandLine.Mixin Common common = new Common();
        @CommandLine.ArgGroup(exclusive = false, multiplicity = "1") Data data = new Data();
        @Option(names = "--out", required = true, description = "statistics: FILE.json, or a Parquet directory (FILE.parquet)") String out;
        @Option(names = "--placement", description = "rules|matmul|matmul-weights (default: matmul-weights for transformers, rules otherwise)") String placement;
        @Option(names = "--method", defaultValue = "minmax", description = "calibrator for --quantized: minmax|percentile|entropy|mse") String method;
        @Option(names = "--bins", defaultValue = "2048", description = "histogram bins") int bins;
        @Option(names = "--quantized", description = "also write the static INT8 QDQ model built from the merged statistics") String quantized;

        @Override public Integer call() {
            common.validate();
            data.validate(spec.commandLine());
            PrintWriter o = spec.commandLine().getOut();
            SparkSession spark = common.spark("condense-spark calibrate");
            try {
                JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
                ModelSource.Loaded m = loadModel(sc, model);
                Graph g = m.graph();
                boolean transformer = TransformerQuant.isTransformer(g);
                QuantConfig cfg = transformer ? TransformerQuant.staticConfig() : QuantConfig.defaults();
                if (placement != null) cfg = cfg.withPlacement(QuantConfig.Placement.parse(placement));
                cfg = cfg.withMethod(CalibrationMethod.parse(method));
                cfg = new QuantConfig(cfg.method(), cfg.percentile(), cfg.symmetricActivations(), cfg.perChannelWeights(), cfg.include(), cfg.exclude(),
                        0, bins, cfg.quantizeOutputs(), cfg.placement());
                Graph prepared = PtqPass.prepare(transformer ? OpsetConversion.upgrade(g, 13) : g);
                List<String> tensors = new ArrayList<>(QdqRules.activationTensors(QdqRules.plan(prepared,
                        cfg.withInclude(List.of()).withExclude(List.of()).withQuantizeOutputs(true))));
                tensors.removeIf(t -> prepared.initializers().containsKey(t));
                int threads = Common.threads(sc);
                long t0 = System.nanoTime();
                CalibrationResult stats;
                int parts;
                if (data.text != null) {
                    byte[] tokJson = tokenizerJson(sc, m, common.tokenizer, model);
                    int maxLen = common.maxLength == 0 && TextData.fixedSequenceLength(prepared) > 0 ? TextData.fixedSequenceLength(prepared) : common.maxLength;
                    if (common.single) {
                        List<String> lines = SparkIo.textLines(spark, data.text, 1).collect();
                        if (common.samples > 0 && lines.size() > common.samples) lines = lines.subList(0, (int) common.samples);
                        try (HfTokenizer tok = HfTokenizer.fromJson(tokJson, "tokenizer.json", maxLen)) {
                            stats = Calibration.run(prepared, tensors, TextData.feeds(prepared, tok, lines, common.batchSize), cfg, null);
                        }
                        parts = 0;
                    } else {
                        Batched<String> b = Batched.of(SparkIo.textLines(spark, data.text, common.parts(sc)), common.batchSize, common.samples, common.parts(sc));
                        parts = b.partitions();
                        stats = DistributedStats.calibrate(b, SparkModel.broadcast(sc, prepared), Feeds.text(new Feeds.TextTokenizer(sc, tokJson, maxLen)),
                                tensors, bins, threads);
                    }
                } else {
                    JavaRDD<float[]> rdd = arrays(spark, sc, data, common);
                    if (common.single) {
                        List<float[]> xs = rdd.collect();
                        if (common.samples > 0 && xs.size() > common.samples) xs = xs.subList(0, (int) common.samples);
                        int ss = xs.get(0).length;
                        float[] x = new float[xs.size() * ss];
                        for (int i = 0; i < xs.size(); i++) System.arraycopy(xs.get(i), 0, x, i * ss, ss);
                        stats = Calibration.run(prepared, tensors, CalibrationData.fromArray(CalibrationData.singleInput(prepared), x, xs.size(), ss,
                                CalibrationData.batchSize(CalibrationData.singleInput(prepared), common.batchSize), 0), cfg, null);
                        parts = 0;
                    } else {
                        int bs = CalibrationData.batchSize(CalibrationData.singleInput(prepared), common.batchSize);
                        Batched<float[]> b = Batched.of(rdd, bs, common.samples, common.parts(sc));
                        parts = b.partitions();
                        stats = DistributedStats.calibrate(b, SparkModel.broadcast(sc, prepared), Feeds.arrays(), tensors, bins, threads);
                    }
                }
                double secs = (System.nanoTime() - t0) / 1e9;
                writeStats(spark, sc, stats, cfg, out, m, parts, threads);
                o.printf(Locale.ROOT, "calibrated %d tensors on %d batches (%d samples) %s in %.1f s -> %s%n", stats.stats().size(), stats.batches(),
                        stats.samples(), parts == 0 ? "in one process" : "on " + parts + " partitions", secs, out);
                if (quantized != null) {
                    Graph q = PtqPass.quantize(prepared, stats, cfg);
                    if (transformer) q = DynamicQuantization.quantizeEmbeddings(q);
                    q = Provenance.stamp(q, new Provenance.Stage("quantize/int8-static (condense-spark)", SparkModel.sha256(OnnxExporter.toBytes(g)), cfg, null,
                            Map.of("samples", stats.samples(), "partitions", parts)));
                    SparkIo.write(sc.hadoopConfiguration(), quantized, OnnxExporter.toBytes(q));
                    o.println("wrote " + quantized);
                }
                o.flush();
                return 0;
            } finally {
                spark.stop();
            }
        }

        void writeStats(SparkSession spark, JavaSparkContext sc, CalibrationResult stats, QuantConfig cfg, String out, ModelSource.Loaded m, int parts, int threads) {
            if (out.endsWith(".parquet")) {
                StructType schema = new StructType().add("tensor", DataTypes.StringType).add("count", DataTypes.LongType)
                        .add("min", DataTypes.DoubleType).add("max", DataTypes.DoubleType).add("abs_max", DataTypes.DoubleType)
                        .add("threshold_minmax", DataTypes.DoubleType).add("threshold_percentile", DataTypes.DoubleType)
                        .add("threshold_entropy", DataTypes.DoubleType).add("threshold_mse", DataTypes.DoubleType)
                        .add("bin_width", DataTypes.DoubleType).add("histogram", DataTypes.createArrayType(DataTypes.LongType));
                List<org.apache.spark.sql.Row> rows = new ArrayList<>();
                for (TensorStats s : stats.stats().values()) {
                    List<Long> h = new ArrayList<>();
                    for (long c : s.histogram().counts()) h.add(c);
                    rows.add(RowFactory.create(s.name(), s.count(), s.min(), s.max(), s.absMax(), s.threshold(cfg.withMethod(CalibrationMethod.MINMAX)),
                            s.threshold(cfg.withMethod(CalibrationMethod.PERCENTILE)), s.threshold(cfg.withMethod(CalibrationMethod.ENTROPY)),
                            s.threshold(cfg.withMethod(CalibrationMethod.MSE)), s.histogram().binWidth(),
                            scala.jdk.javaapi.CollectionConverters.asScala(h).toSeq()));
                }
                spark.createDataFrame(rows, schema).coalesce(1).write().mode("overwrite").parquet(out);
                return;
            }
            ObjectNode root = JSON.createObjectNode();
            root.put("model", m.description());
            root.put("samples", stats.samples());
            root.put("batches", stats.batches());
            root.put("bins", cfg.bins());
            ArrayNode ts = root.putArray("tensors");
            for (TensorStats s : stats.stats().values()) {
                ObjectNode t = ts.addObject();
                t.put("name", s.name());
                t.put("count", s.count());
                t.put("min", s.min());
                t.put("max", s.max());
                t.put("abs_max", s.absMax());
                ObjectNode th = t.putObject("thresholds");
                for (CalibrationMethod cm : CalibrationMethod.values()) th.put(cm.cliName(), s.threshold(cfg.withMethod(cm)));
                t.put("bin_width", s.histogram().binWidth());
                ArrayNode h = t.putArray("histogram");
                for (long c : s.histogram().counts()) h.add(c);
            }
            try {
                SparkIo.write(sc.hadoopConfiguration(), out, JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    static JavaRDD<float[]> arrays(SparkSession spark, JavaSparkContext sc, Data data, Common common) {
        float scale = common.scale != null ? common.scale : 1f / 255;
        if (data.idx != null) {
            Idx.Array a = SparkIo.idx(sc.hadoopConfiguration(), data.idx);
            List<float[]> r = SparkIo.records(a, scale);
            if (common.samples > 0 && r.size() > common.samples) r = new ArrayList<>(r.subList(0, (int) common.samples));
            return sc.parallelize(r, common.parts(sc));
        }
        return SparkIo.parquetColumn(spark, data.parquet, data.column, data.pixels, data.pixels ? scale : (common.scale != null ? common.scale : 1f));
    }

    // ---- eval -------------------------------------------------------------------------------------------------

    @Command(name = "eval", mixinStandardHelpOptions = true,
            description = {"Test accuracy of an image classifier on IDX images + labels, or the fidelity of a text model to a --reference",
                    "(embedding cosine, Spearman, per-output differences), computed per partition and merged exactly."})
    static final class Eval implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Parameters(index = "0", paramLabel = "MODEL") String model;
        @CommandLine.Mixin Common common = new Common();
        @Option(names = "--idx-images", description = "IDX test images") String images;
        @Option(names = "--idx-labels", description = "IDX test labels") String labels;
        @Option(names = "--reference", description = "reference model (text fidelity)") String reference;
        @Option(names = "--text", description = "sentences for --reference") String text;
        @Option(names = "--classes", defaultValue = "10") int classes;
        @Option(names = "--out", description = "result JSON (default: print only)") String out;

        @Override public Integer call() throws Exception {
            common.validate();
            boolean img = images != null && labels != null, txt = reference != null && text != null;
            if (img == txt) throw new CommandLine.ParameterException(spec.commandLine(), "give --idx-images and --idx-labels, or --reference and --text");
            PrintWriter o = spec.commandLine().getOut();
            SparkSession spark = common.spark("condense-spark eval");
            try {
                JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
                ModelSource.Loaded m = loadModel(sc, model);
                int threads = Common.threads(sc);
                ObjectNode root = JSON.createObjectNode();
                root.put("model", m.description());
                if (img) {
                    Idx.Array x = SparkIo.idx(sc.hadoopConfiguration(), images), y = SparkIo.idx(sc.hadoopConfiguration(), labels);
                    if (x.count() != y.count()) throw new ModelException(x.count() + " images but " + y.count() + " labels");
                    List<float[]> xs = SparkIo.records(x, common.scale != null ? common.scale : 1f / 255);
                    List<DistributedStats.Labelled> l = new ArrayList<>();
                    int lim = common.samples > 0 ? (int) Math.min(common.samples, xs.size()) : xs.size();
                    for (int i = 0; i < lim; i++) l.add(new DistributedStats.Labelled(xs.get(i), (int) y.data()[i]));
                    int bs = CalibrationData.batchSize(CalibrationData.singleInput(m.graph()), common.batchSize);
                    Confusion c = DistributedStats.accuracy(Batched.of(sc.parallelize(l, common.parts(sc)), bs, common.samples, common.parts(sc)),
                            SparkModel.broadcast(sc, m.graph()), classes, threads);
                    o.printf(Locale.ROOT, "accuracy %.4f (%d / %d)%n", c.accuracy(), c.correct(), c.total());
                    root.put("samples", c.total());
                    root.put("correct", c.correct());
                    root.put("accuracy", c.accuracy());
                    root.set("confusion", JSON.valueToTree(c.matrix()));
                } else {
                    ModelSource.Loaded r = loadModel(sc, reference);
                    byte[] tokJson = tokenizerJson(sc, r, common.tokenizer, reference);
                    Batched<String> b = Batched.of(SparkIo.textLines(spark, text, common.parts(sc)), common.batchSize, common.samples, common.parts(sc));
                    Fidelity.Report rep = DistributedStats.compareText(b, SparkModel.broadcast(sc, m.graph()), SparkModel.broadcast(sc, r.graph()),
                            new Feeds.TextTokenizer(sc, tokJson, common.maxLength), threads);
                    o.println(rep.embeddings().format());
                    for (Fidelity.OutputReport or : rep.outputs()) o.println(or.format());
                    root.set("embeddings", JSON.valueToTree(rep.embeddings()));
                    root.set("outputs", JSON.valueToTree(rep.outputs()));
                }
                if (out != null) SparkIo.write(sc.hadoopConfiguration(), out, JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8));
                o.flush();
                return 0;
            } finally {
                spark.stop();
            }
        }
    }


    // ---- sensitivity ------------------------------------------------------------------------------------------

    @Command(name = "sensitivity", mixinStandardHelpOptions = true,
            description = {"Per-layer pruning sensitivity (as condense sensitivity) with one Spark task per layer x level variant:",
                    "each task prunes one layer of the broadcast model and measures top-1 accuracy on the broadcast validation images."})
    static final class SensitivitySweep implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Parameters(index = "0", paramLabel = "MODEL") String model;
        @CommandLine.Mixin Common common = new Common();
        @Option(names = "--idx-images", required = true, description = "IDX validation images") String images;
        @Option(names = "--idx-labels", required = true, description = "IDX validation labels") String labels;
        @Option(names = "--levels", split = ",", defaultValue = "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9", description = "sparsity levels") double[] levels;
        @Option(names = "--criterion", defaultValue = "magnitude", description = "magnitude | l2 (data-free criteria)") String criterion;
        @Option(names = "--out", required = true, description = "FILE.json, or a local folder for sensitivity.csv/.md/.png (as condense sensitivity)") String out;

        @Override public Integer call() throws Exception {
            common.validate();
            for (double l : levels) if (!(l > 0 && l < 1)) throw new CommandLine.ParameterException(spec.commandLine(), "--levels must be in (0, 1), got " + l);
            PrintWriter o = spec.commandLine().getOut();
            SparkSession spark = common.spark("condense-spark sensitivity");
            try {
                JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
                ModelSource.Loaded m = loadModel(sc, model);
                Idx.Array x = SparkIo.idx(sc.hadoopConfiguration(), images), y = SparkIo.idx(sc.hadoopConfiguration(), labels);
                int n = (int) Math.min(x.count(), common.samples > 0 ? common.samples : x.count());
                if (y.count() < n) throw new ModelException(x.count() + " images but " + y.count() + " labels");
                int ss = x.recordSize();
                float scale = common.scale != null ? common.scale : 1f / 255;
                float[] px = java.util.Arrays.copyOf(x.data(), n * ss);
                for (int i = 0; i < px.length; i++) px[i] *= scale;
                int[] lab = new int[n];
                for (int i = 0; i < n; i++) lab[i] = (int) y.data()[i];
                int bs = CalibrationData.batchSize(CalibrationData.singleInput(m.graph()), common.batchSize);
                io.condense.prune.SensitivityAnalysis.Result r = DistributedSensitivity.run(sc, SparkModel.broadcast(sc, m.graph()), criterion, levels,
                        px, n, ss, bs, lab, Common.threads(sc));
                o.print(io.condense.prune.SensitivityAnalysis.markdown(r));
                if (out.endsWith(".json")) {
                    ObjectNode root = JSON.createObjectNode();
                    root.put("model", m.description());
                    root.put("criterion", r.criterion());
                    root.put("baseline", r.baseline());
                    root.put("samples", n);
                    ArrayNode cs = root.putArray("layers");
                    for (io.condense.prune.SensitivityAnalysis.Curve c : r.curves()) {
                        ObjectNode cn = cs.addObject();
                        cn.put("node", c.layer().node());
                        cn.put("weight", c.layer().weight());
                        cn.set("levels", JSON.valueToTree(c.levels()));
                        cn.set("accuracy", JSON.valueToTree(c.accuracy()));
                    }
                    SparkIo.write(sc.hadoopConfiguration(), out, JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8));
                    o.println("wrote " + out);
                } else {
                    for (java.nio.file.Path p : io.condense.prune.SensitivityAnalysis.write(r, java.nio.file.Path.of(out))) o.println("wrote " + p);
                }
                o.flush();
                return 0;
            } finally {
                spark.stop();
            }
        }
    }

    // ---- coreset ----------------------------------------------------------------------------------------------

    @Command(name = "coreset", mixinStandardHelpOptions = true,
            description = {"Coreset selection (herding or k-center, ipc samples per class) in the embedding of an ONNX feature model",
                    "(its first output, [batch, features]): embeddings and class sums per data partition, greedy selection on the driver."})
    static final class CoresetSelect implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Parameters(index = "0", paramLabel = "FEATURE_MODEL") String model;
        @CommandLine.Mixin Common common = new Common();
        @Option(names = "--idx-images", required = true) String images;
        @Option(names = "--idx-labels", required = true) String labels;
        @Option(names = "--ipc", required = true, description = "samples per class") int ipc;
        @Option(names = "--method", defaultValue = "herding", description = "herding | kcenter") String method;
        @Option(names = "--classes", defaultValue = "10") int classes;
        @Option(names = "--seed", defaultValue = "0") long seed;
        @Option(names = "--out", required = true, description = "JSON with the selected sample indices, class by class") String out;

        @Override public Integer call() throws Exception {
            common.validate();
            if (ipc <= 0) throw new CommandLine.ParameterException(spec.commandLine(), "--ipc must be positive, got " + ipc);
            PrintWriter o = spec.commandLine().getOut();
            SparkSession spark = common.spark("condense-spark coreset");
            try {
                JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
                ModelSource.Loaded m = loadModel(sc, model);
                Idx.Array x = SparkIo.idx(sc.hadoopConfiguration(), images), y = SparkIo.idx(sc.hadoopConfiguration(), labels);
                List<float[]> xs = SparkIo.records(x, common.scale != null ? common.scale : 1f / 255);
                int lim = common.samples > 0 ? (int) Math.min(common.samples, xs.size()) : xs.size();
                if (y.count() < lim) throw new ModelException(x.count() + " images but " + y.count() + " labels");
                List<DistributedStats.Labelled> l = new ArrayList<>();
                for (int i = 0; i < lim; i++) l.add(new DistributedStats.Labelled(xs.get(i), (int) y.data()[i]));
                int[] sel = DistributedCoreset.run(Batched.of(sc.parallelize(l, common.parts(sc)), io.condense.stats.ClassSums.CHUNK, 0, common.parts(sc)),
                        SparkModel.broadcast(sc, m.graph()), classes, ipc, method, seed, Common.threads(sc));
                ObjectNode root = JSON.createObjectNode();
                root.put("model", m.description());
                root.put("method", method);
                root.put("ipc", ipc);
                root.put("samples", lim);
                root.set("indices", JSON.valueToTree(sel));
                SparkIo.write(sc.hadoopConfiguration(), out, JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8));
                o.printf(Locale.ROOT, "selected %d of %d samples (%s, %d per class) -> %s%n", sel.length, lim, method, ipc, out);
                o.flush();
                return 0;
            } finally {
                spark.stop();
            }
        }
    }
}
