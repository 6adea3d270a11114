package io.condense.ir;

import java.util.Arrays;
import java.util.List;

/** A node attribute: one of ONNX's attribute kinds and its value. */
public record Attribute(Kind kind, Object value) {
    public enum Kind { FLOAT, INT, STRING, TENSOR, GRAPH, FLOATS, INTS, STRINGS, TENSORS, GRAPHS }

    public static Attribute of(float v) { return new Attribute(Kind.FLOAT, v); }

    public static Attribute of(long v) { return new Attribute(Kind.INT, v); }

    public static Attribute of(String v) { return new Attribute(Kind.STRING, v); }

    public static Attribute of(Tensor v) { return new Attribute(Kind.TENSOR, v); }

    public static Attribute of(Graph v) { return new Attribute(Kind.GRAPH, v); }

    public static Attribute of(float[] v) { return new Attribute(Kind.FLOATS, v.clone()); }

    public static Attribute of(long... v) { return new Attribute(Kind.INTS, v.clone()); }

    public static Attribute ofStrings(List<String> v) { return new Attribute(Kind.STRINGS, List.copyOf(v)); }

    public static Attribute ofTensors(List<Tensor> v) { return new Attribute(Kind.TENSORS, List.copyOf(v)); }

    public static Attribute ofGraphs(List<Graph> v) { return new Attribute(Kind.GRAPHS, List.copyOf(v)); }

    public float asFloat() {
        return switch (kind) {
            case FLOAT -> (Float) value;
            case INT -> (Long) value;
            default -> throw wrong("float");
        };
    }

    public long asLong() {
        if (kind != Kind.INT) throw wrong("int");
        return (Long) value;
    }

    public String asString() {
        if (kind != Kind.STRING) throw wrong("string");
        return (String) value;
    }

    public Tensor asTensor() {
        if (kind != Kind.TENSOR) throw wrong("tensor");
        return (Tensor) value;
    }

    public Graph asGraph() {
        if (kind != Kind.GRAPH) throw wrong("graph");
        return (Graph) value;
    }

    public float[] asFloats() {
        if (kind == Kind.INTS) {
            long[] l = (long[]) value;
            float[] f = new float[l.length];
            for (int i = 0; i < l.length; i++) f[i] = l[i];
            return f;
        }
        if (kind != Kind.FLOATS) throw wrong("floats");
        return ((float[]) value).clone();
    }

    public long[] asLongs() {
        if (kind != Kind.INTS) throw wrong("ints");
        return ((long[]) value).clone();
    }

    @SuppressWarnings("unchecked")
    public List<String> asStrings() {
        if (kind != Kind.STRINGS) throw wrong("strings");
        return (List<String>) value;
    }

    @SuppressWarnings("unchecked")
    public List<Tensor> asTensors() {
        if (kind != Kind.TENSORS) throw wrong("tensors");
        return (List<Tensor>) value;
    }

    @SuppressWarnings("unchecked")
    public List<Graph> asGraphs() {
        if (kind != Kind.GRAPHS) throw wrong("graphs");
        return (List<Graph>) value;
    }

    private ModelException wrong(String want) {
        return new ModelException("attribute is " + kind + ", expected " + want);
    }

    @Override
    public String toString() {
        return switch (kind) {
            case FLOATS -> Arrays.toString((float[]) value);
            case INTS -> Arrays.toString((long[]) value);
            case GRAPH -> "<graph>";
            default -> String.valueOf(value);
        };
    }
}
