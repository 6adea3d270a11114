package io.condense.ir;

/** One dimension of a static type: a fixed size, a named symbol (e.g. "batch"), or unknown. */
public record Dim(long value, String symbol) {
    public static final Dim UNKNOWN = new Dim(-1, null);

    public static Dim of(long v) { return new Dim(v, null); }

    public static Dim symbol(String s) { return new Dim(-1, s); }

    public boolean isKnown() { return value >= 0; }

    @Override
    public String toString() { return isKnown() ? Long.toString(value) : symbol != null ? symbol : "?"; }
}
