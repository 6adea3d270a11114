package io.condense.backend.cuda;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The JavaCPP pointer idioms the CUDA layer relies on, checked on host memory (no CUDA needed). */
class JavaCppPointerTest {
    @Test
    void rawPointersKeepTheirAddress() {
        Pointer p = CudaRuntime.pointer(0x7f12_3456_7800L);
        assertEquals(0x7f12_3456_7800L, p.address());
        assertEquals(0, p.position());
        // cuBLAS takes FloatPointer: the typed view must keep the device address
        assertEquals(0x7f12_3456_7800L, new FloatPointer(p).address());
    }

    @Test
    void typedViewsOfAByteBufferReadAndWriteTheSameMemory() {
        // as PinnedBuffer does: a byte buffer viewed as floats
        try (BytePointer b = new BytePointer(16)) {
            float[] v = {1.5f, -2f, 3.25f, 1e-3f};
            new FloatPointer(b.position(0)).put(v);
            for (int i = 0; i < 4; i++) assertEquals(v[i], b.getFloat(4L * i));
            float[] back = new float[4];
            new FloatPointer(b).get(back);
            assertArrayEquals(v, back);
        }
    }

    @Test
    void moduleImagesAreNulTerminated() {
        byte[] img = "// PTX\\n.version 8.0".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try (BytePointer p = CudaModule.nulTerminated(img)) {
            assertEquals(0, p.position());
            byte[] back = new byte[img.length + 1];
            p.get(back);
            for (int i = 0; i < img.length; i++) assertEquals(img[i], back[i]);
            assertEquals(0, back[img.length]);
        }
    }
}
