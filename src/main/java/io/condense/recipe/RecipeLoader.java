package io.condense.recipe;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.condense.ir.ModelException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Reads and validates recipes (YAML). Every mistake is reported before any work starts, in one line naming the file,
 * the line, the field and the allowed values, e.g.
 * {@code recipe.yaml line 6: stages[0].quantize.calibrator: 'kl-div' is not allowed; allowed values: minmax, percentile, entropy, mse}.
 *
 * <pre>
 * name: int8
 * seed: 0
 * search: {max_relative_drop: 0.01, budget_seconds: 600}
 * data: {calibration_batches: 16, eval_samples: 1000}
 * stages:
 *   - quantize: {calibrator: [minmax, entropy], keep_float: [0, 1, 2]}
 *   - benchmark
 *   - export-onnx: {file: model.onnx}
 *   - report
 * </pre>
 */
public final class RecipeLoader {
    /** The presets shipped in the jar ({@code --preset NAME}). */
    public static final List<String> PRESETS = List.of("int8", "int8-sparse", "int4", "small");

    static final ObjectMapper YAML = YAMLMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .build();

    private static final List<String> TOP = List.of("name", "seed", "search", "data", "stages");

    private RecipeLoader() {}

    /** YAML form of {@link Recipe.Search} (missing keys keep the defaults). */
    record SearchSpec(Double floor, Double maxRelativeDrop, Double budgetSeconds, Boolean exhaustive, Integer latencyRepeats) {
        Recipe.Search toSearch() {
            Recipe.Search d = Recipe.Search.defaults();
            return new Recipe.Search(floor, maxRelativeDrop == null ? d.maxRelativeDrop() : maxRelativeDrop,
                    budgetSeconds == null ? d.budgetSeconds() : budgetSeconds, exhaustive == null ? d.exhaustive() : exhaustive,
                    latencyRepeats == null ? d.latencyRepeats() : latencyRepeats);
        }
    }

    /** YAML form of {@link Recipe.DataSettings}. */
    record DataSpec(Integer calibrationBatches, Integer batchSize, Integer evalSamples) {
        Recipe.DataSettings toData() {
            Recipe.DataSettings d = Recipe.DataSettings.defaults();
            return new Recipe.DataSettings(calibrationBatches == null ? d.calibrationBatches() : calibrationBatches,
                    batchSize == null ? d.batchSize() : batchSize, evalSamples == null ? d.evalSamples() : evalSamples);
        }
    }

    /** Reads a recipe file. */
    public static Recipe load(Path file) {
        byte[] b = io.condense.onnx.ModelFiles.readAll(file, "recipe");
        String name = file.getFileName().toString();
        return parse(new String(b, StandardCharsets.UTF_8), name, name.replaceFirst("\\.ya?ml$", ""));
    }

    /** A preset shipped in the jar: int8, int8-sparse, int4, small. */
    public static Recipe preset(String name) {
        if (!PRESETS.contains(name)) throw new ModelException("unknown preset '" + name + "'; allowed: " + String.join(", ", PRESETS));
        try (InputStream in = RecipeLoader.class.getResourceAsStream("presets/" + name + ".yaml")) {
            if (in == null) throw new ModelException("preset " + name + " is missing from this build");
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "preset " + name, name);
        } catch (IOException e) {
            throw new ModelException("cannot read preset " + name + ": " + e.getMessage());
        }
    }

    /** The recipe of {@code condense demo} (INT8 for a sentence-embedding transformer, scored by fidelity). */
    public static Recipe demo() {
        try (InputStream in = RecipeLoader.class.getResourceAsStream("presets/demo-minilm.yaml")) {
            if (in == null) throw new ModelException("the demo recipe is missing from this build");
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "demo recipe", "demo-minilm");
        } catch (IOException e) {
            throw new ModelException("cannot read the demo recipe: " + e.getMessage());
        }
    }

    /**
     * Parses and validates recipe text.
     *
     * @param source      how errors name the text ("recipe.yaml", "preset int8")
     * @param defaultName the recipe's name when it has no {@code name:}
     */
    public static Recipe parse(String text, String source, String defaultName) {
        String name = defaultName;
        long seed = 0;
        Recipe.Search search = Recipe.Search.defaults();
        Recipe.DataSettings data = Recipe.DataSettings.defaults();
        List<Recipe.StageSpec> stages = null;
        String field = "";
        try (JsonParser p = YAML.createParser(text)) {
            JsonToken t = p.nextToken();
            if (t == null) throw error(source, 1, "", "the recipe is empty; it needs at least 'stages:'");
            if (t != JsonToken.START_OBJECT) throw error(source, line(p), "", "the recipe must be a mapping with the keys " + String.join(", ", TOP));
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                field = p.currentName();
                int at = line(p);
                p.nextToken();
                switch (field) {
                    case "name" -> name = scalar(p, source, field);
                    case "seed" -> {
                        if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) throw error(source, at, field, "expected a whole number");
                        seed = p.getLongValue();
                    }
                    case "search" -> {
                        SearchSpec sp = p.currentToken() == JsonToken.VALUE_NULL ? null : YAML.readValue(p, SearchSpec.class);
                        try {
                            if (sp != null) search = sp.toSearch();
                        } catch (IllegalArgumentException e) {
                            throw error(source, at, field, e.getMessage());
                        }
                    }
                    case "data" -> {
                        DataSpec sp = p.currentToken() == JsonToken.VALUE_NULL ? null : YAML.readValue(p, DataSpec.class);
                        try {
                            if (sp != null) data = sp.toData();
                        } catch (IllegalArgumentException e) {
                            throw error(source, at, field, e.getMessage());
                        }
                    }
                    case "stages" -> stages = stages(p, source, text);
                    default -> throw error(source, at, field, "unknown field; allowed: " + String.join(", ", TOP));
                }
            }
        } catch (JsonMappingException e) {
            throw translate(e, source, field, text);
        } catch (JsonProcessingException e) {
            throw error(source, e.getLocation() == null ? 0 : e.getLocation().getLineNr(), "", "not valid YAML: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ModelException(source + ": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new ModelException(source + ": " + field + ": " + e.getMessage());
        }
        if (stages == null) throw error(source, 1, "stages", "missing; a recipe lists its stages, e.g. 'stages: [quantize, report]'");
        if (stages.isEmpty()) throw error(source, 1, "stages", "the list is empty; allowed stages: " + String.join(", ", Stages.allNames()));
        return new Recipe(name, seed, search, data, stages, text);
    }

    private static List<Recipe.StageSpec> stages(JsonParser p, String source, String text) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) throw error(source, line(p), "stages", "expected a list of stages");
        List<Recipe.StageSpec> out = new ArrayList<>();
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            String where = "stages[" + out.size() + "]";
            int at = line(p);
            String type;
            Object cfg;
            if (t == JsonToken.VALUE_STRING) {
                type = p.getText();
                cfg = stage(source, at, where, type).defaults();
            } else if (t == JsonToken.START_OBJECT) {
                if (p.nextToken() != JsonToken.FIELD_NAME) throw error(source, at, where, "a stage is a name or a mapping 'name: {settings}'");
                type = p.currentName();
                at = line(p);
                Stage<?> s = stage(source, at, where, type);
                JsonToken v = p.nextToken();
                try {
                    cfg = v == JsonToken.VALUE_NULL ? s.defaults() : YAML.readValue(p, s.configType());
                } catch (JsonMappingException e) {
                    throw translate(e, source, where + "." + type, text);
                }
                if (p.nextToken() != JsonToken.END_OBJECT) {
                    throw error(source, line(p), where, "one stage per list item: put '- " + p.currentName() + "' on its own line");
                }
            } else {
                throw error(source, at, where, "a stage is a name or a mapping 'name: {settings}'; allowed stages: " + String.join(", ", Stages.allNames()));
            }
            out.add(new Recipe.StageSpec(type, cfg, at));
        }
        return out;
    }

    private static Stage<?> stage(String source, int line, String where, String type) {
        Stage<?> s = Stages.get(type);
        if (s != null) return s;
        if (Stages.PLANNED.containsKey(type)) {
            throw error(source, line, where, "stage " + type + " is not available in this build (" + Stages.PLANNED.get(type) + " has not landed yet)");
        }
        throw error(source, line, where, "unknown stage '" + type + "'; allowed stages: " + String.join(", ", Stages.allNames()));
    }

    private static String scalar(JsonParser p, String source, String field) throws IOException {
        if (!p.currentToken().isScalarValue()) throw error(source, line(p), field, "expected a single value");
        return p.getText();
    }

    private static int line(JsonParser p) {
        JsonLocation l = p.currentTokenLocation();
        return l == null ? 0 : l.getLineNr();
    }

    /** One line for a Jackson mapping error: the line, the field path and what is allowed. */
    static ModelException translate(JsonMappingException e, String source, String prefix, String text) {
        int line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
        if (e instanceof UnrecognizedPropertyException u && text != null) {
            // the parser has moved past the unknown key's value: find the key's own line (the last one at or before)
            String[] lines = text.split("\n", -1);
            java.util.regex.Pattern key = java.util.regex.Pattern.compile("(^|[\\s{,-])" + java.util.regex.Pattern.quote(u.getPropertyName()) + "\\s*:");
            for (int i = Math.min(line, lines.length) - 1; i >= 0; i--) {
                if (key.matcher(lines[i]).find()) {
                    line = i + 1;
                    break;
                }
            }
        }
        StringBuilder f = new StringBuilder(prefix);
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) f.append(f.length() == 0 ? "" : ".").append(r.getFieldName());
            else if (r.getIndex() >= 0) f.append('[').append(r.getIndex()).append(']');
        }
        String msg;
        if (e instanceof UnrecognizedPropertyException u) {
            msg = "unknown field; allowed: " + names(u.getKnownPropertyIds());
        } else if (e instanceof InvalidFormatException i && i.getTargetType() != null && i.getTargetType().isEnum()) {
            msg = "'" + i.getValue() + "' is not allowed; allowed values: " + Arrays.stream(i.getTargetType().getEnumConstants())
                    .map(c -> c.toString().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", "));
        } else if (e instanceof ValueInstantiationException v) {
            Throwable c = v.getCause() != null ? v.getCause() : v;
            msg = c.getMessage();
        } else if (e instanceof MismatchedInputException m && m.getTargetType() != null) {
            msg = "expected " + describe(m.getTargetType());
        } else {
            msg = e.getOriginalMessage();
        }
        return error(source, line, f.toString(), msg);
    }

    private static String describe(Class<?> t) {
        if (t == Integer.class || t == int.class || t == Long.class || t == long.class) return "a whole number";
        if (t == Double.class || t == double.class || t == Float.class) return "a number";
        if (t == Boolean.class || t == boolean.class) return "true or false";
        if (t == String.class) return "a text value";
        if (Collection.class.isAssignableFrom(t)) return "a value or a list of values";
        if (t.isEnum()) return "one of " + Arrays.stream(t.getEnumConstants()).map(c -> c.toString().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", "));
        if (t.isRecord()) return "a mapping with the keys " + Arrays.stream(t.getRecordComponents())
                .map(c -> PropertyNamingStrategies.SnakeCaseStrategy.INSTANCE.translate(c.getName())).collect(Collectors.joining(", "));
        return t.getSimpleName();
    }

    private static String names(Collection<Object> ids) {
        return ids == null ? "?" : ids.stream().map(String::valueOf).collect(Collectors.joining(", "));
    }

    static ModelException error(String source, int line, String field, String msg) {
        return new ModelException(source + (line > 0 ? " line " + line : "") + ": " + (field.isEmpty() ? "" : field + ": ") + msg);
    }
}
