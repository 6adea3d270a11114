package io.condense.train;

import org.junit.jupiter.api.Test;

import java.util.List;

/** InstanceNormalization training op: forward against ONNX Runtime, backward against central differences. */
class InstanceNormGradTest {
    @Test void instanceNorm4d() throws Exception {
        GradCheck g = new GradCheck(41).input("x", 2, 3, 4, 5).param("s", 3).param("b", 3)
                .node("InstanceNormalization", List.of("x", "s", "b"), List.of("y"), "epsilon", 1e-3f).output("y");
        g.checkAgainstOrt();
        g.checkGradients(true);
    }

    @Test void instanceNorm3dInConvChain() throws Exception {
        GradCheck g = new GradCheck(42).input("x", 3, 2, 7).param("s", 2).param("b", 2)
                .node("InstanceNormalization", List.of("x", "s", "b"), List.of("h"))
                .node("Relu", List.of("h"), List.of("y")).output("y");
        g.checkAgainstOrt();
        g.checkGradients(false);
    }
}
