package io.condense.data.text;

import io.condense.ir.DType;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One batch of tokenized sentences, padded to a common length (the longest sentence of the batch unless the model
 * fixes the sequence length): {@code ids[b][t]}, {@code mask[b][t]} (1 = real token, 0 = padding) and
 * {@code typeIds[b][t]}.
 */
public record TextBatch(List<String> sentences, long[][] ids, long[][] mask, long[][] typeIds) {
    /** What a model input takes from a text batch. */
    public enum Role { INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS, POSITION_IDS }

    public int size() { return ids.length; }

    public int length() { return ids.length == 0 ? 0 : ids[0].length; }

    /** Number of real (unpadded) tokens of sentence {@code b}. */
    public int tokens(int b) {
        int n = 0;
        for (long m : mask[b]) n += m != 0 ? 1 : 0;
        return n;
    }

    /**
     * The role of a model input, by name: {@code *mask*} -> attention mask, {@code *type*} / {@code *segment*} ->
     * token type ids, {@code *position*} -> position ids (0, 1, 2, ... per sentence), {@code *ids*} /
     * {@code *input*} / {@code *token*} -> input ids.
     */
    public static Role role(ValueInfo in) {
        String n = in.name().toLowerCase(Locale.ROOT);
        if (n.contains("mask")) return Role.ATTENTION_MASK;
        if (n.contains("type") || n.contains("segment")) return Role.TOKEN_TYPE_IDS;
        if (n.contains("position")) return Role.POSITION_IDS;
        if (n.contains("ids") || n.contains("input") || n.contains("token")) return Role.INPUT_IDS;
        throw new ModelException("model input '" + in.name() + "' is not a text input (expected input_ids, attention_mask or token_type_ids)");
    }

    /** The feeds for the model's inputs, by their names, in the dtype each declares (int64 when undeclared, or int32). */
    public Map<String, Tensor> feeds(List<ValueInfo> inputs) {
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        for (ValueInfo in : inputs) {
            long[][] src = switch (role(in)) {
                case INPUT_IDS -> ids;
                case ATTENTION_MASK -> mask;
                case TOKEN_TYPE_IDS -> typeIds;
                case POSITION_IDS -> positions();
            };
            DType dt = in.type().dtype() == null ? DType.INT64 : in.type().dtype();
            if (role(in) != Role.ATTENTION_MASK && !dt.isInteger()) {
                throw new ModelException("model input '" + in.name() + "' is " + dt + ", not integer token ids: this is not a text model input");
            }
            feeds.put(in.name(), tensor(src, dt, in.name()));
        }
        return feeds;
    }

    private long[][] positions() {
        long[][] p = new long[size()][length()];
        for (long[] row : p) for (int j = 0; j < row.length; j++) row[j] = j;
        return p;
    }

    /** A [batch, length] tensor of {@code dt} (int64, int32, or a float type for models that take float masks). */
    public static Tensor tensor(long[][] v, DType dt, String name) {
        int n = v.length, len = n == 0 ? 0 : v[0].length;
        long[] shape = {n, len};
        if (dt == DType.INT64) {
            long[] d = new long[n * len];
            for (int i = 0; i < n; i++) System.arraycopy(v[i], 0, d, i * len, len);
            return Tensor.of(d, shape);
        }
        if (dt == DType.INT32) {
            int[] d = new int[n * len];
            for (int i = 0; i < n; i++) for (int j = 0; j < len; j++) d[i * len + j] = Math.toIntExact(v[i][j]);
            return Tensor.of(d, shape);
        }
        if (dt.isFloating() || dt.isInteger()) {
            Tensor t = Tensor.zeros(dt, shape);
            for (int i = 0; i < n; i++) for (int j = 0; j < len; j++) t.setDouble(i * len + j, v[i][j]);
            return t;
        }
        throw new ModelException("text input '" + name + "' has dtype " + dt + "; expected int64 or int32");
    }
}
