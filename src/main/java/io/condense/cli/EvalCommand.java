package io.condense.cli;

import io.condense.data.Dataset;
import io.condense.data.Mnist;
import io.condense.data.TensorBatches;
import io.condense.data.text.TextBatch;
import io.condense.eval.Fidelity;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.TensorType;
import io.condense.onnx.OnnxImporter;
import io.condense.train.Losses;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.backend.cpu.Nd;
import io.condense.ir.DType;
import io.condense.ir.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code eval}: test-set accuracy of an ONNX classifier on MNIST-format data, or, with {@code --reference}, the
 * fidelity of a model to a reference model ({@link Fidelity}): embedding cosine and Spearman on text, output
 * differences and top-1 agreement on any inputs.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Print the test accuracy of an ONNX image classifier on MNIST-format IDX data (pixels scaled to [0, 1]);",
                "or, with --reference REF, how closely MODEL reproduces REF: on --text sentences, the cosine similarity of mean-pooled "
                        + "embeddings (mean, 1st percentile, min) and the Spearman correlation of pairwise similarities; on any inputs "
                        + "(--text, or --data with tensor batch folders / MNIST), max and mean abs output difference and top-1 agreement."},
        footer = {"", "Examples:", "  condense eval lenet5.onnx --data mnist/",
                "  condense eval minilm-int8.onnx --reference minilm.jar --text sentences.txt --offset 1000 --n 500",
                "  condense eval model-int8.onnx --reference model.onnx --data batches/   (one sub-folder per batch, one .npy/.pb per input)"})
public final class EvalCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "model (.onnx, or a jar holding one)")
    Path model;

    @Option(names = "--data", description = "folder with t10k- images and labels IDX files; with --reference also a folder of "
            + "tensor batches (one sub-folder per batch, one .npy/.pb per input)")
    Path data;

    @Option(names = "--reference", paramLabel = "REF", description = "reference model (.onnx or jar) to compare MODEL with")
    Path reference;

    @picocli.CommandLine.Mixin
    TextDataOptions textData = new TextDataOptions();

    @Option(names = "--split", defaultValue = "test", description = "test | train (default ${DEFAULT-VALUE})")
    String split;

    @Option(names = "--batch-size", description = "batch size (default 500 images, 32 sentences)")
    Integer batchSize;

    @Option(names = "--limit", defaultValue = "0", description = "evaluate only the first N images (0 = all)")
    int limit;

    PrintStream stdout = System.out;

    /** Where results and progress go (default System.out). */
    public EvalCommand out(PrintStream p) {
        stdout = p;
        return this;
    }

    @Override
    public Integer call() {
        try {
            if (batchSize != null && batchSize <= 0) throw new ModelException("--batch-size must be positive, got " + batchSize);
            if (reference != null) return fidelity();
            if (textData.given()) throw new ModelException("--text needs --reference REF (the model to compare with)");
            if (data == null) throw new ModelException("--data DIR needed (or --reference REF with --text FILE or --data DIR)");
            stdout.printf(Locale.ROOT, "accuracy: %.4f%n", accuracy());
            return 0;
        } catch (ModelException e) {
            System.err.println("condense: error: " + e.getMessage());
            return 1;
        }
    }

    /**
     * Accuracy through the inference executor (CPU backend), so float, QDQ-quantized (INT8/INT4) and integer models
     * all evaluate. A model whose input declares a fixed batch size is fed batches of that size.
     */
    double accuracy() {
        Graph g = OnnxImporter.load(model);
        if (g.inputs().size() != 1 || g.outputs().isEmpty()) throw new ModelException(model + ": expected one input and an output of class scores");
        Dataset d = Mnist.load(data, !split.equalsIgnoreCase("test"));
        if (limit > 0) d = d.head(limit);
        return accuracy(g, d, batchSize, model.toString());
    }

    /** Accuracy of {@code g} (one float input, class scores out) on {@code d} through the CPU backend. */
    static double accuracy(Graph g, Dataset d, Integer batchSize, String what) {
        String in = g.inputs().get(0).name(), out = g.outputs().get(0).name();
        TensorType t = g.inputs().get(0).type();
        if (t.dtype() != null && t.dtype() != DType.FLOAT32) throw new ModelException(what + ": input '" + in + "' is " + t.dtype() + ", expected float32 pixels");
        int rank = t.hasRank() ? t.rank() : 4;
        int batch = t.hasRank() && rank > 0 && t.dims().get(0).isKnown() ? (int) t.dims().get(0).value() : batchSize == null ? 500 : batchSize;
        long correct = 0, seen = 0;
        try (Session s = Backends.cpu().open(g)) {
            for (Dataset.Batch b : d.batches(batch)) {
                INDArray x = b.x();
                if (b.size() != batch && t.hasRank() && t.dims().get(0).isKnown()) continue; // a fixed-batch model skips the ragged tail
                if (rank == 2) x = x.reshape('c', b.size(), x.length() / b.size());
                else if (rank == 3) x = x.reshape('c', b.size(), x.size(2), x.size(3));
                Tensor y = s.run(Map.of(in, Nd.toTensor(x, DType.FLOAT32))).get(out);
                INDArray logits = Nd.toNd(y.dtype() == DType.FLOAT32 ? y : Tensor.of(y.toFloatArray(), y.shape()));
                if (logits.rank() != 2) logits = logits.reshape('c', b.size(), logits.length() / b.size());
                correct += Losses.correct(logits, b.labels());
                seen += b.size();
            }
        }
        if (seen == 0) throw new ModelException("no images evaluated (data set smaller than the model's fixed batch of " + batch + ")");
        return (double) correct / seen;
    }

    /** Compares MODEL with --reference on text or tensor batches and prints the {@link Fidelity} reports. */
    int fidelity() {
        Graph g = OnnxImporter.load(model);
        Graph ref = OnnxImporter.load(reference);
        if (textData.given()) {
            if (data != null) throw new ModelException("give --text or --data, not both");
            int bs = batchSize == null ? 32 : batchSize;
            List<TextBatch> b = textData.batches(g, List.of(model, reference), bs, 500);
            stdout.println(textData.describe(b));
            Fidelity.Report r = Fidelity.compareText(g, ref, b);
            stdout.println(r.embeddings().format());
            for (Fidelity.OutputReport o : r.outputs()) stdout.println(o.format());
            return 0;
        }
        if (data == null) throw new ModelException("--reference needs inputs: --text FILE (text models) or --data DIR");
        List<Map<String, Tensor>> feeds;
        if (TensorBatches.isBatchFolder(data) || g.inputs().size() > 1) {
            feeds = QuantData.multiInput(g, data.toString(), limit);
        } else {
            feeds = QuantData.calibration(g, data, batchSize == null ? 500 : batchSize, limit); // MNIST-format images (training split)
        }
        List<Fidelity.OutputReport> r = Fidelity.compareOutputs(g, ref, feeds);
        stdout.println("inputs: " + feeds.size() + " batches from " + data);
        for (Fidelity.OutputReport o : r) stdout.println(o.format());
        return 0;
    }
}
