package io.condense.recipe.stages;

import io.condense.data.text.TextBatch;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.prune.structured.ChannelPruning;
import io.condense.prune.structured.DependencyGraph;
import io.condense.prune.structured.Macs;
import io.condense.prune.structured.TransformerPruning;
import io.condense.prune.structured.Weights;
import io.condense.recipe.Stage;
import io.condense.recipe.StageContext;
import io.condense.recipe.TaskData;
import io.condense.recipe.TextTaskData;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code prune-structured}: structured pruning that really shrinks the model ({@link io.condense.prune.structured}):
 * output channels of Conv/Gemm/MatMul dependency groups ({@code channels}), or the attention heads / FFN neurons of a
 * BERT-style encoder ({@code heads}, {@code ffn}, ranked on the recipe's calibration text). The search tries the
 * sparsity levels from the highest down. Each candidate's parameters and MACs before/after go to the report's facts
 * ({@code structured}, one entry per candidate). Pruned models usually need recovery: follow with {@code distill} (or {@code fine-tune}) and
 * set {@code stage_floor} to the lowest metric a candidate may have before that recovery.
 */
public final class PruneStructuredStage implements Stage<PruneStructuredStage.Config> {
    static final List<String> METHODS = List.of("auto", "channels", "heads", "ffn");

    /**
     * @param method             auto (heads for text data, channels otherwise) | channels | heads | ffn
     * @param sparsity           fractions to remove, each a candidate (highest first): of each group's channels, of
     *                           each layer's heads or FFN neurons; with {@code budget: macs}, of the MACs
     * @param criterion          channels: l1 | l2 weight norm of each channel's group
     * @param budget             channels: channels (sparsity = channel fraction) | macs (sparsity = MAC fraction)
     * @param stageFloor         keep a candidate whose metric is at least this although it is below the recipe's floor
     *                           (a later distill/fine-tune stage recovers it); default: the recipe's floor
     * @param calibrationBatches heads/ffn: calibration text batches for the importance scores (default: the recipe's)
     */
    public record Config(String method, List<Double> sparsity, String criterion, String budget, Double stageFloor, Integer calibrationBatches) {
        public Config {
            method = method == null ? "auto" : method.toLowerCase(Locale.ROOT);
            if (!METHODS.contains(method)) throw new IllegalArgumentException("method: '" + method + "' is not allowed; allowed values: " + String.join(", ", METHODS));
            sparsity = sparsity == null || sparsity.isEmpty() ? List.of(0.5) : sparsity.stream().sorted((a, b) -> Double.compare(b, a)).distinct().toList();
            for (double s : sparsity) if (!(s > 0 && s < 1)) throw new IllegalArgumentException("sparsity values must be in (0, 1), got " + s);
            criterion = criterion == null ? "l1" : criterion.toLowerCase(Locale.ROOT);
            if (!criterion.equals("l1") && !criterion.equals("l2")) throw new IllegalArgumentException("criterion: '" + criterion + "' is not allowed; allowed values: l1, l2");
            budget = budget == null ? "channels" : budget.toLowerCase(Locale.ROOT);
            if (!budget.equals("channels") && !budget.equals("macs")) throw new IllegalArgumentException("budget: '" + budget + "' is not allowed; allowed values: channels, macs");
            if (budget.equals("macs") && (method.equals("heads") || method.equals("ffn"))) throw new IllegalArgumentException("budget: macs is for method channels");
            if (stageFloor != null && !Double.isFinite(stageFloor)) throw new IllegalArgumentException("stage_floor must be a number");
            if (calibrationBatches != null && calibrationBatches < 1) throw new IllegalArgumentException("calibration_batches must be >= 1, got " + calibrationBatches);
        }

        Config with(double s) { return new Config(method, List.of(s), criterion, budget, stageFloor, calibrationBatches); }
    }

    @Override public String name() { return "prune-structured"; }

    @Override public Class<Config> configType() { return Config.class; }

    @Override public Config defaults() { return new Config(null, null, null, null, null, null); }

    @Override
    public List<Config> candidates(Config c) {
        List<Config> out = new ArrayList<>();
        for (double s : c.sparsity()) out.add(c.with(s));
        return out;
    }

    @Override
    public String requirement(Config c, TaskData data) {
        if ((c.method().equals("heads") || c.method().equals("ffn")) && !(data instanceof TextTaskData)) {
            return "method " + c.method() + " ranks attention heads / FFN neurons on calibration text: it needs --text FILE; " + data.describe() + " is not text";
        }
        return null;
    }

    @Override public Double stageFloor(Config c) { return c.stageFloor(); }

    @Override
    public String label(Config c) {
        return c.method() + " sparsity=" + c.sparsity().get(0) + (c.budget().equals("macs") ? " of MACs" : "");
    }

    @Override public String method(Config c) { return "prune/structured-" + c.method(); }

    static String resolve(Config c, TaskData data) {
        if (!c.method().equals("auto")) return c.method();
        return data instanceof TextTaskData ? "heads" : "channels";
    }

    @Override
    public Graph apply(StageContext ctx, Graph input, Config c) {
        String m = resolve(c, ctx.data());
        double s = c.sparsity().get(0);
        Graph out;
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("method", m);
        f.put("sparsity", s);
        if (m.equals("channels")) {
            double ratio = c.budget().equals("macs") ? ChannelPruning.ratioForMacs(input, s, c.criterion()) : s;
            ChannelPruning.Result res = new ChannelPruning(new ChannelPruning.Config(ratio, c.criterion())).run(input);
            ChannelPruning.Report rep = res.report();
            if (rep.prunable() == 0) {
                throw new ModelException("nothing prunable: " + rep.groups() + " channel groups, none can be pruned ("
                        + String.join("; ", rep.unprunable().stream().limit(3).toList()) + ")");
            }
            out = res.graph();
            f.put("channel_ratio", ratio);
            f.put("groups_pruned", rep.prunable());
            f.put("groups", rep.groups());
        } else {
            Graph g = DependencyGraph.normalize(input);
            int bs = ctx.recipe().data().batchSize();
            int nb = c.calibrationBatches() != null ? c.calibrationBatches() : ctx.recipe().data().calibrationBatches();
            List<TextBatch> cal = ctx.data().textBatches(g, bs, nb);
            if (cal == null || cal.isEmpty()) throw new ModelException("method " + m + " needs calibration text");
            out = m.equals("heads") ? TransformerPruning.pruneHeads(g, s, cal) : TransformerPruning.pruneFfn(g, s, cal);
        }
        long pb = Weights.count(input), pa = Weights.count(out);
        f.put("params_before", pb);
        f.put("params_after", pa);
        Long mb = macs(input), ma = macs(out);
        if (mb != null && ma != null) {
            f.put("macs_before", mb);
            f.put("macs_after", ma);
        }
        ctx.log().printf(Locale.ROOT, "  %s %.2f: parameters %,d -> %,d%s%n", m, s, pb, pa,
                mb != null && ma != null ? String.format(Locale.ROOT, ", MACs per sample %,d -> %,d", mb, ma) : "");
        // one entry per evaluated candidate (by its label), so the report shows each setting's size, not only the last
        Map<String, Object> all = new LinkedHashMap<>();
        if (ctx.facts().get("structured") instanceof Map<?, ?> prev) prev.forEach((k, v) -> all.put(String.valueOf(k), v));
        all.put(label(c), f);
        ctx.fact("structured", all);
        return out;
    }

    /** MACs per sample, or null when the graph's shapes do not allow counting them (e.g. a dynamic sequence length). */
    private static Long macs(Graph g) {
        try {
            return Macs.count(g);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
