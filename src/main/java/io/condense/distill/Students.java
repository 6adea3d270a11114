package io.condense.distill;

import io.condense.dataset.ConvNet;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.train.Models;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Built-in student (and teacher) architectures by spec: {@code mlp-H1-H2-...} (fully connected ReLU layers, e.g.
 * Hinton's mlp-1200-1200 teacher and mlp-800-800 student), {@code convnet-D[-wW]} (the ConvNet of the dataset
 * distillation papers, depth D, width W, default 128), or a name of {@link Models} (lenet-300-100, lenet5,
 * resnet-small; 1x28x28 inputs). Inputs are [N, C, H, W] pixels in 0..1; the first output is "logits".
 */
public final class Students {
    private Students() {}

    /**
     * @param dropout hidden-layer dropout of MLPs (0 = none)
     * @param inputDropout input dropout of MLPs (0 = none)
     */
    public static Graph byName(String spec, long[] sampleShape, int classes, double dropout, double inputDropout, long seed) {
        String s = spec.toLowerCase(java.util.Locale.ROOT);
        if (s.startsWith("mlp-")) {
            String[] parts = s.substring(4).split("-");
            int[] hidden = new int[parts.length];
            try {
                for (int i = 0; i < parts.length; i++) hidden[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new ModelException("bad MLP spec '" + spec + "' (e.g. mlp-800-800)");
            }
            return mlp(hidden, sampleShape, classes, dropout, inputDropout, seed);
        }
        if (s.startsWith("convnet-")) {
            String[] parts = s.substring(8).split("-w");
            try {
                int depth = Integer.parseInt(parts[0]);
                int width = parts.length > 1 ? Integer.parseInt(parts[1]) : 128;
                return withoutFeatures(ConvNet.build(new ConvNet.Spec(width, depth, true), sampleShape, classes, seed));
            } catch (NumberFormatException e) {
                throw new ModelException("bad ConvNet spec '" + spec + "' (e.g. convnet-3 or convnet-3-w64)");
            }
        }
        if (Models.NAMES.contains(s) || s.equals("mlp") || s.equals("lenet-5")) {
            if (sampleShape[0] != 1 || sampleShape[1] != 28 || sampleShape[2] != 28 || classes != 10) {
                throw new ModelException(spec + " is built for 1x28x28 images and 10 classes; use mlp-... or convnet-... for this data");
            }
            return Models.byName(s, seed);
        }
        throw new ModelException("unknown student '" + spec + "' (mlp-H1-H2..., convnet-D[-wW], " + String.join(", ", Models.NAMES) + ", or FILE.onnx)");
    }

    /** The ConvNet with only its logits output (the features output is for dataset distillation). */
    static Graph withoutFeatures(Graph g) {
        return g.toBuilder().outputs(List.of(g.outputs().get(0))).build();
    }

    public static Graph mlp(int[] hidden, long[] sampleShape, int classes, double dropout, double inputDropout, long seed) {
        Random r = new Random(seed);
        long in = 1;
        for (long d : sampleShape) in *= d;
        Graph.Builder g = Graph.builder().name("mlp").opset("", 17).producer("condense", "distill");
        List<Dim> dims = new ArrayList<>();
        dims.add(Dim.symbol("N"));
        for (long d : sampleShape) dims.add(Dim.of(d));
        g.addInput(new ValueInfo("input", new TensorType(DType.FLOAT32, dims)));
        List<Node> nodes = new ArrayList<>();
        nodes.add(new Node("flatten", "Flatten", "", List.of("input"), List.of("flat"), Map.of("axis", Attribute.of(1L))));
        String h = "flat";
        if (inputDropout > 0) {
            g.initializer("input_dropout.ratio", Tensor.of(new float[] {(float) inputDropout}).reshape());
            nodes.add(new Node("input_dropout", "Dropout", "", List.of(h, "input_dropout.ratio"), List.of("flat_drop"), Map.of()));
            h = "flat_drop";
        }
        long prev = in;
        for (int i = 0; i <= hidden.length; i++) {
            boolean last = i == hidden.length;
            long out = last ? classes : hidden[i];
            if (out <= 0) throw new ModelException("MLP layer widths must be positive");
            String p = "fc" + (i + 1);
            float[] w = new float[(int) (out * prev)];
            double std = Math.sqrt(2.0 / prev);
            for (int k = 0; k < w.length; k++) w[k] = (float) (r.nextGaussian() * std);
            g.initializer(p + ".weight", Tensor.of(w, out, prev));
            g.initializer(p + ".bias", Tensor.of(new float[(int) out], out));
            String o = last ? "logits" : p;
            nodes.add(new Node(p, "Gemm", "", List.of(h, p + ".weight", p + ".bias"), List.of(o), Map.of("transB", Attribute.of(1L))));
            h = o;
            if (!last) {
                nodes.add(new Node(p + ".relu", "Relu", "", List.of(h), List.of(p + ".relu"), Map.of()));
                h = p + ".relu";
                if (dropout > 0) {
                    g.initializer(p + ".dropout.ratio", Tensor.of(new float[] {(float) dropout}).reshape());
                    nodes.add(new Node(p + ".dropout", "Dropout", "", List.of(h, p + ".dropout.ratio"), List.of(p + ".drop"), Map.of()));
                    h = p + ".drop";
                }
            }
            prev = out;
        }
        g.nodes(nodes);
        g.addOutput(new ValueInfo("logits", new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(classes)))));
        return g.build();
    }
}
