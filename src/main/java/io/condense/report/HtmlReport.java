package io.condense.report;

import io.condense.recipe.Candidate;
import io.condense.recipe.Stages;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Renders a {@link Report} as one self-contained HTML page: inline CSS, plots as base64 PNG data URIs, no network.
 * A small inline script counts the images that decoded and writes it to {@code body[data-images-loaded]}.
 */
final class HtmlReport {
    private HtmlReport() {}

    static String render(Report r, String title) {
        String t = title != null ? title : "condense: " + r.recipe.name() + " on " + r.inputModel.getFileName();
        StringBuilder h = new StringBuilder(1 << 16);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(t)).append("</title>\n<style>")
                .append("body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;background:#fff}")
                .append("h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}")
                .append("table{border-collapse:collapse;margin:.6em 0;max-width:100%}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:.9em}")
                .append("th{background:#f3f3f3}td.l,th.l{text-align:left}tr.chosen{background:#e5f5e0;font-weight:600}tr.invalid{color:#999}")
                .append(".p-float32{background:#fee0d2}.p-float16{background:#fff7bc}.p-int8{background:#c7e9c0}.p-int4,.p-uint4{background:#a1d99b}")
                .append(".plots img{max-width:100%;border:1px solid #eee;margin:.4em 0}.note{background:#fff3cd;padding:.4em .8em;border-left:4px solid #f0ad4e}")
                .append("pre{background:#f7f7f7;padding:.6em;overflow:auto}.big{font-size:1.1em}")
                .append("</style></head>\n<body>\n<h1>").append(esc(t)).append("</h1>\n");
        h.append("<p class=\"big\">").append(summary(r)).append("</p>\n");
        for (String n : r.notes) h.append("<p class=\"note\">").append(esc(n)).append("</p>\n");

        h.append("<h2>Before / after</h2>\n<table><tr><th class=\"l\"></th><th>input</th><th>output</th><th>change</th></tr>\n");
        row(h, "model", esc(String.valueOf(r.inputModel.getFileName())), r.outputModel == null ? "(none)" : esc(String.valueOf(r.outputModel.getFileName())), "");
        row(h, r.metric, f4(r.input.metric()), f4(r.output.metric()), String.format(Locale.ROOT, "%+.4f", r.output.metric() - r.input.metric()));
        row(h, "size", Report.bytes(r.input.sizeBytes()), Report.bytes(r.output.sizeBytes()),
                String.format(Locale.ROOT, "%.2fx smaller", (double) r.input.sizeBytes() / Math.max(1, r.output.sizeBytes())));
        row(h, "latency, condense CPU (ms)", f2(r.input.latencyMs()), f2(r.output.latencyMs()), speed(r.input.latencyMs(), r.output.latencyMs()));
        for (String k : r.input.extraLatencyMs().keySet()) {
            row(h, "latency, " + esc(k) + " (ms)", f2(r.input.extraLatencyMs().get(k)), f2(r.output.extraLatencyMs().getOrDefault(k, Double.NaN)),
                    speed(r.input.extraLatencyMs().get(k), r.output.extraLatencyMs().getOrDefault(k, Double.NaN)));
        }
        row(h, "weighted layers in float", Long.toString(r.layersBefore.stream().filter(l -> l.precision().startsWith("float")).count()),
                Long.toString(r.layersAfter.stream().filter(l -> l.precision().startsWith("float")).count()), "");
        h.append("</table>\n<p>Accuracy floor ").append(f4(r.floor)).append("; time budget ")
                .append(r.recipe.search().budgetSeconds() > 0 ? String.format(Locale.ROOT, "%.0f s", r.recipe.search().budgetSeconds()) : "none")
                .append(r.budgetExhausted ? " (spent: the search stopped early and kept the best valid model so far)" : "")
                .append("; run took ").append(String.format(Locale.ROOT, "%.1f s", r.seconds)).append(". Latencies are medians on the machine that ran this, load average ")
                .append(String.format(Locale.ROOT, "%.1f", java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage())).append(".</p>\n");

        h.append("<h2>Trade-offs</h2>\n<div class=\"plots\">\n");
        img(h, "accuracy vs size", Charts.tradeoff(r.metric + " vs size", "size (KB)", r.metric, r.candidates, c -> c.sizeBytes() / 1024.0, r.floor, r.input, r.output));
        img(h, "accuracy vs latency", Charts.tradeoff(r.metric + " vs latency", "latency (ms, condense CPU)", r.metric, r.candidates, Candidate::latencyMs,
                r.floor, r.input, r.output));
        h.append("</div>\n");

        h.append("<h2>Candidates</h2>\n<p>Every model the search built, in order; the stage kept the highlighted one. ")
                .append("&#9670; = on the Pareto front of ").append(esc(r.metric)).append(" vs size.</p>\n<table><tr><th>#</th><th class=\"l\">stage</th><th class=\"l\">settings</th><th>")
                .append(esc(r.metric)).append("</th><th>meets floor</th><th>size</th><th>latency (ms)</th><th>build (s)</th></tr>\n");
        Set<Integer> front = new HashSet<>(Charts.pareto(r.candidates, c -> c.sizeBytes()));
        for (int i = 0; i < r.candidates.size(); i++) {
            Candidate c = r.candidates.get(i);
            h.append("<tr class=\"").append(c.chosen() && c.stage() >= 0 ? "chosen" : c.valid() ? "" : "invalid").append("\"><td>").append(i)
                    .append(front.contains(i) ? " &#9670;" : "").append("</td><td class=\"l\">").append(esc(c.stageName()))
                    .append("</td><td class=\"l\">").append(esc(c.label())).append("</td><td>").append(f4(c.metric())).append("</td><td>")
                    .append(c.valid() ? "yes" : "no").append("</td><td>").append(Report.bytes(c.sizeBytes())).append("</td><td>").append(f2(c.latencyMs()))
                    .append("</td><td>").append(String.format(Locale.ROOT, "%.1f", c.seconds())).append("</td></tr>\n");
        }
        h.append("</table>\n");

        Object sens = r.facts.get("sensitivity");
        h.append("<h2>Per-layer sensitivity</h2>\n");
        if (sens instanceof List<?> l && !l.isEmpty()) {
            List<String> names = new ArrayList<>();
            List<Double> drops = new ArrayList<>();
            for (Object o : l.subList(0, Math.min(30, l.size()))) {
                Map<?, ?> m = (Map<?, ?>) o;
                names.add(String.valueOf(m.get("node")));
                drops.add(((Number) m.get("drop")).doubleValue());
            }
            h.append("<p>Each layer quantized alone (everything else float): the drop in ").append(esc(r.metric))
                    .append(" from the float model. The most sensitive layers are the ones kept in float.</p>\n<div class=\"plots\">");
            img(h, "per-layer sensitivity", Charts.bars("Sensitivity (" + l.size() + " layers, largest drops)", r.metric + " drop", names, drops));
            h.append("</div>\n");
        } else {
            h.append("<p>Not computed in this run (the quantize stage computes it when <code>keep_float</code> lists a value above 0 or <code>sensitivity: true</code>).</p>\n");
        }

        h.append("<h2>Precision and sparsity per layer</h2>\n<table><tr><th class=\"l\">layer</th><th class=\"l\">op</th><th>parameters</th>")
                .append("<th>weights before</th><th>weights after</th><th>activations after</th><th>sparsity before</th><th>sparsity after</th></tr>\n");
        Map<String, LayerTable.Layer> after = new HashMap<>();
        Set<String> matched = new HashSet<>();
        for (LayerTable.Layer a : r.layersAfter) after.put(a.node(), a);
        for (LayerTable.Layer b : r.layersBefore) {
            // a rewrite may rename the node (e.g. MatMul -> MatMulInteger): match it by its weight's name then
            if (after.containsKey(b.node())) continue;
            for (LayerTable.Layer a : r.layersAfter) {
                if (!matched.contains(a.node()) && !before(r, a.node()) && a.weight().startsWith(b.weight())) {
                    after.put(b.node(), a);
                    matched.add(a.node());
                    break;
                }
            }
        }
        List<LayerTable.Layer> rows = new ArrayList<>(r.layersBefore);
        Set<String> seen = new HashSet<>();
        for (LayerTable.Layer b : r.layersBefore) seen.add(b.node());
        for (LayerTable.Layer a : r.layersAfter) {
            if (matched.contains(a.node())) continue;
            // layers whose weight the compression made visible (e.g. folded from a Reshape) appear after the others
            if (seen.add(a.node())) rows.add(new LayerTable.Layer(a.node(), a.op(), a.weight(), a.parameters(), "float32 (computed)", "float", Double.NaN));
        }
        for (LayerTable.Layer b : rows) {
            LayerTable.Layer a = after.get(b.node());
            h.append("<tr><td class=\"l\">").append(esc(b.node())).append("</td><td class=\"l\">").append(esc(b.op())).append("</td><td>").append(b.parameters())
                    .append("</td>").append(prec(b.precision())).append(a == null ? "<td>-</td><td>-</td>" : prec(a.precision()) + "<td>" + a.activations() + "</td>")
                    .append("<td>").append(pct(b.sparsity())).append("</td><td>").append(a == null ? "-" : pct(a.sparsity())).append("</td></tr>\n");
        }
        h.append("</table>\n");

        h.append("<h2>Recipe</h2>\n<pre>").append(esc(r.recipe.source().isBlank() ? "(built in code)" : r.recipe.source())).append("</pre>\n");
        h.append("<p>Data: ").append(esc(r.data)).append(".</p>\n");
        h.append("<p>Stages not available in this build: ").append(esc(String.join(", ", Stages.PLANNED.keySet().stream().sorted().toList()))).append(".</p>\n");
        h.append("<p>Provenance (input model SHA-256, recipe, condense version, seed and each stage's settings) is in the output model's ")
                .append("<code>metadata_props</code> (<code>condense.history</code>) and in report.json.</p>\n");
        h.append("<script>window.addEventListener('load',function(){var im=document.images,n=0;for(var i=0;i<im.length;i++)")
                .append("if(im[i].complete&&im[i].naturalWidth>0)n++;document.body.setAttribute('data-images-loaded',n+'/'+im.length);});</script>\n");
        h.append("</body></html>\n");
        return h.toString();
    }

    private static boolean before(Report r, String node) {
        for (LayerTable.Layer b : r.layersBefore) if (b.node().equals(node)) return true;
        return false;
    }

    private static String summary(Report r) {
        if (r.outputModel == null) return "No candidate met the floor of " + f4(r.floor) + "; the input model is unchanged.";
        return String.format(Locale.ROOT, "%s %.2fx smaller (%s &rarr; %s), %s %s &rarr; %s (floor %s), %d candidates evaluated.",
                esc(String.valueOf(r.outputModel.getFileName())), (double) r.input.sizeBytes() / Math.max(1, r.output.sizeBytes()), Report.bytes(r.input.sizeBytes()),
                Report.bytes(r.output.sizeBytes()), esc(r.metric), f4(r.input.metric()), f4(r.output.metric()), f4(r.floor), r.candidates.size() - 1);
    }

    private static void row(StringBuilder h, String k, String a, String b, String c) {
        h.append("<tr><th class=\"l\">").append(k).append("</th><td>").append(a).append("</td><td>").append(b).append("</td><td>").append(c).append("</td></tr>\n");
    }

    private static void img(StringBuilder h, String alt, String b64) {
        h.append("<img alt=\"").append(esc(alt)).append("\" src=\"data:image/png;base64,").append(b64).append("\">\n");
    }

    private static String prec(String p) { return "<td class=\"p-" + esc(p.split(" ")[0]) + "\">" + esc(p) + "</td>"; }

    private static String speed(double a, double b) {
        if (Double.isNaN(a) || Double.isNaN(b) || a <= 0 || b <= 0) return "";
        return a >= b ? String.format(Locale.ROOT, "%.2fx faster", a / b) : String.format(Locale.ROOT, "%.2fx slower", b / a);
    }

    private static String f4(double v) { return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.4f", v); }

    private static String f2(double v) { return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f", v); }

    private static String pct(double v) { return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * v); }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
