package io.condense.ir;

/** A named value of the graph (graph input, output or intermediate) with its static type. */
public record ValueInfo(String name, TensorType type) {
    public ValueInfo {
        if (type == null) type = TensorType.unknown();
    }

    @Override
    public String toString() { return name + ": " + type; }
}
