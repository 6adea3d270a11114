package io.condense.data;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;

import java.io.IOException;
import java.util.Locale;
import java.util.Optional;

/**
 * How raw data becomes model input, written into the model's {@code metadata_props} under {@link #KEY} by the command
 * that trained or calibrated it and read back by eval/quantize/compress, so a model is not silently fed data in the
 * wrong range (e.g. mnist-8 takes pixels 0..255, condense's own models 0..1).
 *
 * @param kind       "image" or "text"
 * @param pixelScale multiplier applied to raw pixel values (1/255 maps 0..255 to 0..1); images only
 * @param mean       subtracted after scaling (0 = none); images only
 * @param std        divided by after subtracting the mean (1 = none); images only
 * @param tokenizer  tokenizer file name or id; text only
 * @param maxLength  token sequence length; text only (0 = not fixed)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Preprocessing(String kind, Double pixelScale, Double mean, Double std, String tokenizer, Integer maxLength) {
    public static final String KEY = "condense.preprocessing";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The scale condense's image commands default to (0..255 pixels to 0..1). */
    public static final double UNIT_SCALE = 1.0 / 255;

    public Preprocessing {
        if (kind == null || !(kind.equals("image") || kind.equals("text"))) throw new ModelException("preprocessing kind must be image or text, got " + kind);
        if (pixelScale != null && !(pixelScale > 0 && Double.isFinite(pixelScale))) throw new ModelException("pixel scale must be positive, got " + pixelScale);
        if (std != null && !(std > 0)) throw new ModelException("std must be positive, got " + std);
    }

    public static Preprocessing image(double pixelScale, double mean, double std) {
        return new Preprocessing("image", pixelScale, mean, std, null, null);
    }

    public static Preprocessing text(String tokenizer, int maxLength) {
        return new Preprocessing("text", null, null, null, tokenizer, maxLength);
    }

    /** The preprocessing recorded in {@code g}, if any. */
    public static Optional<Preprocessing> of(Graph g) {
        String s = g.metadata().get(KEY);
        if (s == null || s.isBlank()) return Optional.empty();
        try {
            return Optional.of(JSON.readValue(s, Preprocessing.class));
        } catch (IOException e) {
            throw new ModelException("metadata_props '" + KEY + "' is not valid: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    /** {@code g} with this preprocessing recorded. */
    public Graph stamp(Graph g) {
        try {
            return g.toBuilder().metadata(KEY, JSON.writeValueAsString(this)).build();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A one-line description, e.g. "pixels x 1/255, normalized (0.1307, 0.3081)". */
    public String describe() {
        if (kind.equals("text")) return "tokenizer " + tokenizer + (maxLength != null && maxLength > 0 ? ", max length " + maxLength : "");
        String sc = Math.abs(pixelScale - UNIT_SCALE) < 1e-9 ? "1/255" : String.format(Locale.ROOT, "%g", pixelScale);
        boolean norm = mean != null && mean != 0 || std != null && std != 1;
        return "pixels x " + sc + (norm ? String.format(Locale.ROOT, ", normalized (mean %g, std %g)", mean, std) : "");
    }

    /**
     * The pixel scale to use: the one given on the command line, else the model's recorded one, else 1/255.
     * Returns a warning in {@code warn} when the given one contradicts the recorded one.
     */
    public static double pixelScale(Graph g, Double given, java.util.function.Consumer<String> warn) {
        Optional<Preprocessing> rec = of(g).filter(p -> p.pixelScale() != null);
        if (given == null) return rec.map(Preprocessing::pixelScale).orElse(UNIT_SCALE);
        if (rec.isPresent() && Math.abs(rec.get().pixelScale() - given) > 1e-9 * Math.max(1, given)) {
            warn.accept(String.format(Locale.ROOT, "warning: the model was trained/calibrated with pixel scale %s but --scale is %s",
                    fmt(rec.get().pixelScale()), fmt(given)));
        }
        return given;
    }

    static String fmt(double s) {
        return Math.abs(s - UNIT_SCALE) < 1e-9 ? "1/255 (0..1 pixels)" : Math.abs(s - 1) < 1e-12 ? "1 (0..255 pixels)" : String.format(Locale.ROOT, "%g", s);
    }
}
