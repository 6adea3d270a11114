package io.condense.backend.ort;

import io.condense.backend.Backend;
import io.condense.backend.Session;
import io.condense.ir.Graph;

/**
 * ONNX Runtime (CPU execution provider) behind {@link Backend}: the graph is exported to ONNX bytes and opened as an
 * {@code OrtSession}. For inference-heavy work (calibration, evaluation, sensitivity sweeps, benchmarking).
 *
 * <p>Ranked below the cpu backend, so {@code auto} keeps choosing the executor condense owns; select it with
 * {@code --backend ort}. This class touches no ONNX Runtime class until {@link #isAvailable()} or {@link #open}, so
 * a class path without the ONNX Runtime jar (the GPU payload) still loads every backend.
 *
 * <p>Threads: {@link #withThreads(int)} gives a backend whose sessions use that many intra-op threads; the
 * ServiceLoader instance uses {@code -Dcondense.ort.threads=N}, else {@code condense.cpu.threads}, else ORT's
 * default (one per core). Idle threads never spin.
 */
public final class OrtBackend implements Backend {
    private final int threads;

    /** The ServiceLoader instance (threads from system properties, see the class comment). */
    public OrtBackend() { this(0); }

    private OrtBackend(int threads) {
        if (threads < 0) throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        this.threads = threads;
    }

    /** A backend whose sessions use {@code n} intra-op threads (0 = the default of the class comment). */
    public static OrtBackend withThreads(int n) { return new OrtBackend(n); }

    /** Intra-op threads sessions get (0: ORT's default). */
    public int threads() {
        if (threads > 0) return threads;
        int t = Integer.getInteger("condense.ort.threads", 0);
        return t > 0 ? t : Math.max(0, Integer.getInteger("condense.cpu.threads", 0));
    }

    @Override
    public String name() { return "ort"; }

    /** Below cpu (0): {@code auto} does not pick ONNX Runtime (no idle-machine measurement says it should). */
    @Override
    public int rank() { return -10; }

    @Override
    public boolean isAvailable() { return OrtRuntime.reason().isEmpty(); }

    @Override
    public String unavailableReason() { return OrtRuntime.reason(); }

    @Override
    public Session open(Graph graph) {
        if (!isAvailable()) throw new io.condense.ir.ModelException("backend 'ort' is not available: " + unavailableReason());
        return new OrtGraphSession(graph, threads());
    }
}
