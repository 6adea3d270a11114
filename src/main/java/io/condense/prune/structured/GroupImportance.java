package io.condense.prune.structured;

/** Scores the channels of one pruning group; low scores are removed first. */
public interface GroupImportance {
    double[] scores(DependencyGraph dg, PruningGroup group);

    /** A name for provenance and reports. */
    String name();
}
