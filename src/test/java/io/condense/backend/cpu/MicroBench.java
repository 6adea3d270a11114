package io.condense.backend.cpu;

import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Node;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Map;

@Tag("slow")
class MicroBench {
    @Test
    void mm() {
        NativeSetup.init();
        INDArray w = Nd4j.rand(DataType.FLOAT, 256, 64);
        INDArray w4 = w.reshape(256, 64, 1, 1);
        INDArray x = Nd4j.rand(DataType.FLOAT, 64, 3136);
        INDArray x4 = x.reshape(1, 64, 56, 56);
        INDArray b = Nd4j.rand(DataType.FLOAT, 256);
        INDArray out = Nd4j.create(DataType.FLOAT, 256, 3136);
        OpContext ctx = new OpContext(Node.of("Conv", List.of("x", "w", "b"), List.of("y"), Map.of()), 13,
                new INDArray[] {x4, w4, b}, new DType[] {DType.FLOAT32, DType.FLOAT32, DType.FLOAT32});
        OpContext ctx2 = new OpContext(Node.of("Conv", List.of("x", "w"), List.of("y"), Map.of()), 13,
                new INDArray[] {x4, w4}, new DType[] {DType.FLOAT32, DType.FLOAT32});
        String[] names = {"gemm into c", "alloc 3.2MB", "alloc+gemm", "bias add", "conv kernel 1x1", "conv kernel 1x1 nobias", "java alloc float[800k]"};
        Runnable[] rs = {
                () -> Nd4j.gemm(w, x, out, false, false, 1.0, 0.0),
                () -> Nd4j.createUninitialized(DataType.FLOAT, new long[] {256, 3136}, 'c'),
                () -> Nd4j.gemm(w, x, Nd4j.createUninitialized(DataType.FLOAT, new long[] {256, 3136}, 'c'), false, false, 1.0, 0.0),
                () -> Broadcast.add(out, b, out, 0),
                () -> NnKernels.conv(ctx), () -> NnKernels.conv(ctx2), () -> { float[] f = new float[800_000]; f[5] = 1; }};
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < rs.length; i++) System.out.printf("%s: %.3f ms%n", names[i], NnKernelsBench.seconds(rs[i], 40) * 1e3);
    }
}
