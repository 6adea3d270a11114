package io.condense.prune;

import io.condense.ir.ModelException;

/**
 * Which weights compete for the kept slots: each layer on its own ({@link Kind#LAYER}), every output row on its own
 * ({@link Kind#OUTPUT}, Wanda's comparison group), all layers together with one threshold ({@link Kind#GLOBAL}),
 * or N:M ({@link Kind#NM}: in every group of M consecutive input channels of one output keep N).
 */
public record Granularity(Kind kind, int n, int m) {
    public enum Kind { LAYER, OUTPUT, GLOBAL, NM }

    public Granularity {
        if (kind == null) throw new ModelException("granularity kind is required");
        if (kind == Kind.NM && (n < 1 || m < 2 || n >= m)) throw new ModelException("N:M needs 1 <= N < M, got " + n + ":" + m);
    }

    public static final Granularity LAYER = new Granularity(Kind.LAYER, 0, 0);
    public static final Granularity OUTPUT = new Granularity(Kind.OUTPUT, 0, 0);
    public static final Granularity GLOBAL = new Granularity(Kind.GLOBAL, 0, 0);

    public static Granularity nm(int n, int m) { return new Granularity(Kind.NM, n, m); }

    /** Sparsity the pattern implies (N:M), or -1 when the configured sparsity applies. */
    public double impliedSparsity() { return kind == Kind.NM ? 1 - (double) n / m : -1; }

    /** "layer", "output", "global" or "N:M". */
    public static Granularity parse(String s) {
        String t = s.trim().toLowerCase(java.util.Locale.ROOT);
        switch (t) {
            case "layer": return LAYER;
            case "output": case "row": return OUTPUT;
            case "global": return GLOBAL;
            default:
                String[] p = t.split(":");
                if (p.length == 2) {
                    try {
                        return nm(Integer.parseInt(p[0]), Integer.parseInt(p[1]));
                    } catch (NumberFormatException ignored) {
                        // below
                    }
                }
                throw new ModelException("unknown granularity '" + s + "' (layer, output, global, N:M such as 2:4)");
        }
    }

    @Override public String toString() { return kind == Kind.NM ? n + ":" + m : kind.name().toLowerCase(java.util.Locale.ROOT); }
}
