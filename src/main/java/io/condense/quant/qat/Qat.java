package io.condense.quant.qat;

import io.condense.data.Dataset;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.quant.CalibrationResult;
import io.condense.quant.PtqPass;
import io.condense.quant.QParams;
import io.condense.quant.QdqEditor;
import io.condense.quant.QdqRules;
import io.condense.quant.QuantConfig;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.train.Arrays2;
import io.condense.train.EmbeddingTrainer;
import io.condense.train.Optimizer;
import io.condense.train.ParamGroup;
import io.condense.train.Tape;
import io.condense.train.Trainer;
import org.nd4j.linalg.api.buffer.DataType;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Quantization-aware training to the same QDQ form as {@link PtqPass}.
 *
 * <ol>
 *   <li>{@link PtqPass#prepare} the float graph, plan the quantized inputs with {@link QdqRules#plan} (the places INT8
 *       PTQ quantizes), calibrate the activations with {@link PtqPass#calibrate};</li>
 *   <li>{@link #trainingGraph}: insert a {@code FakeQuantize} training op (see io.condense.train.FakeQuantOps) at each
 *       site: activations per tensor with the calibrated INT8 (or UINT8) scale and zero point, weights per channel
 *       (symmetric, {@code weightBits} wide, scale initialized to abs-max / qmax);</li>
 *   <li>fine-tune with {@link Trainer} (STE: weights learn, scales stay; LSQ: scales learn too);</li>
 *   <li>{@link #export}: QuantizeLinear/DequantizeLinear pairs with the learned activation scales, weights as INT8
 *       (INT4 when {@code weightBits <= 4}, opset 21) initializers read by per-axis DequantizeLinear.</li>
 * </ol>
 */
public final class Qat {
    public enum Mode { STE, LSQ }

    /**
     * @param weightBits         2..8: weight grid {@code [-2^(b-1), 2^(b-1) - 1]}
     * @param mode               STE or LSQ
     * @param epochs             fine-tuning epochs
     * @param batchSize          mini-batch size
     * @param lr                 Adam learning rate of the weights
     * @param scaleLr            Adam learning rate of the scales (LSQ), relative to each scale's initial (mean) value
     * @param calibrationBatches batches of the training set used for the activation ranges
     * @param seed               shuffling seed
     * @param quant              activation calibration settings (method, symmetric or not)
     */
    public record Config(int weightBits, Mode mode, int epochs, int batchSize, double lr, double scaleLr, int calibrationBatches, long seed,
                         QuantConfig quant) {
        public Config {
            if (weightBits < 2 || weightBits > 8) throw new ModelException("weight bits must be in 2..8, got " + weightBits);
            if (mode == null) mode = Mode.LSQ;
            if (epochs < 0) throw new ModelException("epochs must be >= 0, got " + epochs);
            if (batchSize < 1) throw new ModelException("batch size must be >= 1, got " + batchSize);
            if (!(lr > 0) || !(scaleLr >= 0)) throw new ModelException("learning rates must be positive");
            if (calibrationBatches < 1) throw new ModelException("calibration batches must be >= 1, got " + calibrationBatches);
            if (quant == null) quant = QuantConfig.defaults();
        }

        public static Config defaults() { return new Config(8, Mode.LSQ, 2, 64, 1e-4, 1e-3, 8, 0, QuantConfig.defaults()); }

        public Config withWeightBits(int b) { return new Config(b, mode, epochs, batchSize, lr, scaleLr, calibrationBatches, seed, quant); }

        public Config withMode(Mode m) { return new Config(weightBits, m, epochs, batchSize, lr, scaleLr, calibrationBatches, seed, quant); }

        public Config withEpochs(int e) { return new Config(weightBits, mode, e, batchSize, lr, scaleLr, calibrationBatches, seed, quant); }

        public Config withLr(double l) { return new Config(weightBits, mode, epochs, batchSize, l, scaleLr, calibrationBatches, seed, quant); }

        public Config withScaleLr(double l) { return new Config(weightBits, mode, epochs, batchSize, lr, l, calibrationBatches, seed, quant); }

        public Config withBatchSize(int b) { return new Config(weightBits, mode, epochs, b, lr, scaleLr, calibrationBatches, seed, quant); }

        public int qmin() { return -(1 << (weightBits - 1)); }

        public int qmax() { return (1 << (weightBits - 1)) - 1; }
    }

    /** A fake-quantized value: its site, the names of its scale and zero-point initializers, the integer range. */
    private record Fq(QdqRules.Site site, String scale, String zeroPoint, int qmin, int qmax, DType type) {}

    private final Config cfg;
    private final PrintStream progress;
    private Graph prepared;
    private List<QdqRules.Site> plan;
    private final Map<String, Fq> fq = new LinkedHashMap<>();
    /** Initializers of the prepared graph that are constants of the original (never trained). */
    private final Set<String> constants = new HashSet<>();
    private Tape tape;
    private List<Trainer.EpochStats> history = List.of();

    private final io.condense.backend.Backend calibrationBackend;

    public Qat(Config cfg, PrintStream progress) { this(cfg, progress, null); }

    /** As above; the initial calibration runs on {@code calibrationBackend} (null: the CPU backend). */
    public Qat(Config cfg, PrintStream progress, io.condense.backend.Backend calibrationBackend) {
        this.cfg = cfg;
        this.progress = progress;
        this.calibrationBackend = calibrationBackend;
    }

    /** The tape of the last {@link #run} or {@link #tape(Graph)} (fake-quant forward with the current weights). */
    public Tape tape() { return tape; }

    public List<Trainer.EpochStats> history() { return history; }

    /** Feeds of the graph's first input from a data set's first {@code n} batches (for calibration). */
    public static List<Map<String, Tensor>> feeds(Graph g, Dataset d, int batchSize, int n) {
        String in = g.inputs().get(0).name();
        List<Map<String, Tensor>> out = new ArrayList<>();
        for (Dataset.Batch b : d.batches(batchSize)) {
            if (out.size() >= n) break;
            out.add(Map.of(in, Arrays2.toTensor(b.x(), false)));
        }
        return out;
    }

    /**
     * Prepares {@code g}, calibrates its activations on {@code calib} and returns the training graph with
     * FakeQuantize ops at every QDQ site.
     */
    public Graph trainingGraph(Graph g, Iterable<Map<String, Tensor>> calib) {
        constants.clear();
        for (Node n : g.nodes()) if (n.opType().equals("Constant")) constants.addAll(n.outputs());
        prepared = PtqPass.prepare(g);
        for (Map.Entry<String, Tensor> e : prepared.initializers().entrySet()) {
            if (!g.initializers().containsKey(e.getKey()) && e.getValue().size() <= 1) constants.add(e.getKey());
        }
        plan = QdqRules.plan(prepared, cfg.quant());
        if (plan.isEmpty()) throw new ModelException("nothing to quantize: no Conv/Gemm/MatMul/Add/pool inputs");
        CalibrationResult stats = calibrationBackend != null ? PtqPass.calibrate(calibrationBackend, prepared, cfg.quant(), calib, progress)
                : PtqPass.calibrate(prepared, cfg.quant(), calib, progress);
        fq.clear();
        Graph.Builder b = prepared.toBuilder();
        Set<String> names = new HashSet<>(prepared.initializers().keySet());
        for (Node n : prepared.nodes()) names.addAll(n.outputs());
        Map<String, String> fqOut = new HashMap<>();
        List<Node> nodes = new ArrayList<>(prepared.nodes());
        List<Node> added = new ArrayList<>();
        for (QdqRules.Site s : plan) {
            String v = s.value();
            String out = fqOut.get(v);
            if (out == null) {
                String sc = fresh(names, v + "_qat_scale"), zp = fresh(names, v + "_qat_zero_point");
                out = fresh(names, v + "_fakequant");
                Map<String, Attribute> attrs = new LinkedHashMap<>();
                Fq f;
                if (s.kind() == QdqRules.Kind.ACTIVATION) {
                    QParams p = stats.get(v).qparams(cfg.quant());
                    b.initializer(sc, Tensor.of(new float[] {p.scalarScale()}));
                    b.initializer(zp, Tensor.of(new float[] {(float) p.zeroPoint().getDouble(0)}));
                    f = new Fq(s, sc, zp, (int) p.type().minValue(), (int) p.type().maxValue(), p.type());
                } else {
                    Tensor w = prepared.initializers().get(v);
                    double[] amax = QParams.channelAbsMax(w, s.axis());
                    float[] scales = new float[amax.length];
                    for (int i = 0; i < amax.length; i++) {
                        float x = (float) (amax[i] / cfg.qmax());
                        scales[i] = x > 0 && Float.isFinite(x) ? x : 1e-8f;
                    }
                    b.initializer(sc, Tensor.of(scales, scales.length));
                    b.initializer(zp, Tensor.of(new float[scales.length], scales.length));
                    attrs.put("axis", Attribute.of((long) s.axis()));
                    f = new Fq(s, sc, zp, cfg.qmin(), cfg.qmax(), cfg.weightBits() <= 4 ? DType.INT4 : DType.INT8);
                }
                attrs.put("qmin", Attribute.of((long) f.qmin()));
                attrs.put("qmax", Attribute.of((long) f.qmax()));
                attrs.put("mode", Attribute.of(cfg.mode() == Mode.LSQ ? "lsq" : "ste"));
                added.add(new Node(fresh(names, v + "_FakeQuantize"), "FakeQuantize", "", List.of(v, sc, zp), List.of(out), attrs));
                fqOut.put(v, out);
                fq.put(v, f);
            }
            Node n = nodes.get(s.node());
            List<String> in = new ArrayList<>(n.inputs());
            in.set(s.input(), out);
            nodes.set(s.node(), n.withInputs(in));
        }
        nodes.addAll(added);
        return b.nodes(nodes).build().sorted();
    }

    private static String fresh(Set<String> names, String base) { return io.condense.ir.Names.fresh(names, base); }

    /**
     * A float32 tape over a training graph: zero points never train; scales train only in LSQ mode; constants of the
     * original graph (Constant nodes, and the one-element values constant folding made of them, such as BERT's
     * LayerNorm epsilon, attention scale and mask value) never train.
     */
    public Tape tape(Graph training) {
        Set<String> frozen = new HashSet<>(constants);
        for (Fq f : fq.values()) {
            frozen.add(f.zeroPoint());
            if (cfg.mode() == Mode.STE) frozen.add(f.scale());
        }
        tape = new Tape(training, n -> !frozen.contains(n), DataType.FLOAT, cfg.seed());
        return tape;
    }

    /** Calibrates on {@code train}, fine-tunes the fake-quantized model, and exports the QDQ graph. */
    public Graph run(Graph g, Dataset train, Dataset test) {
        Graph training = trainingGraph(g, feeds(g, train, cfg.batchSize(), cfg.calibrationBatches()));
        Tape t = tape(training);
        if (cfg.epochs() > 0) {
            Optimizer opt = optimizer(training);
            Trainer.Config tc = new Trainer.Config().epochs(cfg.epochs()).batchSize(cfg.batchSize()).seed(cfg.seed())
                    .progressSeconds(progress == null ? -1 : 10).out(progress);
            history = new Trainer(t, opt, tc).fit(train, test);
        }
        return export(t.toGraph());
    }

    /**
     * Adam at the weights' learning rate; each scale gets a step relative to its initial value (Adam moves every
     * parameter by about lr per step whatever its gradient's size, and weight scales are ~100x smaller than
     * activation scales).
     */
    public Optimizer optimizer(Graph training) {
        Optimizer opt = Optimizer.adam(cfg.lr());
        for (Fq f : fq.values()) {
            float[] init = training.initializers().get(f.scale()).toFloatArray();
            double mean = 0;
            for (float v : init) mean += v;
            mean /= init.length;
            String name = f.scale();
            opt.group(new ParamGroup(name::equals, false, cfg.scaleLr() * mean, 0.0));
        }
        return opt;
    }

    private EmbeddingTrainer.History textHistory;

    /** Per-step losses of the last {@link #runText}. */
    public EmbeddingTrainer.History textHistory() { return textHistory; }

    /**
     * QAT of a text (sentence-embedding) model: calibrates the activations on the first
     * {@code calibrationBatches} batches, fine-tunes the fake-quantized model for {@code steps} steps towards the float
     * model's mean-pooled embeddings of its first output ({@link EmbeddingTrainer}, MSE or cosine), and exports the
     * QDQ graph. {@code steps = 0} gives the same placement and calibration without training (the PTQ baseline).
     */
    public Graph runText(Graph g, List<TextBatch> train, int steps, EmbeddingTrainer.LossKind loss) {
        if (train.isEmpty()) throw new ModelException("no text batches for QAT");
        Graph training = trainingGraph(g, TextData.feeds(g, train.subList(0, Math.min(train.size(), cfg.calibrationBatches()))));
        Tape t = tape(training);
        textHistory = new EmbeddingTrainer.History(new double[0]);
        if (steps > 0) {
            List<org.nd4j.linalg.api.ndarray.INDArray> targets = EmbeddingTrainer.teacherEmbeddings(g, train);
            textHistory = EmbeddingTrainer.fit(t, optimizer(training), train, targets,
                    new EmbeddingTrainer.Config(steps, loss, progress == null ? -1 : 10), progress);
        }
        return export(t.toGraph());
    }

    /** The QDQ graph of a (trained) training graph made by {@link #trainingGraph}: learned weights and scales. */
    public Graph export(Graph trained) {
        if (prepared == null) throw new IllegalStateException("export before trainingGraph");
        Graph.Builder b = prepared.toBuilder();
        for (String k : prepared.initializers().keySet()) b.initializer(k, trained.initializers().get(k));
        Graph base = b.build();
        QdqEditor e = new QdqEditor(base);
        for (QdqRules.Site s : plan) {
            Fq f = fq.get(s.value());
            Tensor sc = positive(trained.initializers().get(f.scale()));
            Tensor zpF = trained.initializers().get(f.zeroPoint());
            String v;
            if (s.kind() == QdqRules.Kind.ACTIVATION) {
                Tensor zp = Tensor.zeros(f.type());
                zp.setDouble(0, Math.rint(zpF.getDouble(0)));
                v = e.activation(s.value(), new QParams(f.type(), sc.reshape(), zp, QParams.PER_TENSOR, 0));
            } else {
                Tensor w = base.initializers().get(s.value());
                Tensor zp = Tensor.zeros(f.type(), sc.size());
                QParams p = new QParams(f.type(), sc.reshape(sc.size()), zp, s.axis(), 0);
                v = e.weight(s.value(), codes(w, (float[]) sc.data(), s.axis(), f.qmin(), f.qmax(), f.type()), p);
            }
            e.rewire(s.node(), s.input(), v);
        }
        return e.build();
    }

    /** Learned scales can go to or below zero in principle; keep them positive for export. */
    private static Tensor positive(Tensor s) {
        float[] f = s.toFloatArray();
        for (int i = 0; i < f.length; i++) if (!(f[i] > 0) || !Float.isFinite(f[i])) f[i] = 1e-8f;
        return Tensor.of(f, s.shape());
    }

    /** {@code clamp(rint(w / s[c]), qmin, qmax)} with the division in float32, as the FakeQuantize op computes it. */
    static Tensor codes(Tensor w, float[] s, int axis, int qmin, int qmax, DType t) {
        long[] sh = w.shape();
        int post = 1;
        for (int i = axis + 1; i < sh.length; i++) post *= (int) sh[i];
        int c = (int) sh[axis];
        float[] x = w.toFloatArray();
        Tensor q = Tensor.zeros(t, sh);
        for (int i = 0; i < x.length; i++) {
            int ch = (i / post) % c;
            double r = Math.rint(x[i] / s[ch]);
            q.setDouble(i, Math.max(qmin, Math.min(qmax, r)));
        }
        return q;
    }
}
