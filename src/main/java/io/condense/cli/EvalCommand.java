package io.condense.cli;

import io.condense.data.Dataset;
import io.condense.data.Mnist;
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
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code eval}: test-set accuracy of an ONNX classifier on MNIST-format data. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Print the test accuracy of an ONNX image classifier on MNIST-format IDX data (pixels scaled to [0, 1]).")
public final class EvalCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "model (.onnx)")
    Path model;

    @Option(names = "--data", required = true, description = "folder with t10k- images and labels IDX files")
    Path data;

    @Option(names = "--split", defaultValue = "test", description = "test | train (default ${DEFAULT-VALUE})")
    String split;

    @Option(names = "--batch-size", defaultValue = "500", description = "batch size (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--limit", defaultValue = "0", description = "evaluate only the first N images (0 = all)")
    int limit;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "cpu",
            description = "backend that runs the model for evaluation: cpu | ort (ONNX Runtime) | cuda (default: ${DEFAULT-VALUE})")
    String backend;

    PrintStream stdout = System.out;

    /** Where results and progress go (default System.out). */
    public EvalCommand out(PrintStream p) {
        stdout = p;
        return this;
    }

    @Override
    public Integer call() {
        try {
            stdout.printf(Locale.ROOT, "accuracy: %.4f%n", accuracy());
            return 0;
        } catch (ModelException e) {
            System.err.println("condense: error: " + e.getMessage());
            return 1;
        }
    }

    /**
     * Accuracy through the inference executor ({@code --backend}, the CPU one by default), so float, QDQ-quantized (INT8/INT4) and integer models
     * all evaluate. A model whose input declares a fixed batch size is fed batches of that size.
     */
    double accuracy() {
        Graph g = OnnxImporter.load(model);
        if (g.inputs().size() != 1 || g.outputs().isEmpty()) throw new ModelException(model + ": expected one input and an output of class scores");
        Dataset d = Mnist.load(data, !split.equalsIgnoreCase("test"));
        if (limit > 0) d = d.head(limit);
        String in = g.inputs().get(0).name(), out = g.outputs().get(0).name();
        TensorType t = g.inputs().get(0).type();
        if (t.dtype() != null && t.dtype() != DType.FLOAT32) throw new ModelException(model + ": input '" + in + "' is " + t.dtype() + ", expected float32 pixels");
        int rank = t.hasRank() ? t.rank() : 4;
        int batch = t.hasRank() && rank > 0 && t.dims().get(0).isKnown() ? (int) t.dims().get(0).value() : batchSize;
        long correct = 0, seen = 0;
        try (Session s = Backends.get(backend).open(g)) {
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
}
