package io.condense.cli;

import io.condense.data.text.TextBatch;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.prune.structured.ChannelPruning;
import io.condense.prune.structured.DependencyGraph;
import io.condense.prune.structured.TransformerPruning;
import io.condense.prune.structured.Weights;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The structured methods of {@code condense prune}: channels (dependency groups), heads and ffn (BERT-style). */
final class StructuredMethods {
    private StructuredMethods() {}

    /** Provenance config of structured pruning. */
    record StructuredRun(String method, double ratio, String criterion, int calibrationSentences) {}

    static PruneCommand.Method channels() {
        return new PruneCommand.Method() {
            @Override public String description() { return "remove --sparsity of the channels of every dependency group (Conv/Gemm/MatMul outputs; L1 or --criterion l2); with --budget macs, --sparsity is the fraction of MACs to remove"; }

            @Override public PruneCommand.Outcome run(PruneCommand.Request r) {
                String crit = r.options().criterion == null ? "l1" : r.options().criterion.equals("magnitude") ? "l1" : r.options().criterion;
                double ratio = r.sparsity();
                boolean macs = r.options().budget.equalsIgnoreCase("macs");
                if (macs) {
                    ratio = ChannelPruning.ratioForMacs(r.model(), r.sparsity(), crit);
                    r.out().printf("channel ratio %.4f removes %.0f%% of the MACs%n", ratio, r.sparsity() * 100);
                }
                ChannelPruning.Result res = new ChannelPruning(new ChannelPruning.Config(ratio, crit)).run(r.model());
                ChannelPruning.Report rep = res.report();
                if (rep.prunable() == 0) throw new ModelException("nothing prunable: " + rep.groups() + " channel groups, none can be pruned ("
                        + String.join("; ", rep.unprunable().stream().limit(3).toList()) + ")");
                r.out().printf("channel groups: %d prunable of %d; weights %,d -> %,d%n", rep.prunable(), rep.groups(), rep.paramsBefore(), rep.paramsAfter());
                for (String u : rep.unprunable()) r.out().println("  unprunable " + u);
                for (String w : rep.warnings()) r.out().println("  warning: " + w);
                Map<String, Object> extra = new LinkedHashMap<>();
                Map<String, Object> removed = new LinkedHashMap<>();
                rep.removed().forEach((k, v) -> removed.put("group" + k, v.length));
                extra.put("channels_removed", removed);
                extra.put("params_before", rep.paramsBefore());
                extra.put("params_after", rep.paramsAfter());
                extra.put("macs_before", io.condense.prune.structured.Macs.count(r.model()));
                extra.put("macs_after", io.condense.prune.structured.Macs.count(res.graph()));
                r.out().printf("MACs per sample: %,d -> %,d%n", extra.get("macs_before"), extra.get("macs_after"));
                return new PruneCommand.Outcome(res.graph(), new StructuredRun("channels", ratio, crit, 0), extra);
            }
        };
    }

    static PruneCommand.Method transformer(boolean heads) {
        return new PruneCommand.Method() {
            @Override public String description() {
                return heads ? "remove --sparsity of the attention heads of every layer (BERT-style ONNX; importance from --text calibration)"
                        : "remove --sparsity of the FFN neurons of every layer (BERT-style ONNX; importance from --text calibration)";
            }

            @Override public PruneCommand.Outcome run(PruneCommand.Request r) {
                if (!r.options().textData.given()) throw new ModelException("--method " + (heads ? "heads" : "ffn") + " needs --text FILE (calibration sentences; 'builtin' for the built-in ones)");
                Graph g = DependencyGraph.normalize(r.model());
                List<TextBatch> cal = r.options().textData.batches(g, r.options().model, 16, 64);
                Graph p = heads ? TransformerPruning.pruneHeads(g, r.sparsity(), cal) : TransformerPruning.pruneFfn(g, r.sparsity(), cal);
                int n = cal.stream().mapToInt(TextBatch::size).sum();
                r.out().printf("%s: parameters %,d -> %,d (calibration: %d sentences)%n", heads ? "heads" : "ffn", Weights.count(g), Weights.count(p), n);
                Map<String, Object> extra = new LinkedHashMap<>();
                extra.put("params_before", Weights.count(g));
                extra.put("params_after", Weights.count(p));
                return new PruneCommand.Outcome(p, new StructuredRun(heads ? "heads" : "ffn", r.sparsity(), heads ? "context-norm" : "act-x-w2norm", n), extra);
            }
        };
    }
}
