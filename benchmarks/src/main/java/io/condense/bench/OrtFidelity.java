package io.condense.bench;

import ai.onnxruntime.OrtSession;
import io.condense.OrtTestSupport;
import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.eval.Fidelity;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.onnx.ModelSource;
import io.condense.onnx.OnnxExporter;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Fidelity of MODEL to REF computed on ONNX Runtime outputs (so it runs models condense's CPU backend cannot, e.g.
 * ONNX Runtime's own dynamically quantized MiniLM): io.condense.eval.Fidelity's statistics over sentence embeddings.
 * <pre>OrtFidelity MODEL REF TEXT [offset] [n] [batch] [maxLength]</pre>
 */
public final class OrtFidelity {
    private OrtFidelity() {}

    public static void main(String[] a) throws Exception {
        Path model = Path.of(a[0]), ref = Path.of(a[1]), text = Path.of(a[2]);
        int offset = a.length > 3 ? Integer.parseInt(a[3]) : 1000;
        int n = a.length > 4 ? Integer.parseInt(a[4]) : 500;
        int batch = a.length > 5 ? Integer.parseInt(a[5]) : 32;
        int maxLen = a.length > 6 ? Integer.parseInt(a[6]) : 128;
        ModelSource.Loaded m = ModelSource.load(model), r = ModelSource.load(ref);
        byte[] tokJson = r.hasTokenizer() ? r.tokenizerJson() : m.tokenizerJson();
        List<TextBatch> batches;
        try (HfTokenizer tok = HfTokenizer.fromJson(tokJson, "tokenizer", maxLen)) {
            batches = TextData.batches(r.graph(), tok, TextData.select(TextData.readLines(text), offset, n), batch);
        }
        float[][] em = embed(m.graph(), batches), er = embed(r.graph(), batches);
        System.out.printf("model %s%nreference %s%nsentences %d from #%d of %s, batch %d, max length %d%n", m.description(), r.description(),
                em.length, offset, text, batch, maxLen);
        System.out.println(Fidelity.compareEmbeddings(em, er).format());
    }

    static float[][] embed(Graph g, List<TextBatch> batches) throws Exception {
        List<float[]> out = new ArrayList<>();
        try (OrtSession s = OrtTestSupport.session(OnnxExporter.toBytes(g), 2, OrtSession.SessionOptions.OptLevel.ALL_OPT)) {
            for (TextBatch b : batches) {
                Tensor y = OrtTestSupport.run(s, b.feeds(g.inputs())).get(g.outputs().get(0).name());
                out.addAll(Arrays.asList(Fidelity.pool(y, b.mask())));
            }
        }
        return out.toArray(new float[0][]);
    }
}
