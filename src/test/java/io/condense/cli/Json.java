package io.condense.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.condense.ir.ModelException;

/**
 * Reads JSON (tokenizer files) with Jackson: objects become {@code LinkedHashMap}, arrays {@code ArrayList}, integers
 * {@code Long}, other numbers {@code Double}, plus {@code String}, {@code Boolean} and null.
 */
final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.USE_LONG_FOR_INTS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Json() {}

    static Object parse(String text) {
        try {
            return MAPPER.readValue(text, Object.class);
        } catch (JsonProcessingException e) {
            var l = e.getLocation();
            throw new ModelException("bad JSON" + (l == null ? "" : " at line " + l.getLineNr() + ", column " + l.getColumnNr()) + ": "
                    + e.getOriginalMessage().lines().findFirst().orElse(""));
        }
    }
}
