package io.condense.train;

import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Builders of small image classifiers as IR graphs with seeded initial weights. Input "input" [N, 1, 28, 28]
 * float32 with pixels in [0, 1] (the graph itself normalizes with the MNIST mean and standard deviation, using
 * Constant nodes so that the normalization is not trained), output "logits" [N, 10].
 */
public final class Models {
    private Models() {}

    public static final List<String> NAMES = List.of("lenet-300-100", "lenet5", "resnet-small");

    public static Graph byName(String name, long seed) {
        return switch (name.toLowerCase()) {
            case "lenet-300-100", "lenet300100", "mlp" -> lenet300100(seed);
            case "lenet5", "lenet-5" -> lenet5(seed);
            case "resnet-small", "resnet" -> resnetSmall(seed);
            default -> throw new ModelException("unknown model '" + name + "' (known: " + String.join(", ", NAMES) + ")");
        };
    }

    /** LeNet-300-100: 784-300-100-10 fully connected with ReLU (He init). */
    public static Graph lenet300100(long seed) {
        B b = new B(seed, "lenet-300-100", 1, 28, 28);
        String h = b.node("Flatten", List.of(b.normalized()), Map.of("axis", Attribute.of(1L)));
        h = b.relu(b.fc("fc1", h, 784, 300, true));
        h = b.relu(b.fc("fc2", h, 300, 100, true));
        return b.finish(b.fc("fc3", h, 100, 10, false));
    }

    /** LeNet-5, Caffe variant: conv 20 5x5, maxpool 2, conv 50 5x5, maxpool 2, fc 500, ReLU, fc 10 (Xavier init). */
    public static Graph lenet5(long seed) {
        B b = new B(seed, "lenet5", 1, 28, 28);
        String h = b.conv("conv1", b.normalized(), 1, 20, 5, 1, 0, true, false);
        h = b.maxPool(h, 2, 2);
        h = b.conv("conv2", h, 20, 50, 5, 1, 0, true, false);
        h = b.maxPool(h, 2, 2);
        h = b.node("Flatten", List.of(h), Map.of("axis", Attribute.of(1L)));
        h = b.relu(b.fcInit("ip1", h, 800, 500, false));
        return b.finish(b.fcInit("ip2", h, 500, 10, false));
    }

    /** A small ResNet for 28x28 inputs: stem 16, three residual stages (16, 32/2, 64/2) with BatchNorm, global pool, fc. */
    public static Graph resnetSmall(long seed) {
        B b = new B(seed, "resnet-small", 1, 28, 28);
        String h = b.relu(b.bn("stem.bn", b.conv("stem.conv", b.normalized(), 1, 16, 3, 1, 1, false, true), 16));
        h = b.block("layer1", h, 16, 16, 1);
        h = b.block("layer2", h, 16, 32, 2);
        h = b.block("layer3", h, 32, 64, 2);
        h = b.node("GlobalAveragePool", List.of(h), Map.of());
        h = b.node("Flatten", List.of(h), Map.of("axis", Attribute.of(1L)));
        return b.finish(b.fc("fc", h, 64, 10, false));
    }

    private static final class B {
        final Random rnd;
        final Graph.Builder g = Graph.builder();
        int counter;

        B(long seed, String name, long c, long h, long w) {
            rnd = new Random(seed);
            g.name(name).opset("", 17).producer("condense", "train");
            g.addInput(new ValueInfo("input", new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(c), Dim.of(h), Dim.of(w)))));
        }

        /** (input - mean) / std with MNIST statistics, as Constant nodes (not trainable). */
        String normalized() {
            g.addNode(new Node("input.mean", "Constant", "", List.of(), List.of("input.mean"),
                    Map.of("value", Attribute.of(Tensor.of(new float[] {io.condense.data.Mnist.MEAN})))));
            g.addNode(new Node("input.inv_std", "Constant", "", List.of(), List.of("input.inv_std"),
                    Map.of("value", Attribute.of(Tensor.of(new float[] {1 / io.condense.data.Mnist.STD})))));
            return node("Mul", List.of(node("Sub", List.of("input", "input.mean"), Map.of()), "input.inv_std"), Map.of());
        }

        String fresh(String op) { return op.toLowerCase() + "_" + (counter++); }

        String node(String op, List<String> in, Map<String, Attribute> attrs) {
            String out = fresh(op);
            g.addNode(new Node(out, op, "", in, List.of(out), new LinkedHashMap<>(attrs)));
            return out;
        }

        /** Gaussian with std sqrt(2 / fanIn) (He) or uniform +-sqrt(3 / fanIn) (Xavier, Caffe's filler). */
        Tensor init(long[] shape, long fanIn, boolean he) {
            int n = (int) Tensor.checkedSize(shape);
            float[] d = new float[n];
            double std = Math.sqrt(2.0 / fanIn), lim = Math.sqrt(3.0 / fanIn);
            for (int i = 0; i < n; i++) d[i] = (float) (he ? rnd.nextGaussian() * std : (rnd.nextDouble() * 2 - 1) * lim);
            return Tensor.of(d, shape);
        }

        String fc(String name, String in, long nIn, long nOut, boolean he) {
            g.initializer(name + ".weight", init(new long[] {nOut, nIn}, nIn, he));
            g.initializer(name + ".bias", Tensor.of(new float[(int) nOut], nOut));
            return node("Gemm", List.of(in, name + ".weight", name + ".bias"), Map.of("transB", Attribute.of(1L)));
        }

        String fcInit(String name, String in, long nIn, long nOut, boolean he) { return fc(name, in, nIn, nOut, he); }

        String conv(String name, String in, long cin, long cout, long k, long stride, long pad, boolean bias, boolean he) {
            g.initializer(name + ".weight", init(new long[] {cout, cin, k, k}, cin * k * k, he));
            List<String> ins = bias ? List.of(in, name + ".weight", name + ".bias") : List.of(in, name + ".weight");
            if (bias) g.initializer(name + ".bias", Tensor.of(new float[(int) cout], cout));
            Map<String, Attribute> a = new LinkedHashMap<>();
            a.put("kernel_shape", Attribute.of(k, k));
            a.put("strides", Attribute.of(stride, stride));
            a.put("pads", Attribute.of(pad, pad, pad, pad));
            return node("Conv", ins, a);
        }

        String bn(String name, String in, long c) {
            float[] one = new float[(int) c];
            java.util.Arrays.fill(one, 1f);
            g.initializer(name + ".weight", Tensor.of(one.clone(), c));
            g.initializer(name + ".bias", Tensor.of(new float[(int) c], c));
            g.initializer(name + ".running_mean", Tensor.of(new float[(int) c], c));
            g.initializer(name + ".running_var", Tensor.of(one.clone(), c));
            return node("BatchNormalization", List.of(in, name + ".weight", name + ".bias", name + ".running_mean", name + ".running_var"),
                    Map.of("epsilon", Attribute.of(1e-5f), "momentum", Attribute.of(0.9f)));
        }

        String relu(String in) { return node("Relu", List.of(in), Map.of()); }

        String maxPool(String in, long k, long s) {
            return node("MaxPool", List.of(in), Map.of("kernel_shape", Attribute.of(k, k), "strides", Attribute.of(s, s)));
        }

        String block(String name, String in, long cin, long cout, long stride) {
            String h = relu(bn(name + ".bn1", conv(name + ".conv1", in, cin, cout, 3, stride, 1, false, true), cout));
            h = bn(name + ".bn2", conv(name + ".conv2", h, cout, cout, 3, 1, 1, false, true), cout);
            String skip = in;
            if (stride != 1 || cin != cout) skip = bn(name + ".down.bn", conv(name + ".down.conv", in, cin, cout, 1, stride, 0, false, true), cout);
            return relu(node("Add", List.of(h, skip), Map.of()));
        }

        Graph finish(String out) {
            // rename the last value to "logits"
            List<Node> nodes = new java.util.ArrayList<>(g.nodes());
            Node last = nodes.get(nodes.size() - 1);
            if (!last.output(0).equals(out)) throw new IllegalStateException();
            nodes.set(nodes.size() - 1, last.withOutputs(List.of("logits")));
            g.nodes(nodes);
            g.addOutput(new ValueInfo("logits", new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(10)))));
            return g.build();
        }
    }
}
