package io.condense.backend;

import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;

import java.util.List;
import java.util.Map;

/** A graph prepared on a backend. Owns backend resources (device memory): close it. */
public interface Session extends AutoCloseable {
    List<ValueInfo> inputs();

    List<ValueInfo> outputs();

    /**
     * Runs the graph. Every graph input must be given with a dtype and a shape that match its declared type
     * (symbolic dimensions match any size); the result maps each graph output name to its value.
     *
     * @throws io.condense.ir.ModelException for a missing, unknown or mismatched input
     */
    Map<String, Tensor> run(Map<String, Tensor> inputs);

    /** Time spent in one op type over the profiled runs. */
    record OpTime(String opType, long calls, long nanos) {}

    /**
     * Starts (or stops) timing each node in later runs. Backends that cannot profile ignore it and report nothing.
     */
    default void setProfiling(boolean on) {}

    /** Per op type totals of the profiled runs, most expensive first (empty when not profiled). */
    default List<OpTime> profile() { return List.of(); }

    @Override
    void close();
}
