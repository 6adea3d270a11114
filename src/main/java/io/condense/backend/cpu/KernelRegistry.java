package io.condense.backend.cpu;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Op table of the CPU backend: (domain, op type) to kernel. Kernels read the opset from their context. */
public final class KernelRegistry {
    private static final KernelRegistry DEFAULT = create();

    private final Map<String, Kernel> kernels = new HashMap<>();

    /** Groups of kernels, one file per family of ops. */
    public interface Group {
        void register(KernelRegistry r);
    }

    public static KernelRegistry standard() { return DEFAULT; }

    private static KernelRegistry create() {
        KernelRegistry r = new KernelRegistry();
        new ElementwiseKernels().register(r);
        new ShapeKernels().register(r);
        new NnKernels().register(r);
        new ReduceKernels().register(r);
        new QuantKernels().register(r);
        return r;
    }

    /** Registers a kernel for an ai.onnx op. */
    public void add(String opType, Kernel k) { add("", opType, k); }

    public void add(String domain, String opType, Kernel k) {
        String key = key(domain, opType);
        if (kernels.putIfAbsent(key, k) != null) throw new IllegalStateException("kernel registered twice: " + key);
    }

    public Kernel get(String domain, String opType) { return kernels.get(key(domain, opType)); }

    /** Supported ops as "Op" or "domain.Op", sorted. */
    public Set<String> ops() {
        Set<String> s = new TreeSet<>();
        for (String k : kernels.keySet()) s.add(k.startsWith(":") ? k.substring(1) : k.replace(':', '.'));
        return s;
    }

    private static String key(String domain, String opType) {
        return (domain == null || domain.equals("ai.onnx") ? "" : domain) + ":" + opType;
    }
}
