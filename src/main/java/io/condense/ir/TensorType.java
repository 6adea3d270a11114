package io.condense.ir;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The static type of a value: element type and shape. {@code dims == null} means the rank is unknown;
 * {@code dtype == null} means the element type is unknown.
 */
public record TensorType(DType dtype, List<Dim> dims) {
    public TensorType {
        dims = dims == null ? null : List.copyOf(dims);
    }

    public static TensorType of(DType dtype, long... shape) {
        return new TensorType(dtype, Arrays.stream(shape).mapToObj(Dim::of).toList());
    }

    public static TensorType unknown() { return new TensorType(null, null); }

    public boolean hasRank() { return dims != null; }

    public int rank() {
        if (dims == null) throw new IllegalStateException("rank unknown");
        return dims.size();
    }

    /** True when every dimension is a fixed number. */
    public boolean isStatic() { return dims != null && dims.stream().allMatch(Dim::isKnown); }

    public long[] shape() {
        if (!isStatic()) throw new IllegalStateException("shape not static: " + this);
        return dims.stream().mapToLong(Dim::value).toArray();
    }

    public TensorType withDtype(DType t) { return new TensorType(t, dims); }

    @Override
    public String toString() {
        String d = dtype == null ? "?" : dtype.name().toLowerCase();
        return d + (dims == null ? "[*]" : dims.stream().map(Dim::toString).collect(Collectors.joining(",", "[", "]")));
    }
}
