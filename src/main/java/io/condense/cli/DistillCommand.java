package io.condense.cli;

import io.condense.data.Dataset;
import io.condense.dataset.ImageData;
import io.condense.distill.Distiller;
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

/** {@code distill}: knowledge distillation from an ONNX teacher into a built-in or ONNX student. */
@Command(name = "distill", mixinStandardHelpOptions = true,
        description = {"Knowledge distillation: train a student on IDX image data with alpha * T^2 * KL(teacher/T || student/T) "
                + "+ (1 - alpha) * cross-entropy, optionally with hint losses on intermediate tensors. With --alpha 0 no teacher is needed "
                + "(plain training of a built-in architecture)."},
        footer = {"", "SPEC: mlp-H1-H2-... | convnet-D[-wW] | lenet-300-100 | lenet5 | resnet-small | FILE.onnx (e.g. a pruned model)",
                "", "Example:", "  condense distill --teacher big.onnx --student mlp-800-800 --data data/mnist --temperature 20 --alpha 0.9 --epochs 20 --out small.onnx"})
public final class DistillCommand implements Callable<Integer> {
    @Option(names = "--teacher", description = "teacher model (.onnx); required unless --alpha 0")
    Path teacher;

    @Option(names = "--student", required = true, description = "student SPEC or FILE.onnx (see below)")
    String student;

    @Option(names = "--data", required = true, description = "IDX data folder (train-/t10k- images and labels)")
    Path data;

    @Option(names = "--temperature", defaultValue = "4", description = "softmax temperature T (default ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--alpha", defaultValue = "0.9", description = "weight of the soft-target term (default ${DEFAULT-VALUE})")
    double alpha;

    @Option(names = "--epochs", defaultValue = "10", description = "epochs (default ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--out", required = true, description = "output ONNX file")
    Path out;

    @Option(names = "--lr", defaultValue = "0.05", description = "learning rate (default ${DEFAULT-VALUE}, cosine decay)")
    double lr;

    @Option(names = "--optimizer", defaultValue = "sgd", description = "sgd (momentum 0.9) | nesterov | adam | adamw (default ${DEFAULT-VALUE})")
    String optimizer;

    @Option(names = "--weight-decay", defaultValue = "0", description = "weight decay (default ${DEFAULT-VALUE})")
    double weightDecay;

    @Option(names = "--batch-size", defaultValue = "100", description = "mini-batch size (default ${DEFAULT-VALUE})")
    int batchSize;

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

    @Option(names = "--limit", defaultValue = "0", description = "use only the first N training images (0 = all)")
    int limit;

    @Option(names = "--test-limit", defaultValue = "0", description = "evaluate on the first N test images (0 = all)")
    int testLimit;

    @Option(names = "--seed", defaultValue = "1", description = "seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--threads", defaultValue = "0", description = "ND4J threads (0 = all cores, or 1 when the machine is busy)")
    int threads;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (alpha < 0 || alpha > 1) throw new ParameterException(spec.commandLine(), "--alpha must be in [0, 1], got " + alpha);
        if (teacher == null && (alpha > 0 || !hints.isEmpty())) throw new ParameterException(spec.commandLine(), "--teacher is required unless --alpha 0 without --hint");
        PrintWriter o = spec.commandLine().getOut();
        java.io.PrintStream ps = new java.io.PrintStream(new java.io.OutputStream() {
            @Override public void write(int b) { o.write(b); }
            @Override public void flush() { o.flush(); }
        }, true);
        io.condense.train.Threads.configure(threads);
        long t0 = System.nanoTime();
        Dataset train = ImageData.load(data, ImageData.TRAIN);
        if (limit > 0) train = train.head(limit);
        Dataset test = ImageData.load(data, ImageData.TEST);
        if (testLimit > 0) test = test.head(testLimit);
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
            if (eq <= 0 || eq == h.length() - 1) throw new ParameterException(spec.commandLine(), "--hint needs STUDENT=TEACHER, got '" + h + "'");
            terms.add(new HintTerm(h.substring(0, eq), h.substring(eq + 1), hintWeight, seed));
            teacherTensors.add(h.substring(eq + 1));
        }
        Distiller.Config cfg = new Distiller.Config(epochs, batchSize, lr, optimizer, weightDecay, jitter, keepZeros, seed, 10);
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
}
