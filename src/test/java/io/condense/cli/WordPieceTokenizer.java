package io.condense.cli;

import io.condense.ir.ModelException;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Test-only reference (the hand-written tokenizer condense used before io.condense.data.text.HfTokenizer): the BERT
 * uncased tokenizer as a Hugging Face {@code tokenizer.json} describes it (BertNormalizer,
 * BertPreTokenizer, WordPiece model, [CLS] ... [SEP] template). Enough for sentence-embedding models such as
 * all-MiniLM-L6-v2; it does not implement other normalizers or pre-tokenizers.
 */
final class WordPieceTokenizer {
    private final Map<String, Integer> vocab;
    private final boolean lowercase;
    private final boolean stripAccents;
    private final String unk;
    private final String prefix;
    private final int maxCharsPerWord;
    private final int maxLength;
    final int clsId;
    final int sepId;
    final int padId;

    private WordPieceTokenizer(Map<String, Integer> vocab, boolean lowercase, boolean stripAccents, String unk,
                               String prefix, int maxCharsPerWord, int maxLength) {
        this.vocab = vocab;
        this.lowercase = lowercase;
        this.stripAccents = stripAccents;
        this.unk = unk;
        this.prefix = prefix;
        this.maxCharsPerWord = maxCharsPerWord;
        this.maxLength = maxLength;
        this.clsId = id("[CLS]");
        this.sepId = id("[SEP]");
        this.padId = id("[PAD]");
        id(unk);
    }

    private int id(String token) {
        Integer v = vocab.get(token);
        if (v == null) throw new ModelException("tokenizer vocabulary lacks " + token);
        return v;
    }

    /** Reads a Hugging Face {@code tokenizer.json} whose model is WordPiece. */
    @SuppressWarnings("unchecked")
    static WordPieceTokenizer fromJson(String json) {
        Object root = Json.parse(json);
        if (!(root instanceof Map<?, ?> m)) throw new ModelException("tokenizer json is not an object");
        Object model = m.get("model");
        if (!(model instanceof Map<?, ?> mm) || !"WordPiece".equals(mm.get("type"))) {
            throw new ModelException("tokenizer json: only WordPiece models are supported");
        }
        Object v = mm.get("vocab");
        if (!(v instanceof Map<?, ?> vm)) throw new ModelException("tokenizer json: model.vocab is not an object");
        Map<String, Integer> vocab = new HashMap<>(vm.size() * 2);
        for (Map.Entry<?, ?> e : vm.entrySet()) {
            if (!(e.getValue() instanceof Long id)) throw new ModelException("tokenizer json: bad vocab id for " + e.getKey());
            vocab.put((String) e.getKey(), Math.toIntExact(id));
        }
        boolean lower = true;
        boolean strip = true;
        Object norm = m.get("normalizer");
        if (norm instanceof Map<?, ?> nm) {
            if (!"BertNormalizer".equals(nm.get("type"))) {
                throw new ModelException("tokenizer json: normalizer " + nm.get("type") + " is not supported");
            }
            lower = !Boolean.FALSE.equals(nm.get("lowercase"));
            Object sa = nm.get("strip_accents");
            strip = sa == null ? lower : Boolean.TRUE.equals(sa);
        }
        int maxLen = 512;
        Object trunc = m.get("truncation");
        if (trunc instanceof Map<?, ?> tm && tm.get("max_length") instanceof Long l) maxLen = Math.toIntExact(l);
        String unk = mm.get("unk_token") instanceof String s ? s : "[UNK]";
        String prefix = mm.get("continuing_subword_prefix") instanceof String s ? s : "##";
        int maxChars = mm.get("max_input_chars_per_word") instanceof Long l ? Math.toIntExact(l) : 100;
        return new WordPieceTokenizer(vocab, lower, strip, unk, prefix, maxChars, maxLen);
    }

    int vocabSize() { return vocab.size(); }

    /** Token ids of one sentence: [CLS] pieces... [SEP], truncated to the tokenizer's max length. */
    int[] encode(String text) {
        List<Integer> ids = new ArrayList<>();
        ids.add(clsId);
        for (String word : preTokenize(normalize(text))) {
            for (String piece : wordPiece(word)) ids.add(vocab.get(piece));
        }
        if (ids.size() > maxLength - 1) ids = new ArrayList<>(ids.subList(0, maxLength - 1));
        ids.add(sepId);
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The pieces of one sentence, without the special tokens (for display). */
    List<String> tokens(String text) {
        List<String> out = new ArrayList<>();
        for (String word : preTokenize(normalize(text))) out.addAll(wordPiece(word));
        return out;
    }

    String normalize(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> {
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) return;
            if (isWhitespace(cp)) {
                sb.append(' ');
            } else if (isChinese(cp)) {
                sb.append(' ').appendCodePoint(cp).append(' ');
            } else {
                sb.appendCodePoint(cp);
            }
        });
        String s = sb.toString();
        if (stripAccents) {
            String nfd = Normalizer.normalize(s, Normalizer.Form.NFD);
            StringBuilder t = new StringBuilder(nfd.length());
            nfd.codePoints().filter(cp -> Character.getType(cp) != Character.NON_SPACING_MARK).forEach(t::appendCodePoint);
            s = t.toString();
        }
        if (lowercase) s = s.toLowerCase(java.util.Locale.ROOT);
        return s;
    }

    /** Splits on whitespace and isolates each punctuation character. */
    static List<String> preTokenize(String s) {
        List<String> words = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        s.codePoints().forEach(cp -> {
            if (isWhitespace(cp)) {
                flush(cur, words);
            } else if (isPunctuation(cp)) {
                flush(cur, words);
                words.add(new String(Character.toChars(cp)));
            } else {
                cur.appendCodePoint(cp);
            }
        });
        flush(cur, words);
        return words;
    }

    private static void flush(StringBuilder cur, List<String> words) {
        if (cur.length() > 0) {
            words.add(cur.toString());
            cur.setLength(0);
        }
    }

    /** Greedy longest-match-first split into vocabulary pieces; the unknown token when it cannot be split. */
    List<String> wordPiece(String word) {
        int[] cps = word.codePoints().toArray();
        if (cps.length > maxCharsPerWord) return List.of(unk);
        List<String> pieces = new ArrayList<>();
        int start = 0;
        while (start < cps.length) {
            int end = cps.length;
            String found = null;
            while (start < end) {
                String sub = new String(cps, start, end - start);
                if (start > 0) sub = prefix + sub;
                if (vocab.containsKey(sub)) {
                    found = sub;
                    break;
                }
                end--;
            }
            if (found == null) return List.of(unk);
            pieces.add(found);
            start = end;
        }
        return pieces;
    }

    private static boolean isWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    private static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        int t = Character.getType(cp);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.PRIVATE_USE
                || t == Character.SURROGATE || t == Character.UNASSIGNED;
    }

    private static boolean isPunctuation(int cp) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
            return true;
        }
        return switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                    Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                    Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    private static boolean isChinese(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
