package io.condense.cli;

import io.condense.data.Dataset;
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
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code qat}: quantization-aware fine-tuning on MNIST-format data, exported as a QDQ ONNX model. */
@Command(name = "qat", mixinStandardHelpOptions = true,
        description = "Quantization-aware training (fake-quant STE or LSQ) of a float ONNX model on MNIST-format data; exports INT8 QDQ ONNX.")
public final class QatCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "trained float ONNX model")
    Path model;

    @Option(names = "--data", description = "folder with train-/t10k- images and labels IDX files")
    Path data;

    @picocli.CommandLine.Mixin
    TextDataOptions textData = new TextDataOptions();

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

    @Option(names = "--batch-size", defaultValue = "64", description = "mini-batch size (default ${DEFAULT-VALUE})")
    int batchSize;

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
        Graph g = Files.isRegularFile(model) ? OnnxImporter.load(model) : Models.byName(model.toString(), seed);
        if (textData.given()) return onText(g, m);
        if (data == null) throw new ModelException("training data needed: --data DIR (MNIST-format) or --text FILE");
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

    /**
     * Text models: the activations are calibrated on the sentences of --text (every input the model has, padded per
     * batch) and the fake-quantized model is exported. Fine-tuning on text needs an embedding loss and training
     * through every transformer op, which this build does not have yet: it asks for --epochs 0.
     */
    private Integer onText(Graph g, Qat.Mode m) {
        if (data != null) throw new ModelException("give --data or --text, not both");
        if (epochs > 0) {
            throw new ModelException("QAT fine-tuning on --text is not supported yet (it needs an embedding loss and training through "
                    + "the transformer ops); --epochs 0 exports the text-calibrated fake-quant model");
        }
        java.util.List<io.condense.data.text.TextBatch> b = textData.batches(g, model, batchSize, batchSize * calibBatches);
        stdout.println(textData.describe(b));
        Qat.Config cfg = new Qat.Config(weightBits, m, 1, batchSize, lr, scaleLr, Math.max(1, b.size()), seed, io.condense.quant.QuantConfig.defaults());
        Qat qat = new Qat(cfg, stdout);
        Graph training = qat.trainingGraph(g, io.condense.data.text.TextData.feeds(g, b));
        Graph q = qat.export(training);
        OnnxExporter.save(q, out);
        stdout.println("saved " + out);
        return 0;
    }
}
