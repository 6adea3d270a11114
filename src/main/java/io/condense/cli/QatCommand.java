package io.condense.cli;

import io.condense.data.Dataset;
import io.condense.data.Mnist;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.data.text.Tokenizer;
import io.condense.eval.Fidelity;
import io.condense.onnx.Provenance;
import io.condense.train.EmbeddingTrainer;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import io.condense.quant.qat.Qat;
import io.condense.train.Models;
import io.condense.train.Tape;
import io.condense.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code qat}: quantization-aware fine-tuning on MNIST-format data, exported as a QDQ ONNX model. */
@Command(name = "qat", mixinStandardHelpOptions = true,
        description = "Quantization-aware training (fake-quant STE or LSQ) of a float ONNX model on MNIST-format data (--data) or, for "
                + "sentence-embedding models, on text (--text: matches the float model's mean-pooled embeddings); exports QDQ ONNX.",
        footer = {"", "Examples:", "  condense qat lenet5.onnx --data ../shared/data/mnist --epochs 1 --out lenet5-qat.onnx",
                "  condense qat all-minilm-l6-v2.jar --text sentences.txt --steps 100 --out minilm-qat.onnx"})
public final class QatCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "trained float ONNX model")
    Path model;

    @Option(names = "--data", description = "folder with train-/t10k- images and labels IDX files")
    Path data;

    @picocli.CommandLine.Mixin
    TextDataOptions textData = new TextDataOptions();

    @Option(names = "--steps", defaultValue = "100", description = "--text: optimizer steps (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--loss", defaultValue = "mse", description = "--text: mse | cosine on mean-pooled embeddings (default ${DEFAULT-VALUE})")
    String loss;

    @Option(names = "--eval-samples", defaultValue = "128",
            description = "--text: held-out sentences (those after the training ones) for the fidelity report; 0 = none (default ${DEFAULT-VALUE})")
    int evalSamples;

    @Option(names = "--out", required = true, description = "output ONNX file (written atomically)")
    Path out;

    @Option(names = "--epochs", defaultValue = "1", description = "fine-tuning epochs (default ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--weight-bits", defaultValue = "8", description = "weight bits 2..8 (default ${DEFAULT-VALUE}); activations are INT8")
    int weightBits;

    @Option(names = "--mode", defaultValue = "lsq", description = "lsq (learned scales) | ste (fixed scales) (default ${DEFAULT-VALUE})")
    String mode;

    @Option(names = "--lr", defaultValue = "1e-4", description = "Adam learning rate of the weights (default ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--scale-lr", defaultValue = "1e-3", description = "Adam learning rate of the scales, relative to their initial values (default ${DEFAULT-VALUE})")
    double scaleLr;

    @Option(names = "--batch-size", description = "mini-batch size (default 64; --text: 16)")
    Integer batchSize;

    @Option(names = "--calib-batches", defaultValue = "8", description = "training batches used to calibrate activations (default ${DEFAULT-VALUE})")
    int calibBatches;

    @picocli.CommandLine.Mixin
    Options.Limits limits = new Options.Limits();

    @picocli.CommandLine.Mixin
    Options.Seed seedOption = new Options.Seed();

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "cpu",
            description = "backend that runs the model for the initial calibration: cpu | ort (ONNX Runtime) | cuda (default: ${DEFAULT-VALUE})")
    String backend;

    PrintStream stdout = System.out;

    @Override
    public Integer call() {
        Qat.Mode m = switch (mode.toLowerCase(Locale.ROOT)) {
            case "lsq" -> Qat.Mode.LSQ;
            case "ste" -> Qat.Mode.STE;
            default -> throw new ModelException("unknown --mode '" + mode + "' (lsq, ste)");
        };
        long seed = seedOption.seed;
        int limit = limits.limit, testLimit = limits.testLimit;
        Graph g = Files.isRegularFile(model) ? QuantData.upgradeOpset(OnnxImporter.load(model), weightBits == 8 ? 13 : 21, stdout)
                : Models.byName(model.toString(), seed);
        if (textData.given()) return onText(g, m);
        if (data == null) throw new ModelException("training data needed: --data DIR (MNIST-format) or --text FILE");
        Dataset train = Mnist.load(data, true);
        if (limit > 0) train = train.head(limit);
        Dataset test = Mnist.load(data, false);
        if (testLimit > 0) test = test.head(testLimit);
        int batchSize = this.batchSize == null ? 64 : this.batchSize;
        Qat.Config cfg = new Qat.Config(weightBits, m, epochs, batchSize, lr, scaleLr, calibBatches, seed, io.condense.quant.QuantConfig.defaults());
        double accFloat = Trainer.evaluate(new Tape(g), test, 256);
        Qat qat = new Qat(cfg, stdout, io.condense.backend.Backends.get(backend));
        Graph q = qat.run(g, train, test);
        double accQat = Trainer.evaluate(qat.tape(), test, 256);
        q = io.condense.data.Preprocessing.image(io.condense.data.Preprocessing.UNIT_SCALE, 0, 1).stamp(q);
        q = io.condense.onnx.Provenance.stamp(q, new io.condense.onnx.Provenance.Stage("quantize/qat-" + m.name().toLowerCase(Locale.ROOT),
                Files.isRegularFile(model) ? io.condense.onnx.Provenance.sha256(model) : "", cfg, seed));
        OnnxExporter.save(q, out);
        stdout.printf(Locale.ROOT, "accuracy: float %.4f, QAT (fake-quant, %d-bit weights, %s) %.4f%n", accFloat, weightBits, m, accQat);
        stdout.println("saved " + out);
        return 0;
    }

    /**
     * Text (sentence-embedding) models: calibrates the activations on the first --calib-batches batches of the --text
     * sentences, fine-tunes the fake-quantized model for --steps steps towards the float model's mean-pooled embeddings
     * ({@link Qat#runText}), reports the loss and the fidelity of the exported QDQ model on the held-out sentences
     * that follow the training ones, and saves it.
     */
    private Integer onText(Graph g, Qat.Mode m) {
        if (data != null) throw new ModelException("give --data or --text, not both");
        EmbeddingTrainer.LossKind lk = switch (loss.toLowerCase(Locale.ROOT)) {
            case "mse" -> EmbeddingTrainer.LossKind.MSE;
            case "cosine" -> EmbeddingTrainer.LossKind.COSINE;
            default -> throw new ModelException("unknown --loss '" + loss + "' (mse, cosine)");
        };
        if (steps < 0 || evalSamples < 0) throw new ModelException("--steps and --eval-samples must not be negative");
        int bs = batchSize == null ? 16 : batchSize;
        List<String> trainText = textData.sentences(256);
        List<TextBatch> train, held = List.of();
        try (Tokenizer tok = textData.tokenizer(List.of(model))) {
            train = TextData.batches(g, tok, trainText, bs);
            List<String> all = textData.text.equals("builtin") ? TextData.builtinCalibrationText() : TextData.readLines(Path.of(textData.text));
            int from = textData.offset + trainText.size();
            if (evalSamples > 0 && from < all.size()) held = TextData.batches(g, tok, TextData.select(all, from, evalSamples), bs);
        }
        stdout.println(textData.describe(train));
        Qat.Config cfg = new Qat.Config(weightBits, m, 0, bs, lr, scaleLr, calibBatches, seedOption.seed, io.condense.quant.QuantConfig.defaults());
        stdout.printf(Locale.ROOT, "QAT: %d steps, %s loss on mean-pooled embeddings to the float model%n", steps, lk);
        Qat qat = new Qat(cfg, stdout, io.condense.backend.Backends.get(backend));
        Graph q = qat.runText(g, train, steps, lk);
        EmbeddingTrainer.History h = qat.textHistory();
        if (h.losses().length > 0) {
            int k = Math.max(1, Math.min(10, h.losses().length / 4));
            stdout.printf(Locale.ROOT, "loss: first %d steps %.6g, last %d steps %.6g%n", k, h.first(k), k, h.last(k));
        }
        if (!held.isEmpty()) {
            Fidelity.EmbeddingReport r = Fidelity.compareText(q, g, held).embeddings();
            stdout.println("fidelity of the QDQ model to the float model on held-out sentences: " + r.format());
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("text", textData.text);
        extra.put("steps", steps);
        extra.put("loss", lk.name().toLowerCase(Locale.ROOT));
        q = Provenance.stamp(q, new Provenance.Stage("qat-text", Provenance.sha256(model), cfg, seedOption.seed, extra));
        OnnxExporter.save(q, out);
        stdout.println("saved " + out);
        return 0;
    }
}
