package io.condense.cli;

import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.data.text.Tokenizer;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The text-data options shared by quantize, int4, qat and eval (a picocli mixin): sentences from {@code --text FILE}
 * (one per line; {@code builtin} = the calibration text shipped with condense), tokenized with {@code --tokenizer}
 * or the tokenizer found with the model (see {@link ModelSource#findTokenizer}), batches padded per batch.
 */
public final class TextDataOptions {
    @Option(names = "--text", paramLabel = "FILE",
            description = "sentences, one per line (blank lines skipped), tokenized into input_ids/attention_mask/token_type_ids; "
                    + "'builtin' = the ~200 sentences shipped with condense")
    String text;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "Hugging Face tokenizer.json (default: the one in the model's jar or beside the .onnx)")
    Path tokenizer;

    @Option(names = "--max-length", paramLabel = "N", defaultValue = "0",
            description = "truncate sentences to N tokens (default: the tokenizer file's truncation, else 512)")
    int maxLength;

    @Option(names = {"--samples", "--n"}, paramLabel = "N", description = "sentences to use (default depends on the command)")
    Integer samples;

    @Option(names = "--offset", paramLabel = "K", defaultValue = "0",
            description = "skip the first K sentences (keeps calibration and evaluation sentences disjoint)")
    int offset;

    @picocli.CommandLine.Spec(picocli.CommandLine.Spec.Target.MIXEE)
    picocli.CommandLine.Model.CommandSpec mixee;

    /** Bad option values are usage errors (exit 2). */
    private RuntimeException usage(String msg) {
        return mixee != null ? new picocli.CommandLine.ParameterException(mixee.commandLine(), msg) : new ModelException(msg);
    }

    /** True when {@code --text} was given. */
    public boolean given() { return text != null; }

    /** The selected sentences: {@code --offset}, then {@code --samples} (or {@code defaultSamples}; <= 0 = all). */
    public List<String> sentences(int defaultSamples) {
        if (text == null) throw new ModelException("no --text given");
        if (maxLength < 0) throw usage("--max-length must be >= 0, got " + maxLength);
        if (samples != null && samples <= 0) throw usage("--samples must be positive, got " + samples);
        if (offset < 0) throw usage("--offset must be >= 0, got " + offset);
        List<String> all = text.equals("builtin") ? TextData.builtinCalibrationText() : TextData.readLines(Path.of(text));
        return TextData.select(all, offset, samples != null ? samples : defaultSamples);
    }

    /** The tokenizer: {@code --tokenizer}, else the one found with the first of {@code models} that has one; close it. */
    public Tokenizer tokenizer(List<Path> models) { return tokenizer(models, maxLength); }

    private Tokenizer tokenizer(List<Path> models, int maxLen) {
        if (tokenizer != null) return HfTokenizer.load(tokenizer, maxLen);
        return HfTokenizer.forModel(models, maxLen);
    }

    /** Text batches for {@code g} (loaded from {@code model}). */
    public List<TextBatch> batches(Graph g, Path model, int batchSize, int defaultSamples) {
        return batches(g, List.of(model), batchSize, defaultSamples);
    }

    /** Text batches for {@code g}; the tokenizer is looked for with each of {@code models} in turn. */
    public List<TextBatch> batches(Graph g, List<Path> models, int batchSize, int defaultSamples) {
        TextData.checkTextInputs(g);
        List<String> s = sentences(defaultSamples);
        int fixed = TextData.fixedSequenceLength(g);
        try (Tokenizer tok = tokenizer(models, maxLength == 0 && fixed > 0 ? fixed : maxLength)) {
            return TextData.batches(g, tok, s, batchSize);
        }
    }

    /** Feeds keyed by {@code g}'s input names, one map per batch. */
    public List<Map<String, Tensor>> feeds(Graph g, Path model, int batchSize, int defaultSamples) {
        return TextData.feeds(g, batches(g, model, batchSize, defaultSamples));
    }

    /** One line saying what was read, for the command's output. */
    public String describe(List<TextBatch> batches) {
        int n = 0, tokens = 0;
        for (TextBatch b : batches) {
            n += b.size();
            for (int i = 0; i < b.size(); i++) tokens += b.tokens(i);
        }
        return String.format(java.util.Locale.ROOT, "text: %d sentences (from #%d of %s) in %d batches, %.1f tokens per sentence",
                n, offset, text, batches.size(), n == 0 ? 0.0 : (double) tokens / n);
    }
}
