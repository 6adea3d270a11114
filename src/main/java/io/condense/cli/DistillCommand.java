package io.condense.cli;

import io.condense.data.Dataset;
import io.condense.dataset.ImageData;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.data.text.Tokenizer;
import io.condense.distill.Distiller;
import io.condense.distill.EmbeddingTerm;
import io.condense.distill.LayerDrop;
import io.condense.distill.TextDistiller;
import io.condense.eval.Fidelity;
import io.condense.distill.HintTerm;
import io.condense.distill.LossTerm;
import io.condense.distill.Students;
import io.condense.distill.Teacher;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.onnx.Provenance;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code distill}: knowledge distillation from an ONNX teacher into a built-in or ONNX student (images or sentence embeddings). */
@Command(name = "distill", mixinStandardHelpOptions = true,
        description = {"Knowledge distillation. Images (--data): train a student with alpha * T^2 * KL(teacher/T || student/T) "
                + "+ (1 - alpha) * cross-entropy, optionally with hint losses on intermediate tensors; with --alpha 0 no teacher is needed "
                + "(plain training of a built-in architecture).",
                "Text (--text): a sentence-embedding student (--layers N: the teacher with N of its encoder layers, initialized from them; "
                        + "or --student FILE.onnx, e.g. a head/FFN-pruned model) learns the teacher's mean-pooled embeddings (--loss cosine|mse); "
                        + "prints parameters and the fidelity (mean cosine, Spearman of pairwise similarities) on held-out sentences before and after."},
        footer = {"", "SPEC (--data): mlp-H1-H2-... | convnet-D[-wW] | lenet-300-100 | lenet5 | resnet-small | FILE.onnx (e.g. a pruned model)",
                "", "Examples:", "  condense distill --teacher big.onnx --student mlp-800-800 --data data/mnist --temperature 20 --alpha 0.9 --epochs 20 --out small.onnx",
                "  condense distill --teacher all-minilm-l6-v2.jar --layers 3 --text sentences.txt --steps 300 --out minilm-3l.onnx",
                "  condense distill --teacher all-minilm-l6-v2.jar --student heads-pruned.onnx --text sentences.txt --out recovered.onnx"})
public final class DistillCommand implements Callable<Integer> {
    @Option(names = "--teacher", description = "teacher model (.onnx, or a jar holding one); required unless --alpha 0 (images)")
    Path teacher;

    @Option(names = "--student", description = "student SPEC or FILE.onnx (see below); --text: FILE.onnx, or use --layers")
    String student;

    @Option(names = "--data", description = "IDX data folder (train-/t10k- images and labels)")
    Path data;

    @picocli.CommandLine.Mixin
    TextDataOptions textData = new TextDataOptions();

    @Option(names = "--layers", paramLabel = "N", description = "--text: student = the teacher keeping N evenly spaced encoder layers (6 -> 3 keeps 1, 3, 5)")
    Integer layers;

    @Option(names = "--keep-layers", paramLabel = "I,J,...", split = ",", description = "--text: student = the teacher keeping these encoder layers")
    List<Integer> keepLayers;

    @Option(names = "--steps", defaultValue = "200", description = "--text: optimizer steps (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--loss", defaultValue = "cosine", description = "--text: cosine | mse on mean-pooled embeddings (default ${DEFAULT-VALUE})")
    String loss;

    @Option(names = "--eval-samples", defaultValue = "128",
            description = "--text: held-out sentences (those after the training ones) for the fidelity report (default ${DEFAULT-VALUE})")
    int evalSamples;

    @Option(names = "--train-embeddings", description = "--text: also train the embedding tables (frozen by default)")
    boolean trainEmbeddings;

    @Option(names = "--temperature", defaultValue = "4", description = "softmax temperature T (default ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--alpha", defaultValue = "0.9", description = "weight of the soft-target term (default ${DEFAULT-VALUE})")
    double alpha;

    @Option(names = "--epochs", defaultValue = "10", description = "epochs (default ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--out", required = true, description = "output ONNX file (written atomically, with provenance)")
    Path out;

    @Option(names = "--lr", description = "learning rate (default 0.05, cosine decay; --text: AdamW 1e-4)")
    Double lr;

    @Option(names = "--optimizer", defaultValue = "sgd", description = "sgd (momentum 0.9) | nesterov | adam | adamw (default ${DEFAULT-VALUE})")
    String optimizer;

    @Option(names = "--weight-decay", defaultValue = "0", description = "weight decay (default ${DEFAULT-VALUE})")
    double weightDecay;

    @Option(names = "--batch-size", description = "mini-batch size (default 100; --text: 16)")
    Integer batchSize;

    @Option(names = "--dropout", defaultValue = "0", description = "built-in MLP students: hidden dropout (default ${DEFAULT-VALUE})")
    double dropout;

    @Option(names = "--input-dropout", defaultValue = "0", description = "built-in MLP students: input dropout (default ${DEFAULT-VALUE})")
    double inputDropout;

    @Option(names = "--jitter", defaultValue = "0", description = "random translation by up to N pixels (default ${DEFAULT-VALUE})")
    int jitter;

    @Option(names = "--hint", paramLabel = "STUDENT=TEACHER", description = "hint loss between a student and a teacher tensor (repeatable)")
    List<String> hints = new ArrayList<>();

    @Option(names = "--hint-weight", defaultValue = "1", description = "weight of each hint term (default ${DEFAULT-VALUE})")
    double hintWeight;

    @Option(names = "--keep-zeros", description = "keep zero weights at zero (students from pruning)")
    boolean keepZeros;

    @Option(names = "--no-cache", description = "do not cache teacher outputs per sample")
    boolean noCache;

    @Option(names = "--backend", defaultValue = "cpu", description = "teacher inference backend: cpu | cuda | auto (default ${DEFAULT-VALUE})")
    String backend;

    @picocli.CommandLine.Mixin
    Options.Limits limits = new Options.Limits();

    @picocli.CommandLine.Mixin
    Options.Seed seedOption = new Options.Seed();

    @picocli.CommandLine.Mixin
    Options.Threads threads = new Options.Threads();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private ParameterException usage(String msg) { return new ParameterException(spec.commandLine(), msg); }

    @Override
    public Integer call() {
        if (data != null && textData.given()) throw usage("give --data DIR (images) or --text FILE (sentences), not both");
        if (data == null && !textData.given()) throw usage("missing data: --data DIR (images) or --text FILE (sentences)");
        threads.apply();
        return textData.given() ? onText() : onImages();
    }

    private Integer onImages() {
        if (student == null) throw usage("--student SPEC|FILE.onnx is required with --data");
        if (layers != null || keepLayers != null) throw usage("--layers and --keep-layers build text students; use them with --text");
        if (alpha < 0 || alpha > 1) throw usage("--alpha must be in [0, 1], got " + alpha);
        if (teacher == null && (alpha > 0 || !hints.isEmpty())) throw usage("--teacher is required unless --alpha 0 without --hint");
        long seed = seedOption.seed;
        PrintWriter o = spec.commandLine().getOut();
        java.io.PrintStream ps = Fmt.stream(o);
        long t0 = System.nanoTime();
        Dataset train = ImageData.load(data, ImageData.TRAIN);
        if (limits.limit > 0) train = train.head(limits.limit);
        Dataset test = ImageData.load(data, ImageData.TEST);
        if (limits.testLimit > 0) test = test.head(limits.testLimit);
        boolean file = student.toLowerCase(Locale.ROOT).endsWith(".onnx") || Files.exists(Path.of(student));
        Graph s = file ? OnnxImporter.load(Path.of(student))
                : Students.byName(student, train.sampleShape(), Math.max(train.numClasses(), test.numClasses()), dropout, inputDropout, seed);
        Graph t = teacher == null ? null : OnnxImporter.load(teacher);
        List<LossTerm> terms = new ArrayList<>(t == null ? List.of(new io.condense.distill.HardLabelTerm(s.outputs().get(0).name(), 1.0))
                : Distiller.hinton(s, t, temperature, alpha));
        List<String> teacherTensors = new ArrayList<>();
        if (t != null) teacherTensors.add(t.outputs().get(0).name());
        for (String h : hints) {
            int eq = h.indexOf('=');
            if (eq <= 0 || eq == h.length() - 1) throw usage("--hint needs STUDENT=TEACHER, got '" + h + "'");
            terms.add(new HintTerm(h.substring(0, eq), h.substring(eq + 1), hintWeight, seed));
            teacherTensors.add(h.substring(eq + 1));
        }
        Distiller.Config cfg = new Distiller.Config(epochs, batchSize == null ? 100 : batchSize, lr == null ? 0.05 : lr, optimizer, weightDecay, jitter,
                keepZeros, seed, 10);
        o.printf(Locale.ROOT, "distill: student %s (%d parameters)%s, %d training images, %d epochs%n", student, s.parameterCount(),
                t == null ? ", no teacher" : String.format(Locale.ROOT, ", teacher %s (%d parameters), T %.3g, alpha %.3g", teacher, t.parameterCount(), temperature, alpha),
                train.size(), epochs);
        o.flush();
        Graph trained;
        Distiller d = new Distiller(cfg, ps);
        if (t == null) {
            trained = d.distill(s, null, terms, train, test);
        } else {
            try (Teacher tt = new Teacher(t, teacherTensors, backend, !noCache && jitter == 0)) {
                trained = d.distill(s, tt, terms, train, test);
            }
        }
        double acc = d.history().get(d.history().size() - 1).testAccuracy();
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("student", student);
        config.put("temperature", temperature);
        config.put("alpha", alpha);
        config.put("hints", hints);
        config.put("train", cfg);
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("data_sha256", Provenance.sha256(ImageData.images(data, ImageData.TRAIN)));
        if (file) extra.put("student_sha256", Provenance.sha256(Path.of(student)));
        Graph stamped = Provenance.stamp(trained, new Provenance.Stage(t == null ? "distill/train" : "distill/kd",
                teacher == null ? "" : Provenance.sha256(teacher), config, seed, extra));
        OnnxExporter.save(stamped, out);
        o.printf(Locale.ROOT, "accuracy: %.4f (%d test errors of %d)%n", acc, Math.round((1 - acc) * test.size()), test.size());
        o.printf(Locale.ROOT, "saved %s (%.1fs)%n", out, (System.nanoTime() - t0) / 1e9);
        o.flush();
        return 0;
    }

    /** Provenance config of text distillation. */
    record TextRun(String student, List<Integer> keepLayers, int trainSentences, int offset, int batchSize, int maxLength, TextDistiller.Config train) {}

    private Integer onText() {
        if (teacher == null) throw usage("--teacher is required with --text");
        if (!hints.isEmpty()) throw usage("--hint is for --data (image) distillation");
        int given = (student != null ? 1 : 0) + (layers != null ? 1 : 0) + (keepLayers != null ? 1 : 0);
        if (given != 1) throw usage("--text needs the student: --layers N, --keep-layers I,J,... or --student FILE.onnx (one of them)");
        if (layers != null && layers < 1) throw usage("--layers must be at least 1, got " + layers);
        if (steps < 0) throw usage("--steps must be >= 0, got " + steps);
        if (evalSamples < 3) throw usage("--eval-samples must be at least 3 (Spearman of pairwise similarities), got " + evalSamples);
        EmbeddingTerm.Kind kind = switch (loss.toLowerCase(Locale.ROOT)) {
            case "cosine" -> EmbeddingTerm.Kind.COSINE;
            case "mse" -> EmbeddingTerm.Kind.MSE;
            default -> throw usage("unknown --loss '" + loss + "' (cosine, mse)");
        };
        int bs = batchSize == null ? 16 : batchSize;
        if (bs < 1) throw usage("--batch-size must be positive, got " + bs);
        long seed = seedOption.seed;
        PrintWriter o = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        Graph t = OnnxImporter.load(teacher);
        Graph s;
        List<Integer> keep = null;
        Path studentFile = null;
        if (student != null) {
            studentFile = Path.of(student);
            if (!Files.exists(studentFile)) throw new ModelException("student model not found: " + student);
            s = OnnxImporter.load(studentFile);
        } else {
            List<LayerDrop.Layer> tl = LayerDrop.layers(t, null);
            if (layers != null) {
                if (layers > tl.size()) throw usage("--layers " + layers + " is more than the teacher's " + tl.size() + " encoder layers");
                keep = new ArrayList<>();
                for (int i : TextDistiller.evenlySpaced(tl.size(), layers)) keep.add(tl.get(i).index());
            } else {
                keep = List.copyOf(keepLayers);
            }
            s = new LayerDrop(new LayerDrop.Config(keep)).apply(t);
        }
        TextData.checkTextInputs(t);
        List<String> trainText = textData.sentences(512);
        List<String> all = textData.text.equals("builtin") ? TextData.builtinCalibrationText() : TextData.readLines(Path.of(textData.text));
        int from = textData.offset + trainText.size();
        if (from >= all.size()) throw new ModelException("no held-out sentences: " + textData.text + " has " + all.size()
                + " sentences and training uses " + from + " of them (lower --samples or --offset)");
        List<TextBatch> train, held;
        int maxLen;
        List<Path> models = new ArrayList<>(List.of(teacher));
        if (studentFile != null) models.add(studentFile);
        try (Tokenizer tok = textData.tokenizer(models)) {
            maxLen = tok.maxLength();
            train = TextData.batches(t, tok, trainText, bs);
            held = TextData.batches(t, tok, TextData.select(all, from, evalSamples), bs);
        }
        o.println(textData.describe(train));
        int heldN = held.stream().mapToInt(TextBatch::size).sum();
        o.printf(Locale.ROOT, "teacher %s: %d encoder layers, %,d parameters%n", teacher.getFileName(), LayerDrop.layers(t, null).size(), t.parameterCount());
        o.printf(Locale.ROOT, "student %s: %,d parameters (%.1f%% of the teacher)%n", keep != null ? "keeping layers " + keep : student,
                s.parameterCount(), 100.0 * s.parameterCount() / t.parameterCount());
        float[][] ref = Fidelity.embeddings(t, held);
        Fidelity.EmbeddingReport before = Fidelity.compareEmbeddings(Fidelity.embeddings(s, held), ref);
        o.println("fidelity before (" + heldN + " held-out sentences): " + before.format());
        o.flush();
        TextDistiller.Config cfg = new TextDistiller.Config(steps, lr == null ? 1e-4 : lr, kind, weightDecay, trainEmbeddings, seed, 10);
        o.printf(Locale.ROOT, "distill: %d steps, %s loss on mean-pooled embeddings, AdamW lr %.3g%n", steps, kind.name().toLowerCase(Locale.ROOT), cfg.lr());
        o.flush();
        TextDistiller.Result r = new TextDistiller(cfg, Fmt.stream(o)).distill(s, t, train);
        if (steps > 0) {
            int k = Math.max(1, Math.min(10, steps / 4));
            o.printf(Locale.ROOT, "loss: first %d steps %.6g, last %d steps %.6g%n", k, r.first(k), k, r.last(k));
        }
        Fidelity.EmbeddingReport after = Fidelity.compareEmbeddings(Fidelity.embeddings(r.student(), held), ref);
        o.println("fidelity after  (" + heldN + " held-out sentences): " + after.format());
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("text", textData.text);
        if (!textData.text.equals("builtin")) extra.put("text_sha256", Provenance.sha256(Path.of(textData.text)));
        if (studentFile != null) extra.put("student_sha256", Provenance.sha256(studentFile));
        extra.put("fidelity_before", before.meanCosine());
        extra.put("fidelity_after", after.meanCosine());
        extra.put("spearman_before", before.spearman());
        extra.put("spearman_after", after.spearman());
        TextRun run = new TextRun(student, keep, trainText.size(), textData.offset, bs, maxLen, cfg);
        Graph g = io.condense.data.Preprocessing.text(textData.tokenizer != null ? textData.tokenizer.getFileName().toString() : "model tokenizer", maxLen)
                .stamp(r.student());
        g = Provenance.stamp(g, new Provenance.Stage("distill/text-embedding", Provenance.sha256(teacher), run, seed, extra));
        OnnxExporter.save(g, out);
        o.printf(Locale.ROOT, "saved %s (%,d parameters, %.1fs)%n", out, g.parameterCount(), (System.nanoTime() - t0) / 1e9);
        o.flush();
        return 0;
    }
}
