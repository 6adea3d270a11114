package io.condense.cli;

import io.condense.data.Dataset;
import io.condense.data.Mnist;
import io.condense.data.TensorBatches;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.onnx.TensorCodec;
import io.condense.train.Arrays2;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Calibration feeds for the quantization commands: a folder of MNIST-format IDX files (the training images) or a
 * TensorProto {@code .pb} file holding a stack of inputs [samples, ...]. Samples are reshaped to the model's first
 * input when its per-sample size matches (e.g. [1, 28, 28] images for a [N, 784] input).
 */
final class QuantData {
    private QuantData() {}

    /**
     * Calibration feeds for a model with several inputs: a folder of batch sub-folders (see {@link TensorBatches});
     * anything else is an error that names the inputs and the two ways to give data.
     */
    static List<Map<String, Tensor>> multiInput(Graph g, String data, int maxBatches) {
        Path p = Path.of(data);
        if (!Files.isDirectory(p) || !TensorBatches.isBatchFolder(p)) {
            throw new ModelException("this model has " + g.inputs().size() + " inputs (" + String.join(", ",
                    g.inputs().stream().map(v -> v.name()).toList()) + "): give --text FILE (sentences; --tokenizer unless the model "
                    + "carries one) or --calib DIR with one sub-folder per batch holding one .npy/.pb file per input");
        }
        return TensorBatches.read(g, p, maxBatches);
    }

    static List<Map<String, Tensor>> calibration(Graph g, Path data, int batchSize, int maxSamples) {
        if (g.inputs().isEmpty()) throw new ModelException("the model has no inputs");
        if (g.inputs().size() > 1) return multiInput(g, data.toString(), 0);
        String in = g.inputs().get(0).name();
        long[] sample = sampleShape(g);
        List<Map<String, Tensor>> out = new ArrayList<>();
        if (Files.isDirectory(data)) {
            Dataset d = Mnist.load(data, true);
            if (maxSamples > 0 && d.size() > maxSamples) d = d.head(maxSamples);
            for (Dataset.Batch b : d.batches(batchSize)) out.add(Map.of(in, fit(Arrays2.toTensor(b.x(), false), sample, data)));
        } else if (data.toString().endsWith(".pb")) {
            Tensor t = TensorCodec.readPb(data);
            if (t.rank() < 1 || t.dim(0) < 1) throw new ModelException(data + ": calibration tensor needs a leading sample axis with at least one sample");
            if (!t.dtype().isFloating()) throw new ModelException(data + ": calibration tensor must be floating point, got " + t.dtype());
            float[] f = t.toFloatArray();
            int n = (int) t.dim(0), per = f.length / n;
            if (maxSamples > 0) n = Math.min(n, maxSamples);
            for (int s = 0; s < n; s += batchSize) {
                int k = Math.min(batchSize, n - s);
                long[] shape = t.shape();
                shape[0] = k;
                out.add(Map.of(in, fit(Tensor.of(Arrays.copyOfRange(f, s * per, (s + k) * per), shape), sample, data)));
            }
        } else {
            throw new ModelException("calibration data must be an MNIST-format folder or a .pb tensor file: " + data);
        }
        if (out.isEmpty()) throw new ModelException("calibration data is empty: " + data);
        return out;
    }

    /** Per-sample static shape of the first input (null when unknown). */
    static long[] sampleShape(Graph g) {
        TensorType t = g.inputs().get(0).type();
        if (!t.hasRank() || t.rank() < 1) return null;
        long[] s = new long[t.rank() - 1];
        for (int i = 1; i < t.rank(); i++) {
            if (!t.dims().get(i).isKnown()) return null;
            s[i - 1] = t.dims().get(i).value();
        }
        return s;
    }

    static Tensor fit(Tensor x, long[] sample, Path data) {
        if (sample == null) return x;
        long per = 1, have = 1;
        for (long d : sample) per *= d;
        for (int i = 1; i < x.rank(); i++) have *= x.dim(i);
        if (per != have) {
            throw new ModelException(data + ": samples of shape " + Arrays.toString(Arrays.copyOfRange(x.shape(), 1, x.rank()))
                    + " do not fit the model input of shape " + Arrays.toString(sample));
        }
        long[] shape = new long[sample.length + 1];
        shape[0] = x.dim(0);
        System.arraycopy(sample, 0, shape, 1, sample.length);
        return x.reshape(shape);
    }
}
