package io.condense.export.trt;

import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.ValueInfo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * One input's optimization-profile range for a dynamic-shape engine, trtexec-style {@code NAME:MIN/OPT/MAX} with each
 * shape written {@code 1x3x224x224} (e.g. {@code input_ids:1x128/8x128/64x128}). {@code NAME:SHAPE} alone means
 * min = opt = max.
 */
public record ShapeProfile(String name, long[] min, long[] opt, long[] max) {
    public ShapeProfile {
        if (name == null || name.isEmpty()) throw new ModelException("shape profile without an input name");
        if (min.length != opt.length || opt.length != max.length) {
            throw new ModelException("--shapes " + name + ": min, opt and max must have the same rank (" + min.length + ", " + opt.length + ", " + max.length + ")");
        }
        for (int i = 0; i < min.length; i++) {
            if (min[i] < 1) throw new ModelException("--shapes " + name + ": dimension " + i + " must be >= 1, got " + min[i]);
            if (!(min[i] <= opt[i] && opt[i] <= max[i])) {
                throw new ModelException(String.format(Locale.ROOT, "--shapes %s: dimension %d needs min <= opt <= max, got %d/%d/%d",
                        name, i, min[i], opt[i], max[i]));
            }
        }
        min = min.clone();
        opt = opt.clone();
        max = max.clone();
    }

    /** Parses {@code NAME:MIN/OPT/MAX} or {@code NAME:SHAPE}; the name may itself contain ':' (the last one splits). */
    public static ShapeProfile parse(String spec) {
        int c = spec.lastIndexOf(':');
        if (c <= 0 || c == spec.length() - 1) throw new ModelException("--shapes '" + spec + "': expected NAME:MIN/OPT/MAX, e.g. input:1x3x224x224/8x3x224x224/64x3x224x224");
        String name = spec.substring(0, c);
        String[] parts = spec.substring(c + 1).split("/", -1);
        if (parts.length != 1 && parts.length != 3) throw new ModelException("--shapes '" + spec + "': give one shape or three (min/opt/max), got " + parts.length);
        long[][] s = new long[parts.length][];
        for (int i = 0; i < parts.length; i++) s[i] = dims(spec, parts[i]);
        return parts.length == 1 ? new ShapeProfile(name, s[0], s[0], s[0]) : new ShapeProfile(name, s[0], s[1], s[2]);
    }

    private static long[] dims(String spec, String shape) {
        if (shape.isEmpty()) throw new ModelException("--shapes '" + spec + "': empty shape");
        String[] d = shape.split("x", -1);
        long[] out = new long[d.length];
        for (int i = 0; i < d.length; i++) {
            try {
                out[i] = Long.parseLong(d[i].trim());
            } catch (NumberFormatException e) {
                throw new ModelException("--shapes '" + spec + "': '" + d[i] + "' is not a dimension (write shapes as 8x3x224x224)");
            }
        }
        return out;
    }

    /**
     * Checks the profiles against the model: every name is a model input, appears once, has the input's rank and
     * keeps its fixed dimensions; every input with a dynamic dimension has a profile (TensorRT needs one).
     */
    public static void validate(List<ShapeProfile> profiles, Graph g) {
        List<ValueInfo> inputs = new ArrayList<>();
        for (ValueInfo v : g.inputs()) if (!g.initializers().containsKey(v.name())) inputs.add(v);
        Set<String> seen = new HashSet<>();
        for (ShapeProfile p : profiles) {
            ValueInfo in = inputs.stream().filter(v -> v.name().equals(p.name)).findFirst().orElseThrow(() -> new ModelException(
                    "--shapes " + p.name + ": the model has no input of that name (inputs: "
                            + String.join(", ", inputs.stream().map(ValueInfo::name).toList()) + ")"));
            if (!seen.add(p.name)) throw new ModelException("--shapes " + p.name + " is given twice");
            if (!in.type().hasRank()) continue;
            List<Dim> dims = in.type().dims();
            if (dims.size() != p.min.length) {
                throw new ModelException("--shapes " + p.name + ": the input has rank " + dims.size() + " (" + in.type() + "), the profile " + p.min.length);
            }
            for (int i = 0; i < dims.size(); i++) {
                Dim d = dims.get(i);
                if (d.isKnown() && (p.min[i] != d.value() || p.max[i] != d.value())) {
                    throw new ModelException("--shapes " + p.name + ": dimension " + i + " is fixed at " + d.value() + " in the model, the profile gives "
                            + p.min[i] + "/" + p.opt[i] + "/" + p.max[i]);
                }
            }
        }
        List<String> missing = new ArrayList<>();
        for (ValueInfo v : inputs) {
            boolean dynamic = !v.type().hasRank() || v.type().dims().stream().anyMatch(d -> !d.isKnown());
            if (dynamic && !seen.contains(v.name())) missing.add(v.name() + " " + v.type());
        }
        if (!missing.isEmpty()) {
            throw new ModelException("inputs with dynamic dimensions need --shapes NAME:MIN/OPT/MAX: " + String.join(", ", missing));
        }
    }

    @Override
    public String toString() { return name + ":" + fmt(min) + "/" + fmt(opt) + "/" + fmt(max); }

    static String fmt(long[] s) { return String.join("x", Arrays.stream(s).mapToObj(Long::toString).toList()); }

    @Override
    public boolean equals(Object o) {
        return o instanceof ShapeProfile p && p.name.equals(name) && Arrays.equals(p.min, min) && Arrays.equals(p.opt, opt) && Arrays.equals(p.max, max);
    }

    @Override
    public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(opt); }
}
