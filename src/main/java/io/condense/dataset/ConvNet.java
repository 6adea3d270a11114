package io.condense.dataset;

import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The ConvNet of the dataset-distillation papers (DC, DSA, DM): {@code depth} blocks of 3x3 convolution (padding 1,
 * {@code width} channels), instance normalization (affine), ReLU and 2x2 average pooling, then one linear layer.
 * Weights use PyTorch's default initialization (uniform +-1/sqrt(fan-in) for weights and biases), which is what
 * "randomly initialized network" means in those papers. Works for any channel count and image size.
 *
 * <p>Input "input" [N, C, H, W], already normalized; outputs "logits" [N, classes] and "features"
 * [N, width * h * w] (the flattened last block, the embedding Distribution Matching compares).
 */
public final class ConvNet {
    private ConvNet() {}

    /** Architecture settings; {@code instanceNorm=false} drops the normalization (the papers' "ConvNetNN"). */
    public record Spec(int width, int depth, boolean instanceNorm) {
        public Spec {
            if (width <= 0 || depth <= 0) throw new ModelException("ConvNet width and depth must be positive, got " + width + " and " + depth);
        }

        /** ConvNet-3 of the papers: width 128, depth 3, instance normalization. */
        public static Spec paper() { return new Spec(128, 3, true); }
    }

    public static final String INPUT = "input", LOGITS = "logits", FEATURES = "features";

    /** Feature length for a sample shape [C, H, W]. */
    public static long featureSize(Spec spec, long[] sampleShape) {
        long h = sampleShape[1], w = sampleShape[2];
        for (int i = 0; i < spec.depth(); i++) {
            h /= 2;
            w /= 2;
        }
        if (h < 1 || w < 1) throw new ModelException("images of " + sampleShape[1] + "x" + sampleShape[2] + " are too small for a depth-" + spec.depth() + " ConvNet");
        return spec.width() * h * w;
    }

    public static Graph build(Spec spec, long[] sampleShape, int classes, long seed) {
        if (sampleShape.length != 3) throw new ModelException("ConvNet needs [C, H, W] samples, got rank " + sampleShape.length);
        long feat = featureSize(spec, sampleShape);
        SplittableRandom rnd = new SplittableRandom(seed);
        Graph.Builder g = Graph.builder().name("convnet-" + spec.depth() + "-w" + spec.width()).opset("", 17).producer("condense", "dataset");
        g.addInput(new ValueInfo(INPUT, new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(sampleShape[0]), Dim.of(sampleShape[1]), Dim.of(sampleShape[2])))));
        List<Node> nodes = new ArrayList<>();
        String h = INPUT;
        long cin = sampleShape[0];
        for (int d = 0; d < spec.depth(); d++) {
            String p = "features." + d;
            long w = spec.width();
            g.initializer(p + ".conv.weight", uniform(rnd, new long[] {w, cin, 3, 3}, cin * 9));
            g.initializer(p + ".conv.bias", uniform(rnd, new long[] {w}, cin * 9));
            Map<String, Attribute> ca = new LinkedHashMap<>();
            ca.put("kernel_shape", Attribute.of(3L, 3L));
            ca.put("pads", Attribute.of(1L, 1L, 1L, 1L));
            nodes.add(new Node(p + ".conv", "Conv", "", List.of(h, p + ".conv.weight", p + ".conv.bias"), List.of(p + ".conv"), ca));
            h = p + ".conv";
            if (spec.instanceNorm()) {
                float[] one = new float[(int) w];
                java.util.Arrays.fill(one, 1f);
                g.initializer(p + ".norm.weight", Tensor.of(one, w));
                g.initializer(p + ".norm.bias", Tensor.of(new float[(int) w], w));
                nodes.add(new Node(p + ".norm", "InstanceNormalization", "", List.of(h, p + ".norm.weight", p + ".norm.bias"), List.of(p + ".norm"),
                        Map.of("epsilon", Attribute.of(1e-5f))));
                h = p + ".norm";
            }
            nodes.add(new Node(p + ".relu", "Relu", "", List.of(h), List.of(p + ".relu"), Map.of()));
            nodes.add(new Node(p + ".pool", "AveragePool", "", List.of(p + ".relu"), List.of(p + ".pool"),
                    Map.of("kernel_shape", Attribute.of(2L, 2L), "strides", Attribute.of(2L, 2L))));
            h = p + ".pool";
            cin = w;
        }
        nodes.add(new Node("flatten", "Flatten", "", List.of(h), List.of(FEATURES), Map.of("axis", Attribute.of(1L))));
        g.initializer("classifier.weight", uniform(rnd, new long[] {classes, feat}, feat));
        g.initializer("classifier.bias", uniform(rnd, new long[] {classes}, feat));
        nodes.add(new Node("classifier", "Gemm", "", List.of(FEATURES, "classifier.weight", "classifier.bias"), List.of(LOGITS),
                Map.of("transB", Attribute.of(1L))));
        g.nodes(nodes);
        g.addOutput(new ValueInfo(LOGITS, new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(classes)))));
        g.addOutput(new ValueInfo(FEATURES, new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(feat)))));
        return g.build();
    }

    private static Tensor uniform(SplittableRandom rnd, long[] shape, long fanIn) {
        int n = (int) Tensor.checkedSize(shape);
        float[] d = new float[n];
        double lim = 1 / Math.sqrt(fanIn);
        for (int i = 0; i < n; i++) d[i] = (float) ((rnd.nextDouble() * 2 - 1) * lim);
        return Tensor.of(d, shape);
    }
}
