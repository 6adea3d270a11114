package io.condense.backend.cpu;

/** CPU kernels: TODO. */
final class NnKernels implements KernelRegistry.Group {
    @Override
    public void register(KernelRegistry r) {
    }
}
