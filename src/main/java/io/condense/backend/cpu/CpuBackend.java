package io.condense.backend.cpu;

import io.condense.backend.Backend;
import io.condense.backend.Session;
import io.condense.ir.Graph;

/** The CPU backend on ND4J: always available. */
public final class CpuBackend implements Backend {
    static { NativeSetup.init(); }

    @Override
    public String name() { return "cpu"; }

    @Override
    public int rank() { return 0; }

    @Override
    public boolean isAvailable() { return true; }

    @Override
    public String unavailableReason() { return ""; }

    @Override
    public Session open(Graph graph) { return new CpuSession(graph, KernelRegistry.standard()); }
}
