package io.condense.recipe.stages;

import io.condense.ir.Graph;
import io.condense.recipe.Stage;
import io.condense.recipe.StageContext;

/** {@code report}: writes report.html (plots embedded) beside report.json at the end of the run. */
public final class ReportStage implements Stage<ReportStage.Config> {
    /** @param title the report's title (default: the recipe name and model file) */
    public record Config(String title) {}

    @Override public String name() { return "report"; }

    @Override public Class<Config> configType() { return Config.class; }

    @Override public Config defaults() { return new Config(null); }

    @Override public boolean transforms() { return false; }

    @Override
    public Graph apply(StageContext ctx, Graph input, Config c) {
        ctx.fact("report.html", true);
        if (c.title() != null) ctx.fact("report.title", c.title());
        return input;
    }
}
