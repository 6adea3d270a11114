package io.condense.data.text;

import java.util.ArrayList;
import java.util.List;

/**
 * Text to token ids for transformer models. Each sentence becomes one {@link Encoding} with the special tokens the
 * tokenizer's template adds (e.g. {@code [CLS] ... [SEP]}), truncated to {@link #maxLength()}; padding is done per
 * batch by {@link TextData}. Implementations may hold native memory: close them.
 */
public interface Tokenizer extends AutoCloseable {
    /** One encoded sentence: ids, attention mask (1 for every real token) and token type ids (segment ids). */
    record Encoding(long[] ids, long[] attentionMask, long[] typeIds) {
        public Encoding {
            if (ids.length != attentionMask.length || ids.length != typeIds.length) {
                throw new IllegalArgumentException("ids, mask and type ids differ in length");
            }
        }

        public int length() { return ids.length; }
    }

    /** Encodes one sentence (special tokens added, truncated to {@link #maxLength()}). */
    Encoding encode(String text);

    /** Encodes several sentences. */
    default List<Encoding> encode(List<String> texts) {
        List<Encoding> out = new ArrayList<>(texts.size());
        for (String t : texts) out.add(encode(t));
        return out;
    }

    /** The tokens (strings) of a sentence, special tokens included, for inspection. */
    List<String> tokens(String text);

    /** Longest encoding in tokens, special tokens included. */
    int maxLength();

    /** Id used to pad short sentences of a batch. */
    long padId();

    /** The model type the tokenizer file names (WordPiece, BPE, Unigram, WordLevel) and its vocabulary size. */
    String description();

    @Override
    void close();
}
