package io.condense.tools;

import io.condense.data.text.HfTokenizer;
import io.condense.data.text.TextBatch;
import io.condense.data.text.TextData;
import io.condense.data.text.Tokenizer;
import io.condense.eval.Fidelity;
import io.condense.ir.Graph;
import io.condense.onnx.ModelSource;
import io.condense.quant.qat.Qat;
import io.condense.train.EmbeddingTrainer;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import io.condense.train.Threads;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Text QAT of a sentence-embedding model, calibrated once: fidelity of the exported QDQ model to the float model on
 * held-out sentences before QAT (0 steps: the PTQ baseline of the same placement) and after N steps, with the loss.
 *
 * <pre>QatTextMeasure MODEL(.onnx|.jar) TEXT [train=128 eval=100 steps=30 lr=1e-5 batch=8 maxlen=48 calib=2 loss=mse]</pre>
 */
public final class QatTextMeasure {
    public static void main(String[] a) {
        Threads.auto();
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 2; i < a.length; i++) o.put(a[i].substring(0, a[i].indexOf('=')), a[i].substring(a[i].indexOf('=') + 1));
        int train = Integer.parseInt(o.getOrDefault("train", "128")), eval = Integer.parseInt(o.getOrDefault("eval", "100"));
        int steps = Integer.parseInt(o.getOrDefault("steps", "30")), batch = Integer.parseInt(o.getOrDefault("batch", "8"));
        int maxLen = Integer.parseInt(o.getOrDefault("maxlen", "48")), calib = Integer.parseInt(o.getOrDefault("calib", "2"));
        double lr = Double.parseDouble(o.getOrDefault("lr", "1e-5"));
        EmbeddingTrainer.LossKind loss = EmbeddingTrainer.LossKind.valueOf(o.getOrDefault("loss", "mse").toUpperCase(Locale.ROOT));
        long t0 = System.nanoTime();
        ModelSource.Loaded src = ModelSource.load(Path.of(a[0]));
        Graph g = src.graph();
        List<String> lines = TextData.readLines(Path.of(a[1]));
        List<TextBatch> trainB, evalB;
        try (Tokenizer tok = HfTokenizer.fromJson(src.tokenizerJson(), src.tokenizerOrigin(), maxLen)) {
            trainB = TextData.batches(g, tok, TextData.select(lines, 0, train), batch);
            evalB = TextData.batches(g, tok, TextData.select(lines, train, eval), batch);
        }
        Qat.Config d = Qat.Config.defaults();
        Qat qat = new Qat(new Qat.Config(8, Qat.Mode.LSQ, 0, batch, lr, d.scaleLr(), calib, 0, d.quant()), System.out);
        Graph training = qat.trainingGraph(g, TextData.feeds(g, trainB.subList(0, Math.min(calib, trainB.size()))));
        Tape tape = qat.tape(training);
        List<INDArray> targets = EmbeddingTrainer.teacherEmbeddings(g, trainB);
        double lossBefore = EmbeddingTrainer.evaluate(tape, trainB, targets, loss);
        Fidelity.EmbeddingReport before = Fidelity.compareText(qat.export(tape.toGraph()), g, evalB).embeddings();
        System.out.printf(Locale.ROOT, "before QAT: train loss %.6g; QDQ fidelity on %d held-out sentences: %s%n", lossBefore, before.sentences(), before.format());
        // the same optimizer set-up as Qat.runText (scales at a relative step)
        Optimizer opt = qat.optimizer(training);
        EmbeddingTrainer.History h = EmbeddingTrainer.fit(tape, opt, trainB, targets, new EmbeddingTrainer.Config(steps, loss, 30), System.out);
        double lossAfter = EmbeddingTrainer.evaluate(tape, trainB, targets, loss);
        Fidelity.EmbeddingReport after = Fidelity.compareText(qat.export(tape.toGraph()), g, evalB).embeddings();
        System.out.printf(Locale.ROOT, "after %d steps: train loss %.6g (first/last steps %.6g / %.6g); QDQ fidelity: %s%n", steps, lossAfter,
                h.first(Math.max(1, steps / 5)), h.last(Math.max(1, steps / 5)), after.format());
        System.out.printf(Locale.ROOT, "wall %.0f s%n", (System.nanoTime() - t0) / 1e9);
    }
}
