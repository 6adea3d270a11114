package io.condense.recipe.stages;

import io.condense.ir.Graph;
import io.condense.passes.FloatConversion;
import io.condense.recipe.Stage;
import io.condense.recipe.StageContext;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code fp16}: float32 -> float16 or bfloat16 ({@link FloatConversion}). After a quantize stage it converts what the
 * INT8 model left in float32 (TensorRT 11 takes each layer's precision from the ONNX file).
 */
public final class Fp16Stage implements Stage<Fp16Stage.Config> {
    /**
     * @param target        fp16 and/or bf16 (each a candidate, fp16 first: the same size, more precise)
     * @param keepOps       op types kept in float32 besides {@link FloatConversion#DEFAULT_KEEP_OPS} (e.g. QuantizeLinear for
     *                      ONNX Runtime's CPU provider, whose float16 QuantizeLinear truncates)
     * @param keepNodes     node names kept in float32
     * @param keepIo        float32 graph inputs/outputs keep their type (default true)
     * @param keepLayernorm decomposed LayerNorm chains stay float32 (default true)
     */
    public record Config(List<FloatConversion.Target> target, List<String> keepOps, List<String> keepNodes, Boolean keepIo, Boolean keepLayernorm) {
        public Config {
            target = target == null || target.isEmpty() ? List.of(FloatConversion.Target.FP16) : target.stream().distinct().sorted().toList();
            keepOps = keepOps == null ? null : List.copyOf(keepOps);
            keepNodes = keepNodes == null ? List.of() : List.copyOf(keepNodes);
            for (String s : keepOps == null ? keepNodes : concat(keepOps, keepNodes)) {
                if (s == null || s.isBlank()) throw new IllegalArgumentException("keep_ops and keep_nodes entries must not be empty");
            }
            keepIo = keepIo == null || keepIo;
            keepLayernorm = keepLayernorm == null || keepLayernorm;
        }

        private static List<String> concat(List<String> a, List<String> b) {
            List<String> l = new ArrayList<>(a);
            l.addAll(b);
            return l;
        }

        FloatConversion.Config pass() {
            Set<String> ops = new java.util.LinkedHashSet<>(FloatConversion.DEFAULT_KEEP_OPS);
            if (keepOps != null) ops.addAll(keepOps);
            return FloatConversion.Config.of(target.get(0)).withKeepOps(ops)
                    .withKeepNodes(Set.copyOf(keepNodes)).withKeepIo(keepIo).withKeepLayerNorm(keepLayernorm);
        }
    }

    @Override public String name() { return "fp16"; }

    @Override public Class<Config> configType() { return Config.class; }

    @Override public Config defaults() { return new Config(null, null, null, null, null); }

    @Override
    public List<Config> candidates(Config c) {
        List<Config> out = new ArrayList<>();
        for (FloatConversion.Target t : c.target()) out.add(new Config(List.of(t), c.keepOps(), c.keepNodes(), c.keepIo(), c.keepLayernorm()));
        return out;
    }

    @Override public String label(Config c) { return c.target().get(0).cliName(); }

    @Override public String method(Config c) { return "convert/" + c.target().get(0).cliName(); }

    @Override
    public Graph apply(StageContext ctx, Graph input, Config c) {
        FloatConversion p = new FloatConversion(c.pass());
        Graph out = p.apply(input);
        ctx.log().println("  " + p.summary().format());
        return out;
    }
}
