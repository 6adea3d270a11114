package io.condense.recipe;

import io.condense.ir.Graph;

/** The quality a compressed model must keep (higher is better): accuracy on held-out labels, fidelity to the original, ... */
public interface Metric {
    /** Short name for tables ("accuracy", "fidelity"). */
    String name();

    /** The metric of {@code g} on the held-out data. */
    double evaluate(Graph g);
}
