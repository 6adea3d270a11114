package io.condense.backend.cpu;

import org.nd4j.linalg.ops.transforms.Transforms;

/** CPU kernels: elementwise ops. */
final class ElementwiseKernels implements KernelRegistry.Group {
    @Override
    public void register(KernelRegistry r) {
        r.add("Relu", c -> OpContext.one(Transforms.relu(c.in(0), true)));
    }
}
