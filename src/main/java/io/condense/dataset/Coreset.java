package io.condense.dataset;

import io.condense.data.Dataset;

/** Chooses {@code ipc} real training images per class; returns their indices into {@code train}, class by class. */
public interface Coreset {
    String name();

    int[] select(Dataset train, int ipc, long seed);
}
