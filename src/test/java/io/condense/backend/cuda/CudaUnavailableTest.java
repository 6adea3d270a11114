package io.condense.backend.cuda;

import io.condense.backend.Backend;
import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs everywhere: the CUDA backend is registered, says clearly why it cannot run when there is no GPU, and neither
 * its probe nor the CUDA presets disturb the CPU backend (ND4J) in the same JVM.
 */
class CudaUnavailableTest {
    @Test
    void registeredAfterCpuAndExplainsItself() {
        var names = Backends.all().stream().map(Backend::name).toList();
        assertTrue(names.contains("cpu") && names.contains("cuda"), names.toString());
        Backend cuda = Backends.all().stream().filter(b -> b.name().equals("cuda")).findFirst().orElseThrow();
        if (cuda.isAvailable()) return; // on a GPU machine CudaBackendTest covers the rest
        String reason = cuda.unavailableReason();
        assertFalse(reason.isBlank());
        assertFalse(reason.contains("\n"), reason);
        ModelException e = assertThrows(ModelException.class, () -> Backends.get("cuda"));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        assertEquals("cpu", Backends.get("auto").name());
    }

    @Test
    void noDriverMessage() {
        Throwable t = new UnsatisfiedLinkError("no jnicudart in java.library.path");
        t.initCause(new UnsatisfiedLinkError("/root/.javacpp/cache/x/libjnicudart.so: libcuda.so.1: cannot open shared object file: No such file or directory"));
        assertEquals("no NVIDIA driver: libcuda.so.1 not found", CudaRuntime.explainLoadFailure(t));
        Throwable rt = new UnsatisfiedLinkError("/x/libjnicublas.so: libcublasLt.so.13: cannot open shared object file: No such file or directory");
        assertTrue(CudaRuntime.explainLoadFailure(rt).startsWith("CUDA library libcublasLt.so.13 not found"));
        assertTrue(CudaRuntime.explainLoadFailure(new NoClassDefFoundError("org/bytedeco/cuda/global/cudart"))
                .startsWith("the CUDA presets (org.bytedeco:cuda) are not on the class path"));
    }

    @Test
    void probeIsRepeatableAndCpuStillRuns() {
        CudaRuntime.Status s1 = CudaRuntime.status();
        assertEquals(s1, CudaRuntime.status());
        if (!s1.available()) {
            CudaException e = assertThrows(CudaException.class, CudaRuntime::require);
            assertTrue(e.getMessage().contains(s1.reason()));
            assertThrows(CudaException.class, () -> DeviceBuffer.allocate(16));
        }
        // ND4J after the CUDA presets were (tried to be) loaded
        Graph g = Graph.builder()
                .addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, 4)))
                .addOutput(new ValueInfo("y", TensorType.of(DType.FLOAT32, 4)))
                .addNode(new Node("relu", "Relu", "", List.of("x"), List.of("y"), Map.of()))
                .opset("", 17)
                .build();
        try (Session s = Backends.cpu().open(g)) {
            Tensor y = s.run(Map.of("x", Tensor.of(new float[] {-1f, 2f, -0.5f, 3f}, 4))).get("y");
            assertArrayEquals(new float[] {0f, 2f, 0f, 3f}, (float[]) y.data());
        }
    }
}
