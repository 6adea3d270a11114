package io.condense.backend;

import io.condense.ir.ModelException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/** Finds backends through {@link ServiceLoader}: "cpu", "cuda", or "auto" (the best available). */
public final class Backends {
    private Backends() {}

    /** All registered backends, best first. */
    public static List<Backend> all() {
        List<Backend> l = new ArrayList<>();
        for (Backend b : ServiceLoader.load(Backend.class)) l.add(b);
        l.sort(Comparator.comparingInt(Backend::rank).reversed());
        return l;
    }

    /**
     * The backend named {@code name}, or for "auto" the highest-ranked available one.
     *
     * @throws ModelException when the named backend is unknown or cannot run here (with the reason)
     */
    public static Backend get(String name) {
        List<Backend> all = all();
        if (name == null || name.equals("auto")) {
            for (Backend b : all) if (b.rank() >= 0 && b.isAvailable()) return b;
            throw new ModelException("no backend is available");
        }
        for (Backend b : all) {
            if (b.name().equals(name)) {
                if (!b.isAvailable()) throw new ModelException("backend '" + name + "' is not available: " + b.unavailableReason());
                return b;
            }
        }
        throw new ModelException("unknown backend '" + name + "' (known: "
                + String.join(", ", all.stream().map(Backend::name).toList()) + ")");
    }

    public static Backend cpu() { return get("cpu"); }
}
