package io.condense.quant;

import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Test feeds for BERT-style models: random token ids within the vocabulary, attention mask of ones, type ids 0. */
final class TransformerFeeds {
    private TransformerFeeds() {}

    /** Rows of the word-embedding table (the Gather that reads input_ids). */
    static long vocab(Graph g) {
        for (Node n : g.nodes()) {
            if (n.opType().equals("Gather") && n.input(1).equals("input_ids") && g.initializers().containsKey(n.input(0))) {
                return g.initializers().get(n.input(0)).dim(0);
            }
        }
        throw new IllegalStateException("no word embedding Gather on input_ids");
    }

    /** {@code batches} feeds of [batch, seq] with [CLS] ... [SEP]-like framing (ids 101/102 when the vocabulary has them). */
    static List<Map<String, Tensor>> random(Graph g, int batches, int batch, int seq, long seed) {
        long v = vocab(g);
        Random r = new Random(seed);
        List<Map<String, Tensor>> out = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            long[] ids = new long[batch * seq], mask = new long[batch * seq], types = new long[batch * seq];
            Arrays.fill(mask, 1);
            long lo = v > 2000 ? 1000 : 1;
            for (int i = 0; i < ids.length; i++) ids[i] = lo + r.nextInt((int) (v - lo));
            if (v > 200) for (int s = 0; s < batch; s++) {
                ids[s * seq] = 101;
                ids[s * seq + seq - 1] = 102;
            }
            Map<String, Tensor> m = new LinkedHashMap<>();
            for (var in : g.inputs()) {
                switch (in.name()) {
                    case "input_ids" -> m.put(in.name(), Tensor.of(ids, batch, seq));
                    case "attention_mask" -> m.put(in.name(), Tensor.of(mask, batch, seq));
                    case "token_type_ids" -> m.put(in.name(), Tensor.of(types, batch, seq));
                    default -> throw new IllegalStateException("unexpected input " + in.name());
                }
            }
            out.add(m);
        }
        return out;
    }

    /** Mean over the sequence axis of a [batch, seq, hidden] output (mask of ones) -> [batch][hidden]. */
    static double[][] pooled(Tensor t) {
        long[] s = t.shape();
        if (s.length == 2) {
            double[][] r = new double[(int) s[0]][(int) s[1]];
            for (int b = 0; b < s[0]; b++) for (int h = 0; h < s[1]; h++) r[b][h] = t.getDouble((int) (b * s[1] + h));
            return r;
        }
        int B = (int) s[0], S = (int) s[1], H = (int) s[2];
        double[][] r = new double[B][H];
        float[] f = t.toFloatArray();
        for (int b = 0; b < B; b++) for (int q = 0; q < S; q++) for (int h = 0; h < H; h++) r[b][h] += f[(b * S + q) * H + h] / S;
        return r;
    }

    /** Mean cosine similarity of the pooled first outputs. */
    static double meanCosine(List<Tensor> ref, List<Tensor> got) {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < ref.size(); i++) {
            double[][] a = pooled(ref.get(i)), b = pooled(got.get(i));
            for (int k = 0; k < a.length; k++) {
                double d = 0, na = 0, nb = 0;
                for (int h = 0; h < a[k].length; h++) {
                    d += a[k][h] * b[k][h];
                    na += a[k][h] * a[k][h];
                    nb += b[k][h] * b[k][h];
                }
                sum += d / Math.sqrt(na * nb);
                n++;
            }
        }
        return sum / n;
    }
}
