package io.condense.backend.cuda;

import io.condense.backend.Backend;
import io.condense.backend.Session;
import io.condense.ir.Graph;

/**
 * The CUDA backend (JavaCPP presets): float32 graphs of elementwise ops (own kernels), MatMul/Gemm (cuBLAS) and
 * 2D Conv (cuDNN). Unavailable, with the reason, when there is no driver, no device or no built kernels.
 */
public final class CudaBackend implements Backend {
    @Override
    public String name() { return "cuda"; }

    @Override
    public int rank() { return 10; }

    @Override
    public boolean isAvailable() { return unavailableReason().isEmpty(); }

    @Override
    public String unavailableReason() {
        CudaRuntime.Status s = CudaRuntime.status();
        if (!s.available()) return s.reason();
        return CudaKernels.missingReason();
    }

    @Override
    public Session open(Graph graph) {
        String why = unavailableReason();
        if (!why.isEmpty()) throw new CudaException("the CUDA backend is not available: " + why);
        return new CudaSession(graph, 0);
    }
}
