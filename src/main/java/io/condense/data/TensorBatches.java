package io.condense.data;

import io.condense.io.Npy;
import io.condense.ir.DType;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Multi-input tensor data: a folder of sub-folders, one per batch (sorted by name), each holding one {@code .npy} or
 * {@code .pb} file per model input. A file belongs to an input when its name without extension is the input's name,
 * or (for {@code .pb}) when the TensorProto's name is, or when it is {@code input_<i>} for the model's i-th input
 * (the layout of the ONNX test data sets, {@code test_data_set_0/input_0.pb}). Files named {@code output*} are
 * ignored. A folder that itself holds tensor files is one batch. Integer tensors are converted to the integer dtype
 * the input declares and floating ones to its floating dtype; a float file for an integer input is an error.
 */
public final class TensorBatches {
    private TensorBatches() {}

    /** True when {@code dir} holds batch sub-folders (or tensor files directly). */
    public static boolean isBatchFolder(Path dir) {
        if (!Files.isDirectory(dir)) return false;
        return !tensorFiles(dir).isEmpty() || !batchDirs(dir).isEmpty();
    }

    /** The batches under {@code dir} ({@code maxBatches <= 0}: all), each keyed by the model's input names. */
    public static List<Map<String, Tensor>> read(Graph g, Path dir, int maxBatches) {
        if (!Files.isDirectory(dir)) throw new ModelException("tensor data folder not found: " + dir);
        List<Path> dirs = tensorFiles(dir).isEmpty() ? batchDirs(dir) : List.of(dir);
        if (dirs.isEmpty()) throw new ModelException("no batch folders with .npy/.pb files in " + dir);
        if (maxBatches > 0 && dirs.size() > maxBatches) dirs = dirs.subList(0, maxBatches);
        List<Map<String, Tensor>> out = new ArrayList<>();
        for (Path d : dirs) out.add(readBatch(g, d));
        return out;
    }

    /** One batch folder: one tensor per model input. */
    public static Map<String, Tensor> readBatch(Graph g, Path dir) {
        List<Path> files = tensorFiles(dir);
        List<ValueInfo> inputs = g.inputs();
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        List<Path> unmatched = new ArrayList<>();
        for (Path f : files) {
            String stem = f.getFileName().toString().replaceFirst("(?i)\\.(npy|pb)$", "");
            ValueInfo in = byName(inputs, stem);
            if (in == null && stem.startsWith("input_")) {
                try {
                    int i = Integer.parseInt(stem.substring(6));
                    if (i >= 0 && i < inputs.size()) in = inputs.get(i);
                } catch (NumberFormatException ignored) {
                    // not an index: try the TensorProto name
                }
            }
            if (in == null && isPb(f)) in = byName(inputs, TensorCodec.readPbName(f));
            if (in == null) {
                unmatched.add(f);
                continue;
            }
            if (feeds.containsKey(in.name())) throw new ModelException(dir + ": two files for input '" + in.name() + "'");
            feeds.put(in.name(), convert(isPb(f) ? TensorCodec.readPb(f) : Npy.read(f), in, f));
        }
        if (!unmatched.isEmpty()) {
            throw new ModelException(unmatched.get(0) + " matches no model input (inputs: "
                    + inputs.stream().map(ValueInfo::name).toList() + ")");
        }
        for (ValueInfo in : inputs) {
            if (!feeds.containsKey(in.name())) throw new ModelException(dir + " has no file for input '" + in.name() + "' (" + in.name() + ".npy or .pb)");
        }
        Map<String, Tensor> ordered = new LinkedHashMap<>();
        for (ValueInfo in : inputs) ordered.put(in.name(), feeds.get(in.name()));
        return ordered;
    }

    private static Tensor convert(Tensor t, ValueInfo in, Path f) {
        TensorType ty = in.type();
        DType want = ty.dtype();
        if (ty.hasRank() && t.rank() == ty.rank() - 1) { // one sample: add the batch axis
            long[] s = new long[t.rank() + 1];
            s[0] = 1;
            System.arraycopy(t.shape(), 0, s, 1, t.rank());
            t = t.reshape(s);
        } else if (ty.hasRank() && t.rank() != ty.rank()) {
            throw new ModelException(f + ": rank " + t.rank() + " tensor for input '" + in.name() + "' " + ty);
        }
        if (want == null || want == t.dtype()) return t;
        boolean ok = want.isInteger() && t.dtype().isInteger() || want.isFloating() && t.dtype().isFloating();
        if (!ok) throw new ModelException(f + ": " + t.dtype() + " tensor for input '" + in.name() + "', which is " + want);
        return Tensor.fromDoubles(want, t.shape(), t.toDoubleArray());
    }

    private static ValueInfo byName(List<ValueInfo> inputs, String name) {
        for (ValueInfo v : inputs) if (v.name().equals(name)) return v;
        return null;
    }

    private static boolean isPb(Path f) { return f.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".pb"); }

    private static List<Path> tensorFiles(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return (n.endsWith(".npy") || n.endsWith(".pb")) && !n.startsWith("output");
            }).sorted().toList();
        } catch (IOException e) {
            throw new ModelException("cannot list " + dir + ": " + e.getMessage());
        }
    }

    private static List<Path> batchDirs(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).filter(d -> !tensorFiles(d).isEmpty()).sorted().toList();
        } catch (IOException e) {
            throw new ModelException("cannot list " + dir + ": " + e.getMessage());
        }
    }
}
