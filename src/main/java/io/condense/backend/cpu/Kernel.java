package io.condense.backend.cpu;

import org.nd4j.linalg.api.ndarray.INDArray;

/** Executes one node on ND4J arrays. Returns one array per node output (null for an omitted optional output). */
@FunctionalInterface
public interface Kernel {
    INDArray[] run(OpContext ctx);
}
