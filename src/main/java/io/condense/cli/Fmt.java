package io.condense.cli;

import io.condense.ir.DType;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** Text formatting shared by the commands. */
final class Fmt {
    private Fmt() {}

    static String bytes(long b) {
        if (b < 1024) return b + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = b;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    static String count(long n) { return String.format(Locale.ROOT, "%,d", n); }

    /** A PrintStream over a command's PrintWriter (for the library code that logs to a PrintStream); flushes on newline. */
    static java.io.PrintStream stream(java.io.PrintWriter o) {
        return new java.io.PrintStream(new java.io.OutputStream() {
            @Override public void write(int b) { o.write(b); }
            @Override public void flush() { o.flush(); }
        }, true);
    }

    /** "float32[batch,3,224,224]"; "?" for unknown dtype or dimension, "[*]" for unknown rank. */
    static String type(TensorType t) { return t.toString(); }

    static String shape(long[] s) {
        return Arrays.stream(s).mapToObj(Long::toString).collect(Collectors.joining(",", "[", "]"));
    }

    static String dtype(DType t) { return t.name().toLowerCase(Locale.ROOT); }

    /** The first {@code n} values of a tensor, e.g. "[0.1, 2, ...]". */
    static String values(Tensor t, int n) {
        StringBuilder sb = new StringBuilder("[");
        int k = Math.min(n, t.size());
        for (int i = 0; i < k; i++) {
            if (i > 0) sb.append(", ");
            sb.append(value(t, i));
        }
        if (t.size() > k) sb.append(", ...");
        return sb.append(']').toString();
    }

    static String value(Tensor t, int i) {
        DType d = t.dtype();
        if (d == DType.STRING) return '"' + ((String[]) t.data())[i] + '"';
        if (d == DType.BOOL) return t.getLong(i) != 0 ? "true" : "false";
        if (d.isFloating()) return number(t.getDouble(i));
        if (d == DType.UINT64) return Long.toUnsignedString(t.getLong(i));
        return Long.toString(t.getLong(i));
    }

    /** A float with up to 6 significant digits, without trailing zeros. */
    static String number(double v) {
        if (v == 0) return "0";
        if (Double.isNaN(v) || Double.isInfinite(v)) return Double.toString(v);
        double a = Math.abs(v);
        if (a >= 1e-4 && a < 1e6) {
            String s = new java.math.BigDecimal(v).round(new java.math.MathContext(6)).stripTrailingZeros().toPlainString();
            return s;
        }
        return String.format(Locale.ROOT, "%.5e", v);
    }

    static String millis(double ms) {
        return ms >= 100 ? String.format(Locale.ROOT, "%.0f ms", ms) : String.format(Locale.ROOT, "%.2f ms", ms);
    }
}
