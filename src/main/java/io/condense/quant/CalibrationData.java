package io.condense.quant;

import io.condense.data.Dataset;
import io.condense.data.Idx;
import io.condense.io.Npy;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.TensorCodec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Sources of calibration feeds ({@code Iterable<Map<String, Tensor>>}, one map of graph inputs per batch) for
 * single-input image models: a {@link Dataset}, MNIST IDX images, a folder of {@code .npy}/{@code .pb} tensors or
 * seeded random data. Batches are shaped for the model's input: samples are reshaped to the input's rank
 * (e.g. [n, 1, 28, 28] or [n, 784]) and a model with a fixed batch dimension gets batches of that size.
 */
public final class CalibrationData {
    private CalibrationData() {}

    /** The model's only input (calibration of multi-input models needs explicit feeds). */
    public static ValueInfo singleInput(Graph g) {
        if (g.inputs().size() != 1) {
            throw new ModelException("calibration data from a single tensor/IDX source supports models with one input; this model has "
                    + g.inputs().size() + " (" + String.join(", ", g.inputs().stream().map(ValueInfo::name).toList())
                    + "): give text sentences or a folder with one sub-folder per batch holding one .npy/.pb per input");
        }
        ValueInfo in = g.inputs().get(0);
        if (in.type().dtype() != null && in.type().dtype() != DType.FLOAT32) {
            throw new ModelException("calibration input '" + in.name() + "' must be float32, model declares " + in.type().dtype());
        }
        return in;
    }

    /** The batch size to use: the input's fixed first dimension if it has one, else {@code requested}. */
    public static int batchSize(ValueInfo in, int requested) {
        TensorType t = in.type();
        if (t.hasRank() && t.rank() > 0 && t.dims().get(0).isKnown()) return (int) t.dims().get(0).value();
        return requested;
    }

    /** Shape of a batch of {@code n} samples of {@code sampleSize} values for input {@code in}. */
    static long[] batchShape(ValueInfo in, int n, int sampleSize) {
        TensorType t = in.type();
        if (!t.hasRank()) return new long[] {n, sampleSize};
        List<Dim> d = t.dims();
        long[] s = new long[d.size()];
        s[0] = n;
        long known = 1;
        int unknown = -1;
        for (int i = 1; i < s.length; i++) {
            if (d.get(i).isKnown()) {
                s[i] = d.get(i).value();
                known *= s[i];
            } else if (unknown < 0) {
                unknown = i;
            } else {
                throw new ModelException("input '" + in.name() + "' has several symbolic non-batch dimensions: " + t);
            }
        }
        if (unknown >= 0) {
            if (sampleSize % known != 0) throw new ModelException("samples of " + sampleSize + " values do not fit input '" + in.name() + "' " + t);
            s[unknown] = sampleSize / known;
        } else if (known != sampleSize) {
            throw new ModelException("calibration samples have " + sampleSize + " values but input '" + in.name() + "' " + t
                    + " needs " + known + " per sample");
        }
        return s;
    }

    /** Batches from a float array of {@code count} samples of {@code sampleSize} values each (lazy, no copy up front). */
    public static Iterable<Map<String, Tensor>> fromArray(ValueInfo in, float[] x, int count, int sampleSize, int batchSize, int maxBatches) {
        if (count == 0) throw new ModelException("calibration data is empty");
        if (batchSize <= 0) throw new ModelException("batch size must be positive, got " + batchSize);
        batchShape(in, 1, sampleSize); // validate early
        // a fixed batch dimension cannot take a short last batch: drop it
        int nb = fixed(in) > 0 ? count / batchSize : (count + batchSize - 1) / batchSize;
        if (maxBatches > 0) nb = Math.min(nb, maxBatches);
        if (nb == 0) throw new ModelException("calibration data is empty: " + count + " samples for batches of " + batchSize);
        int batches = nb;
        return () -> new java.util.Iterator<>() {
            int b = 0;

            @Override public boolean hasNext() { return b < batches; }

            @Override public Map<String, Tensor> next() {
                int from = b * batchSize, m = Math.min(batchSize, count - from);
                b++;
                float[] d = Arrays.copyOfRange(x, from * sampleSize, (from + m) * sampleSize);
                return Map.of(in.name(), Tensor.of(d, batchShape(in, m, sampleSize)));
            }
        };
    }

    /** The fixed batch dimension, or -1 when it is symbolic (a short last batch is allowed only then). */
    static int fixed(ValueInfo in) {
        TensorType t = in.type();
        return t.hasRank() && t.rank() > 0 && t.dims().get(0).isKnown() ? (int) t.dims().get(0).value() : -1;
    }

    /** Batches of a {@link Dataset}'s samples (labels ignored), in order. */
    public static Iterable<Map<String, Tensor>> fromDataset(ValueInfo in, Dataset d, int batchSize, int maxBatches) {
        int ss = (int) Arrays.stream(d.sampleShape()).reduce(1, (a, b) -> a * b);
        float[] x = new float[d.size() * ss];
        for (int i = 0; i < d.size(); i++) System.arraycopy(d.sample(i), 0, x, i * ss, ss);
        return fromArray(in, x, d.size(), ss, batchSize, maxBatches);
    }

    /** Images of an IDX file (or the first {@code *images*} IDX file of a folder), multiplied by {@code scale}. */
    public static Iterable<Map<String, Tensor>> fromIdx(ValueInfo in, Path fileOrDir, float scale, int batchSize, int maxBatches) {
        Path f = fileOrDir;
        if (Files.isDirectory(f)) f = findImages(f);
        Idx.Array a = Idx.read(f);
        float[] x = a.data();
        if (scale != 1) for (int i = 0; i < x.length; i++) x[i] *= scale;
        int count = a.count();
        if (maxBatches > 0) count = (int) Math.min(count, (long) maxBatches * batchSize);
        return fromArray(in, x, count, a.recordSize(), batchSize, maxBatches);
    }

    static Path findImages(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> c = s.filter(p -> {
                String n = p.getFileName().toString();
                return n.contains("images") && n.contains("idx3");
            }).sorted((p, q) -> {
                // the training split first: calibration data should not be the test set
                boolean pt = p.getFileName().toString().startsWith("train"), qt = q.getFileName().toString().startsWith("train");
                return pt == qt ? p.compareTo(q) : pt ? -1 : 1;
            }).toList();
            if (c.isEmpty()) throw new ModelException("no *images*idx3* IDX file in " + dir);
            return c.get(0);
        } catch (IOException e) {
            throw new ModelException("cannot list " + dir + ": " + e.getMessage());
        }
    }

    /**
     * Every {@code .npy} and {@code .pb} file under {@code dir} (sorted by path; files named {@code output*} are
     * skipped; {@code dir} may also be one such file) is one batch for the model's only input; a tensor of the input's rank minus one gets a batch axis.
     */
    public static Iterable<Map<String, Tensor>> fromTensorFiles(ValueInfo in, Path dir, int maxBatches) {
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return (n.endsWith(".npy") || n.endsWith(".pb")) && !n.startsWith("output");
            }).sorted().toList();
        } catch (IOException e) {
            throw new ModelException("cannot list " + dir + ": " + e.getMessage());
        }
        if (files.isEmpty()) throw new ModelException("calibration data is empty: no .npy or .pb files in " + dir);
        List<Path> use = maxBatches > 0 && files.size() > maxBatches ? files.subList(0, maxBatches) : files;
        return () -> use.stream().map(p -> {
            Tensor t = p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".npy") ? Npy.read(p) : TensorCodec.readPb(p);
            if (t.dtype() != DType.FLOAT32) {
                if (!t.dtype().isFloating() && !t.dtype().isInteger()) throw new ModelException(p + ": calibration tensors must be numeric, got " + t.dtype());
                t = Tensor.of(t.toFloatArray(), t.shape());
            }
            TensorType ty = in.type();
            if (ty.hasRank() && t.rank() == ty.rank() - 1) {
                long[] s = new long[t.rank() + 1];
                s[0] = 1;
                System.arraycopy(t.shape(), 0, s, 1, t.rank());
                t = t.reshape(s);
            }
            return Map.of(in.name(), t);
        }).iterator();
    }

    /** {@code batches} batches of seeded uniform [lo, hi) values (symbolic non-batch dimensions are not allowed). */
    public static Iterable<Map<String, Tensor>> random(ValueInfo in, int batchSize, int batches, long seed, float lo, float hi) {
        TensorType t = in.type();
        if (!t.hasRank()) throw new ModelException("random calibration data needs an input of known rank; '" + in.name() + "' has none");
        long[] s = new long[t.rank()];
        for (int i = 0; i < s.length; i++) {
            if (t.dims().get(i).isKnown()) s[i] = t.dims().get(i).value();
            else if (i == 0) s[i] = batchSize;
            else throw new ModelException("random calibration data needs static non-batch dimensions; input '" + in.name() + "' is " + t);
        }
        List<Map<String, Tensor>> out = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(seed);
        for (int b = 0; b < batches; b++) {
            float[] d = new float[(int) Tensor.checkedSize(s)];
            for (int i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * (float) r.nextDouble();
            out.add(Map.of(in.name(), Tensor.of(d, s)));
        }
        return out;
    }
}
