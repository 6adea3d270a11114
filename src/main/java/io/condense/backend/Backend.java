package io.condense.backend;

import io.condense.ir.Graph;

/**
 * An execution engine for graphs. Implementations are found with {@link java.util.ServiceLoader}
 * (see {@link Backends}); the CPU backend is always available, others report why they are not.
 */
public interface Backend {
    /** Short name used on the command line: "cpu", "cuda". */
    String name();

    /** Preference when several are available: higher wins under "auto"; a negative rank is never chosen by "auto". */
    int rank();

    /** True when this backend can run on this machine (native libraries load, a device exists). */
    boolean isAvailable();

    /** Why {@link #isAvailable()} is false, in one line; empty when available. */
    String unavailableReason();

    /**
     * Prepares {@code graph} for execution: checks that every op is supported and uploads the weights.
     *
     * @throws io.condense.ir.ModelException naming the first unsupported node
     */
    Session open(Graph graph);
}
