package io.condense.dataset;

import io.condense.train.Tape;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import java.util.Map;

class ProbeSpeed {
    @Test void probe() {
        io.condense.train.Threads.set(1);
        var g = ConvNet.build(ConvNet.Spec.paper(), new long[] {1, 28, 28}, 10, 1);
        Tape t = new Tape(g, n -> true, DataType.FLOAT, 1);
        t.requireInputGrad("input");
        var x = Nd4j.rand(DataType.FLOAT, 256, 1, 28, 28);
        for (int r = 0; r < 3; r++) {
            long t0 = System.nanoTime();
            t.infer(Map.of("input", x));
            long t1 = System.nanoTime();
            var out = t.forward(Map.of("input", x), true);
            t.backward(Map.of("features", out.get("features").dup()));
            long t2 = System.nanoTime();
            System.out.println("infer256 " + (t1 - t0) / 1e6 + " ms, fwd+bwd256 " + (t2 - t1) / 1e6 + " ms");
        }
    }
}
