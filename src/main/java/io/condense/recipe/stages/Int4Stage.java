package io.condense.recipe.stages;

import io.condense.ir.Graph;
import io.condense.quant.int4.Int4WeightOnly;
import io.condense.recipe.Stage;
import io.condense.recipe.StageContext;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code int4}: weight-only 4-bit group quantization of Gemm/MatMul weights ({@link Int4WeightOnly}, RTN or GPTQ). */
public final class Int4Stage implements Stage<Int4Stage.Config> {
    /**
     * @param method             rtn and/or gptq (each a candidate)
     * @param group              group sizes along K (each a candidate; larger = smaller model)
     * @param symmetric          INT4 with zero point 0 (true) or UINT4 with zero points (false, the default)
     * @param calibrationSamples rows of layer inputs GPTQ reads at most (0 = all)
     */
    public record Config(List<Int4WeightOnly.Method> method, List<Integer> group, Boolean symmetric, Integer calibrationSamples) {
        public Config {
            method = method == null || method.isEmpty() ? List.of(Int4WeightOnly.Method.RTN) : List.copyOf(method);
            group = group == null || group.isEmpty() ? List.of(128) : List.copyOf(group);
            for (int g : group) if (g < 2) throw new IllegalArgumentException("group sizes must be >= 2, got " + g);
            symmetric = symmetric != null && symmetric;
            calibrationSamples = calibrationSamples == null ? 512 : calibrationSamples;
            if (calibrationSamples < 0) throw new IllegalArgumentException("calibration_samples must be >= 0");
        }
    }

    @Override public String name() { return "int4"; }

    @Override public Class<Config> configType() { return Config.class; }

    @Override public Config defaults() { return new Config(null, null, null, null); }

    @Override
    public List<Config> candidates(Config c) {
        List<Config> out = new ArrayList<>();
        List<Integer> groups = c.group().stream().sorted((a, b) -> b - a).toList(); // coarsest groups first: smallest model
        for (int g : groups) for (Int4WeightOnly.Method m : c.method()) out.add(new Config(List.of(m), List.of(g), c.symmetric(), c.calibrationSamples()));
        return out;
    }

    @Override
    public String method(Config c) { return "int4/" + c.method().get(0).name().toLowerCase(Locale.ROOT) + "-g" + c.group().get(0); }

    @Override
    public Graph apply(StageContext ctx, Graph input, Config c) {
        Int4WeightOnly.Config cfg = Int4WeightOnly.Config.of(c.group().get(0), c.method().get(0)).withSymmetric(c.symmetric())
                .withCalibrationSamples(c.calibrationSamples());
        var data = c.method().get(0) == Int4WeightOnly.Method.GPTQ ? ctx.calibration(input) : null;
        return new Int4WeightOnly(cfg, data, null).apply(input);
    }
}
