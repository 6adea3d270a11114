package io.condense.backend.cpu;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

@Tag("slow")
class MicroBench {
    @Test
    void mm() {
        NativeSetup.init();
        INDArray w = Nd4j.rand(DataType.FLOAT, 256, 64);
        INDArray x = Nd4j.rand(DataType.FLOAT, 64, 3136);
        INDArray r = Nd4j.gemm(w, x, false, false);
        INDArray r2 = Nd4j.gemm(x, w, true, true).transpose();
        System.out.println("gemm order " + r.ordering() + " transposed trick order " + r2.ordering() + " equal " + r.equalsWithEps(r2, 1e-3));
        INDArray out = Nd4j.create(DataType.FLOAT, 256, 3136);
        INDArray outF = Nd4j.create(DataType.FLOAT, new long[] {256, 3136}, 'f');
        String[] names = {"gemm", "gemm+dup c", "gemm trick", "gemm into c", "gemm into f", "matmul", "mmul", "assign f->c"};
        Runnable[] rs = {
                () -> Nd4j.gemm(w, x, false, false), () -> Nd4j.gemm(w, x, false, false).dup('c'),
                () -> Nd4j.gemm(x, w, true, true).transpose(), () -> Nd4j.gemm(w, x, out, false, false, 1.0, 0.0),
                () -> Nd4j.gemm(w, x, outF, false, false, 1.0, 0.0), () -> Nd4j.matmul(w, x), () -> w.mmul(x),
                () -> out.assign(outF)};
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < rs.length; i++) System.out.printf("%s: %.2f ms%n", names[i], NnKernelsBench.seconds(rs[i], 30) * 1e3);
    }
}
