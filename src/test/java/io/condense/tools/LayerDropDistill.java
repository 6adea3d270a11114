package io.condense.tools;

import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.data.text.Tokenizer;
import io.condense.distill.LayerDrop;
import io.condense.eval.Fidelity;
import io.condense.ir.Graph;
import io.condense.onnx.ModelSource;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.Provenance;
import io.condense.train.EmbeddingTrainer;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import io.condense.train.Threads;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * MiniLM-L6 (or any post-LN BERT) -> layer-dropped student, distilled on text with the pooled-embedding loss.
 * Prints parameters and fidelity (mean cosine, Spearman of pairwise similarities) on held-out sentences before and
 * after distillation.
 *
 * <pre>LayerDropDistill MODEL(.onnx|.jar) TEXT [key=value ...]
 *   keep=1,3,5 train=512 eval=300 steps=100 lr=5e-5 batch=16 maxlen=64 loss=cosine|mse embeddings=frozen|train out=FILE</pre>
 */
public final class LayerDropDistill {
    public static void main(String[] a) throws Exception {
        Threads.auto();
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 2; i < a.length; i++) o.put(a[i].substring(0, a[i].indexOf('=')), a[i].substring(a[i].indexOf('=') + 1));
        List<Integer> keep = new ArrayList<>();
        for (String k : o.getOrDefault("keep", "1,3,5").split(",")) if (!k.isBlank()) keep.add(Integer.parseInt(k.trim()));
        int train = Integer.parseInt(o.getOrDefault("train", "512")), eval = Integer.parseInt(o.getOrDefault("eval", "300"));
        int steps = Integer.parseInt(o.getOrDefault("steps", "100")), batch = Integer.parseInt(o.getOrDefault("batch", "16"));
        int maxLen = Integer.parseInt(o.getOrDefault("maxlen", "64"));
        double lr = Double.parseDouble(o.getOrDefault("lr", "5e-5"));
        EmbeddingTrainer.LossKind loss = EmbeddingTrainer.LossKind.valueOf(o.getOrDefault("loss", "cosine").toUpperCase(Locale.ROOT));
        boolean trainEmb = o.getOrDefault("embeddings", "frozen").equals("train");

        ModelSource.Loaded src = ModelSource.load(Path.of(a[0]));
        Graph teacher = src.graph();
        List<String> lines = TextData.readLines(Path.of(a[1]));
        List<TextBatch> trainB, evalB;
        try (Tokenizer tok = HfTokenizer.fromJson(src.tokenizerJson(), src.tokenizerOrigin(), maxLen)) {
            trainB = TextData.batches(teacher, tok, TextData.select(lines, 0, train), batch);
            evalB = TextData.batches(teacher, tok, TextData.select(lines, train, eval), batch);
        }
        long t0 = System.nanoTime();
        Graph student = new LayerDrop(new LayerDrop.Config(keep)).apply(teacher);
        System.out.printf(Locale.ROOT, "teacher: %d layers, %d parameters; student (keep %s): %d parameters (%.1f%%)%n",
                LayerDrop.layers(teacher, null).size(), teacher.parameterCount(), keep, student.parameterCount(),
                100.0 * student.parameterCount() / teacher.parameterCount());
        Fidelity.EmbeddingReport before = Fidelity.compareText(student, teacher, evalB).embeddings();
        System.out.println("before distillation (held-out " + before.sentences() + " sentences): " + before.format());

        List<INDArray> targets = EmbeddingTrainer.teacherEmbeddings(teacher, trainB);
        Tape tape = new Tape(student, n -> trainEmb || !n.startsWith("embeddings."), DataType.FLOAT, 0);
        EmbeddingTrainer.History h = EmbeddingTrainer.fit(tape, Optimizer.adamW(lr).weightDecay(0.0), trainB, targets,
                new EmbeddingTrainer.Config(steps, loss, 30), System.out);
        int k = Math.max(1, Math.min(10, steps / 4));
        System.out.printf(Locale.ROOT, "loss (%s): first %d steps %.5f, last %d steps %.5f%n", loss, k, h.first(k), k, h.last(k));
        Graph distilled = tape.toGraph();
        Fidelity.EmbeddingReport after = Fidelity.compareText(distilled, teacher, evalB).embeddings();
        System.out.println("after " + steps + " steps (batch " + batch + ", lr " + lr + "): " + after.format());
        System.out.printf(Locale.ROOT, "wall %.0f s%n", (System.nanoTime() - t0) / 1e9);
        if (o.containsKey("out")) {
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("keep", keep.toString());
            extra.put("steps", steps);
            OnnxExporter.save(Provenance.stamp(distilled, new Provenance.Stage("layer-drop-distill", Provenance.sha256(Path.of(a[0])),
                    o, 0L, extra)), Path.of(o.get("out")));
            System.out.println("saved " + o.get("out"));
        }
    }
}
