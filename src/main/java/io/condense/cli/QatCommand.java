package io.condense.cli;

import io.condense.data.Dataset;
import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.data.text.Tokenizer;
import io.condense.eval.Fidelity;
import io.condense.onnx.ModelSource;
import io.condense.onnx.Provenance;
import io.condense.train.EmbeddingTrainer;
import io.condense.data.Mnist;
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
        description = "Quantization-aware training (fake-quant STE or LSQ) of a float ONNX model on MNIST-format data; exports INT8 QDQ ONNX.")
public final class QatCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "trained float ONNX model")
    Path model;

    @Option(names = "--data", description = "folder with train-/t10k- images and labels IDX files (image models)")
    Path data;

    @Option(names = "--text", paramLabel = "FILE", description = "text models: one sentence per line; QAT matches the float model's mean-pooled embeddings")
    Path text;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json for --text (default: the one found with the model, e.g. in its jar)")
    Path tokenizer;

    @Option(names = "--max-length", defaultValue = "128", description = "--text: longest sequence in tokens (default ${DEFAULT-VALUE})")
    int maxLength;

    @Option(names = "--samples", defaultValue = "256", description = "--text: training sentences (the first N lines) (default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--eval-samples", defaultValue = "128", description = "--text: held-out sentences (after the training ones) for the fidelity report; 0 = none (default ${DEFAULT-VALUE})")
    int evalSamples;

    @Option(names = "--steps", defaultValue = "100", description = "--text: optimizer steps (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--loss", defaultValue = "mse", description = "--text: mse | cosine on mean-pooled embeddings (default ${DEFAULT-VALUE})")
    String loss;

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

    @Option(names = "--batch-size", description = "mini-batch size (default ${DEFAULT-VALUE}; --text: 16 unless given)")
    Integer batchSize;

    @Option(names = "--calib-batches", defaultValue = "8", description = "training batches used to calibrate activations (default ${DEFAULT-VALUE})")
    int calibBatches;

    @Option(names = "--limit", defaultValue = "0", description = "use only the first N training images (0 = all)")
    int limit;

    @Option(names = "--test-limit", defaultValue = "0", description = "evaluate on the first N test images only (0 = all)")
    int testLimit;

    @Option(names = "--seed", defaultValue = "1", description = "shuffling seed (default ${DEFAULT-VALUE})")
    long seed;

    PrintStream stdout = System.out;

    @Override
    public Integer call() {
        Qat.Mode m = switch (mode.toLowerCase(Locale.ROOT)) {
            case "lsq" -> Qat.Mode.LSQ;
            case "ste" -> Qat.Mode.STE;
            default -> throw new ModelException("unknown --mode '" + mode + "' (lsq, ste)");
        };
        if ((data == null) == (text == null)) throw new ModelException("give exactly one of --data DIR (images) or --text FILE (text models)");
        if (text != null) return text(m);
        int batchSize = this.batchSize == null ? 64 : this.batchSize;
        Graph g = Files.isRegularFile(model) ? QuantData.upgradeOpset(OnnxImporter.load(model), weightBits == 8 ? 13 : 21, stdout)
                : Models.byName(model.toString(), seed);
        Dataset train = Mnist.load(data, true);
        if (limit > 0) train = train.head(limit);
        Dataset test = Mnist.load(data, false);
        if (testLimit > 0) test = test.head(testLimit);
        Qat.Config cfg = new Qat.Config(weightBits, m, epochs, batchSize, lr, scaleLr, calibBatches, seed, io.condense.quant.QuantConfig.defaults());
        double accFloat = Trainer.evaluate(new Tape(g), test, 256);
        Qat qat = new Qat(cfg, stdout);
        Graph q = qat.run(g, train, test);
        double accQat = Trainer.evaluate(qat.tape(), test, 256);
        OnnxExporter.save(q, out);
        stdout.printf(Locale.ROOT, "accuracy: float %.4f, QAT (fake-quant, %d-bit weights, %s) %.4f%n", accFloat, weightBits, m, accQat);
        stdout.println("saved " + out);
        return 0;
    }

    /** QAT of a sentence-embedding model on text, reporting loss and fidelity of the exported QDQ model. */
    private int text(Qat.Mode m) {
        EmbeddingTrainer.LossKind lk = switch (loss.toLowerCase(Locale.ROOT)) {
            case "mse" -> EmbeddingTrainer.LossKind.MSE;
            case "cosine" -> EmbeddingTrainer.LossKind.COSINE;
            default -> throw new ModelException("unknown --loss '" + loss + "' (mse, cosine)");
        };
        if (steps < 0 || samples < 1 || evalSamples < 0) throw new ModelException("--steps, --samples and --eval-samples must not be negative");
        int bs = batchSize == null ? 16 : batchSize;
        ModelSource.Loaded src = ModelSource.load(model);
        Graph g = src.graph();
        Tokenizer tok;
        if (tokenizer != null) tok = HfTokenizer.load(tokenizer, maxLength);
        else if (src.hasTokenizer()) tok = HfTokenizer.fromJson(src.tokenizerJson(), src.tokenizerOrigin(), maxLength);
        else throw new ModelException("no tokenizer found with " + model + "; pass --tokenizer tokenizer.json");
        List<String> lines = TextData.readLines(text);
        List<TextBatch> train, held = List.of();
        try (tok) {
            List<String> trainText = TextData.select(lines, 0, samples);
            train = TextData.batches(g, tok, trainText, bs);
            if (evalSamples > 0 && lines.size() > trainText.size()) {
                held = TextData.batches(g, tok, TextData.select(lines, trainText.size(), evalSamples), bs);
            }
        }
        Qat.Config cfg = new Qat.Config(weightBits, m, 0, bs, lr, scaleLr, calibBatches, seed, io.condense.quant.QuantConfig.defaults());
        stdout.printf(Locale.ROOT, "QAT of %s on %d sentences (%d batches), %d steps, %s loss on mean-pooled embeddings%n",
                src.description(), train.stream().mapToInt(TextBatch::size).sum(), train.size(), steps, lk);
        Qat qat = new Qat(cfg, stdout);
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
        extra.put("text", text.getFileName().toString());
        extra.put("steps", steps);
        extra.put("loss", lk.name().toLowerCase(Locale.ROOT));
        q = Provenance.stamp(q, new Provenance.Stage("qat-text", Provenance.sha256(model), cfg, seed, extra));
        OnnxExporter.save(q, out);
        stdout.println("saved " + out);
        return 0;
    }
}
