package io.condense.backend.cpu;

import io.condense.ir.DType;
import io.condense.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** ND4J loads beside the JavaCPP 1.5.14 presets and computes: the CPU path's foundation. */
class Nd4jSmokeTest {
    @Test
    void loadsAndMultiplies() {
        INDArray a = Nd4j.create(new float[] {1, 2, 3, 4, 5, 6}, new long[] {2, 3}, 'c');
        INDArray b = Nd4j.create(new float[] {7, 8, 9, 10, 11, 12}, new long[] {3, 2}, 'c');
        // [[1,2,3],[4,5,6]] x [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
        assertArrayEquals(new float[] {58, 64, 139, 154}, a.mmul(b).data().asFloat(), 0f);
        assertEquals("CpuNDArrayFactory", Nd4j.factory().getClass().getSimpleName());
    }

    @Test
    void tensorRoundTripKeepsEveryType() {
        for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64, DType.FLOAT16, DType.INT8, DType.UINT8, DType.INT32, DType.INT64, DType.BOOL}) {
            Tensor x = Tensor.fromDoubles(t, new long[] {2, 2}, new double[] {0, 1, 1, 0});
            Tensor y = Nd.toTensor(Nd.toNd(x), t);
            assertEquals(t, y.dtype());
            for (int i = 0; i < 4; i++) assertEquals(x.getDouble(i), y.getDouble(i), 0.0, t.toString());
        }
    }
}
