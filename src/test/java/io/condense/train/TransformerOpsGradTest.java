package io.condense.train;

import io.condense.ir.DType;
import io.condense.ir.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ops of BERT-style graphs (MiniLM, TinyBERT) in training: each forward against ONNX Runtime (float32, 1e-4) and
 * each gradient against float64 central differences (relative error < 1e-3), in the opset forms the exporters use.
 */
class TransformerOpsGradTest {
    @BeforeAll
    static void threads() { Threads.auto(); }

    private static void both(GradCheck g) throws Exception {
        g.checkAgainstOrt();
        g.checkGradients(false);
    }

    private static final long FLOAT = 1, INT64 = 7;

    @Test void castFloatToFloatPassesGradient() throws Exception {
        both(new GradCheck(101).input("x", 2, 3).param("w", 3)
                .node("Cast", List.of("x"), List.of("c"), "to", FLOAT).node("Mul", List.of("c", "w"), List.of("y")).output("y"));
    }

    /** BERT's extended attention mask: (1 - float(mask[:, None, None, :])) * -10000 added to the scores, then Softmax. */
    @Test void attentionMaskPath() throws Exception {
        GradCheck g = new GradCheck(102).opset(11);
        g.input("s", 2, 2, 3, 4).intTensor("mask", new long[] {2, 4}, 1, 1, 1, 0, 1, 1, 0, 0)
                .node("Constant", List.of(), List.of("one"), "value", Tensor.of(new float[] {1f}))
                .node("Constant", List.of(), List.of("big"), "value", Tensor.of(new float[] {-10000f}))
                .node("Unsqueeze", List.of("mask"), List.of("m1"), "axes", new long[] {1})
                .node("Unsqueeze", List.of("m1"), List.of("m2"), "axes", new long[] {2})
                .node("Cast", List.of("m2"), List.of("mf"), "to", FLOAT)
                .node("Sub", List.of("one", "mf"), List.of("inv"))
                .node("Mul", List.of("inv", "big"), List.of("add"))
                .node("Add", List.of("s", "add"), List.of("z"))
                .node("Softmax", List.of("z"), List.of("y"), "axis", 3L).output("y");
        // (the constants are Constant nodes: as parameters, d/d(one) = -10000 * sum(dSoftmax) is analytically 0)
        both(g);
    }

    /** The dynamic reshape of a BERT export: Shape -> Gather -> Unsqueeze -> Concat -> Reshape. */
    @Test void shapeGatherConcatReshape() throws Exception {
        GradCheck g = new GradCheck(103).opset(11);
        g.input("x", 2, 3, 6).intTensor("i0", new long[] {}, 0).intTensor("i1", new long[] {}, 1)
                .ints("heads", 2).ints("size", 3)
                .node("Shape", List.of("x"), List.of("sh"))
                .node("Gather", List.of("sh", "i0"), List.of("b"), "axis", 0L)
                .node("Gather", List.of("sh", "i1"), List.of("t"), "axis", 0L)
                .node("Unsqueeze", List.of("b"), List.of("bu"), "axes", new long[] {0})
                .node("Unsqueeze", List.of("t"), List.of("tu"), "axes", new long[] {0})
                .node("Concat", List.of("bu", "tu", "heads", "size"), List.of("ns"), "axis", 0L)
                .node("Reshape", List.of("x", "ns"), List.of("r"))
                .node("Transpose", List.of("r"), List.of("y"), "perm", new long[] {0, 2, 1, 3}).output("y");
        both(g);
    }

    @Test void powSquareWithConstantExponent() throws Exception {
        both(new GradCheck(104).opset(11).input("x", 3, 4).param("e", Tensor.of(new float[] {2f}))
                .node("Pow", List.of("x", "e"), List.of("y")).output("y"));
    }

    @Test void powTensorExponent() throws Exception {
        GradCheck g = new GradCheck(105);
        g.input("x", g.uniform(0.2, 2, 2, 3)).param("e", Tensor.of(new float[] {0.5f, 1.5f, 3f}, 3))
                .node("Pow", List.of("x", "e"), List.of("y")).output("y");
        both(g);
    }

    @Test void sqrt() throws Exception {
        GradCheck g = new GradCheck(106);
        both(g.input("x", g.uniform(0.1, 2, 3, 4)).node("Sqrt", List.of("x"), List.of("y")).output("y"));
    }

    @Test void expLogNegReciprocal() throws Exception {
        GradCheck g = new GradCheck(107);
        g.input("x", g.uniform(0.3, 2, 3, 4))
                .node("Log", List.of("x"), List.of("a")).node("Exp", List.of("x"), List.of("b"))
                .node("Reciprocal", List.of("x"), List.of("c")).node("Neg", List.of("c"), List.of("d"))
                .node("Add", List.of("a", "b"), List.of("e")).node("Add", List.of("e", "d"), List.of("y")).output("y");
        both(g);
    }

    @Test void reduceMeanAxesAttributeKeepDims() throws Exception {
        both(new GradCheck(108).opset(11).input("x", 2, 3, 4)
                .node("ReduceMean", List.of("x"), List.of("y"), "axes", new long[] {-1}).output("y"));
    }

    @Test void reduceMeanTwoAxesNoKeepDims() throws Exception {
        both(new GradCheck(109).opset(13).input("x", 2, 3, 4)
                .node("ReduceMean", List.of("x"), List.of("y"), "axes", new long[] {0, 2}, "keepdims", 0L).output("y"));
    }

    @Test void reduceMeanAllAxes() throws Exception {
        both(new GradCheck(110).opset(11).input("x", 2, 3).node("ReduceMean", List.of("x"), List.of("y"), "keepdims", 0L).output("y"));
    }

    @Test void reduceMeanAxesInputOpset18() throws Exception {
        both(new GradCheck(111).opset(18).input("x", 2, 3, 4).ints("ax", 1)
                .node("ReduceMean", List.of("x", "ax"), List.of("y")).output("y"));
    }

    @Test void reduceSumAxesInput() throws Exception {
        both(new GradCheck(112).opset(13).input("x", 2, 3, 4).ints("ax", 0, -1)
                .node("ReduceSum", List.of("x", "ax"), List.of("y"), "keepdims", 0L).output("y"));
    }

    /** LayerNorm as BERT exporters decompose it: ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul, Add. */
    @Test void decomposedLayerNorm() throws Exception {
        GradCheck g = new GradCheck(113).opset(11);
        g.input("x", 2, 3, 5).param("two", Tensor.of(new float[] {2f})).param("eps", Tensor.of(new float[] {1e-5f}))
                .param("gamma", 5).param("beta", 5)
                .node("ReduceMean", List.of("x"), List.of("mu"), "axes", new long[] {-1})
                .node("Sub", List.of("x", "mu"), List.of("xc"))
                .node("Pow", List.of("xc", "two"), List.of("sq"))
                .node("ReduceMean", List.of("sq"), List.of("var"), "axes", new long[] {-1})
                .node("Add", List.of("var", "eps"), List.of("ve"))
                .node("Sqrt", List.of("ve"), List.of("sd"))
                .node("Div", List.of("xc", "sd"), List.of("xh"))
                .node("Mul", List.of("xh", "gamma"), List.of("s"))
                .node("Add", List.of("s", "beta"), List.of("y")).output("y");
        both(g);
    }

    @Test void unsqueezeSqueezeAttributeForm() throws Exception {
        both(new GradCheck(114).opset(11).input("x", 3, 4)
                .node("Unsqueeze", List.of("x"), List.of("u"), "axes", new long[] {0, 3})
                .node("Squeeze", List.of("u"), List.of("y"), "axes", new long[] {0}).output("y"));
    }

    @Test void unsqueezeSqueezeInputForm() throws Exception {
        both(new GradCheck(115).opset(13).input("x", 3, 4).ints("a", 1).ints("b", -1)
                .node("Unsqueeze", List.of("x", "a"), List.of("u"))
                .node("Unsqueeze", List.of("u", "b"), List.of("v"))
                .node("Squeeze", List.of("v", "b"), List.of("y")).output("y"));
    }

    @Test void sliceStepsAndNegativeStep() throws Exception {
        both(new GradCheck(116).input("x", 4, 6).ints("st", 3, 1).ints("en", -100, 6).ints("ax", 0, 1).ints("sp", -2, 2)
                .node("Slice", List.of("x", "st", "en", "ax", "sp"), List.of("y")).output("y"));
    }

    @Test void sliceOpset9Attributes() throws Exception {
        both(new GradCheck(117).opset(9).input("x", 3, 5)
                .node("Slice", List.of("x"), List.of("y"), "starts", new long[] {1}, "ends", new long[] {1000}, "axes", new long[] {1}).output("y"));
    }

    /** BERT's position ids: Slice of a [1, 512] constant up to the sequence length. */
    @Test void slicePositionIdsThenEmbeddingGather() throws Exception {
        GradCheck g = new GradCheck(118).opset(11);
        g.intTensor("pos", new long[] {1, 8}, 0, 1, 2, 3, 4, 5, 6, 7).input("x", 1, 3, 4).param("table", 8, 4)
                .ints("zero", 0).ints("one", 1).ints("three", 3)
                .node("Slice", List.of("pos", "zero", "three", "one"), List.of("p"))
                .node("Gather", List.of("table", "p"), List.of("e"))
                .node("Add", List.of("x", "e"), List.of("y")).output("y");
        both(g);
    }

    @Test void gatherEmbeddingRepeatedIds() throws Exception {
        // repeated ids accumulate (scatter-add) into the same table rows
        both(new GradCheck(119).param("table", 6, 3).intTensor("ids", new long[] {2, 4}, 1, 5, 1, 0, 5, 5, 2, 1)
                .node("Gather", List.of("table", "ids"), List.of("y")).output("y"));
    }

    @Test void gatherNegativeIndexScalar() throws Exception {
        both(new GradCheck(120).input("x", 4, 3).intTensor("i", new long[] {}, -1)
                .node("Gather", List.of("x", "i"), List.of("y"), "axis", 0L).output("y"));
    }

    @Test void matmulBroadcastBatch() throws Exception {
        both(new GradCheck(121).input("a", 2, 1, 3, 4).param("b", 3, 4, 5).node("MatMul", List.of("a", "b"), List.of("y")).output("y"));
    }

    @Test void matmul4dAttention() throws Exception {
        both(new GradCheck(122).input("q", 2, 3, 4, 5).input("k", 2, 3, 5, 4).node("MatMul", List.of("q", "k"), List.of("y")).output("y"));
    }

    @Test void matmul3dBy2dWeight() throws Exception {
        both(new GradCheck(123).input("x", 2, 3, 4).param("w", 4, 6).node("MatMul", List.of("x", "w"), List.of("y")).output("y"));
    }

    /** The flattened-GEMM backward of [..., M, K] x [K, N]: both operands' gradients against central differences. */
    @Test void matmulRank4ActivationBy2dWeightBothGradients() throws Exception {
        both(new GradCheck(125).param("x", 2, 2, 3, 4).param("w", 4, 5).node("MatMul", List.of("x", "w"), List.of("y")).output("y"));
    }

    @Test void matmulVectorOperands() throws Exception {
        both(new GradCheck(124).input("v", 4).param("m", 2, 4, 3).param("u", 3)
                .node("MatMul", List.of("v", "m"), List.of("a")).node("MatMul", List.of("a", "u"), List.of("y")).output("y"));
    }

    @Test void softmaxLastAxisRank4Opset11() throws Exception {
        both(new GradCheck(125).opset(11).input("x", 2, 2, 3, 4).node("Softmax", List.of("x"), List.of("y"), "axis", -1L).output("y"));
    }

    @Test void softmaxLastAxisOpset13() throws Exception {
        both(new GradCheck(126).opset(13).input("x", 2, 3, 4).node("Softmax", List.of("x"), List.of("y"), "axis", -1L).output("y"));
    }

    @Test void whereEqualBroadcast() throws Exception {
        GradCheck g = new GradCheck(127);
        g.intTensor("ids", new long[] {2, 1, 3}, 0, 3, 0, 5, 0, 0).intTensor("pad", new long[] {}, 0)
                .input("x", 2, 4, 3).param("y0", 4, 1)
                .node("Equal", List.of("ids", "pad"), List.of("c"))
                .node("Where", List.of("c", "x", "y0"), List.of("y")).output("y");
        both(g);
    }

    @Test void expand() throws Exception {
        both(new GradCheck(128).input("x", 3, 1).ints("s", 2, 3, 4).node("Expand", List.of("x", "s"), List.of("y")).output("y"));
    }

    @Test void constantOfShapeAndEqualAsFloat() throws Exception {
        Tensor half = Tensor.of(new float[] {0.5f}, 1);
        GradCheck g = new GradCheck(129);
        g.input("x", 2, 3).intTensor("k", new long[] {2, 3}, 0, 1, 2, 0, 1, 2).ints("z", 1)
                .node("Shape", List.of("x"), List.of("sh"))
                .node("ConstantOfShape", List.of("sh"), List.of("h"), "value", half)
                .node("Equal", List.of("k", "z"), List.of("e"))
                .node("Cast", List.of("e"), List.of("ef"), "to", FLOAT)
                .node("Add", List.of("h", "ef"), List.of("hc"))
                .node("Mul", List.of("x", "hc"), List.of("y")).output("y");
        both(g);
    }

    @Test void castToIntAndBackIsNotDifferentiable() throws Exception {
        GradCheck g = new GradCheck(130);
        g.input("x", 2, 3).param("w", 2, 3)
                .node("Cast", List.of("w"), List.of("wi"), "to", INT64)
                .node("Cast", List.of("wi"), List.of("wf"), "to", FLOAT)
                .node("Add", List.of("x", "wf"), List.of("y")).output("y");
        g.checkAgainstOrt();
        Tape t = new Tape(g.graph(), n -> true, org.nd4j.linalg.api.buffer.DataType.DOUBLE, 0);
        t.requireInputGrad("x");
        var out = t.forward(GradCheck.nd(g.feeds, org.nd4j.linalg.api.buffer.DataType.DOUBLE), false);
        var grads = t.backward(java.util.Map.of("y", org.nd4j.linalg.factory.Nd4j.onesLike(out.get("y"))));
        // w only reaches the loss through an integer Cast: its gradient is zero, x's is one
        assertTrue(grads.get("w").amaxNumber().doubleValue() == 0);
        assertTrue(grads.get("x").minNumber().doubleValue() == 1);
    }

    @Test void erfGeluAsBertWritesIt() throws Exception {
        // 0.5 * x * (1 + erf(x / sqrt(2)))
        GradCheck g = new GradCheck(131).opset(11);
        g.input("x", 3, 4).param("r2", Tensor.of(new float[] {1.4142135f})).param("one", Tensor.of(new float[] {1f}))
                .param("half", Tensor.of(new float[] {0.5f}))
                .node("Div", List.of("x", "r2"), List.of("a")).node("Erf", List.of("a"), List.of("b"))
                .node("Add", List.of("b", "one"), List.of("c")).node("Mul", List.of("x", "c"), List.of("d"))
                .node("Mul", List.of("d", "half"), List.of("y")).output("y");
        both(g);
    }

    @Test void gemmTanhPooler() throws Exception {
        both(new GradCheck(132).input("x", 2, 4).param("w", 4, 4).param("b", 4)
                .node("Gemm", List.of("x", "w", "b"), List.of("h"), "transB", 1L).node("Tanh", List.of("h"), List.of("y")).output("y"));
    }

    @Test void everyMiniLmAndTinyBertOpIsTrainableOrDeclaredNonDifferentiable() {
        for (String op : List.of("Unsqueeze", "Cast", "Constant", "Sub", "Mul", "Shape", "Gather", "Add", "Slice", "ReduceMean", "Pow",
                "Sqrt", "Div", "MatMul", "Concat", "Reshape", "Transpose", "Softmax", "Erf", "Gemm", "Tanh", "Where", "Expand",
                "Equal", "ConstantOfShape", "Squeeze")) {
            assertTrue(TrainOps.supports(op), op + " has no training op");
        }
        for (String op : List.of("Shape", "Equal", "ConstantOfShape")) assertFalse(TrainOps.differentiable(op, 0), op);
        assertFalse(TrainOps.differentiable("Pow", 1));
        assertFalse(TrainOps.differentiable("Gather", 1));
        assertTrue(TrainOps.differentiable("Gather", 0));
        assertTrue(DType.FLOAT32.isFloating());
    }
}
