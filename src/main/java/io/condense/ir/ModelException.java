package io.condense.ir;

/**
 * A problem with a model or its inputs that the user can fix: a corrupt file, an unknown op,
 * a wrong shape. The message is one line that names the problem; the CLI prints it and exits non-zero.
 * Line breaks and other control characters (e.g. from names in a corrupt file) are escaped to keep it so.
 */
public class ModelException extends RuntimeException {
    public ModelException(String message) { super(oneLine(message)); }

    public ModelException(String message, Throwable cause) { super(oneLine(message), cause); }

    static String oneLine(String s) {
        if (s == null) return null;
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c != 0x7F && c != '\u2028' && c != '\u2029') {
                if (b != null) b.append(c);
                continue;
            }
            if (b == null) b = new StringBuilder(s.length() + 8).append(s, 0, i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> b.append(String.format("\\u%04x", (int) c));
            }
        }
        return b == null ? s : b.toString();
    }
}
