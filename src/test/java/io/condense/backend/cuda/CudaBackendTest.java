package io.condense.backend.cuda;

import io.condense.backend.Backends;
import io.condense.backend.Session;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The runtime layer on a real GPU: detection, memory, copies, error names, module loading, NVRTC, a session. */
@Tag("gpu")
class CudaBackendTest {
    @Test
    void detectsTheDevice() {
        CudaDevice d = Gpu.require();
        assertTrue(d.major() >= 7, d.toString());
        assertTrue(d.totalMemory() > (1L << 30), d.toString());
        assertTrue(d.multiprocessors() > 0 && !d.name().isBlank(), d.toString());
        long[] mem = CudaRuntime.memInfo();
        assertTrue(mem[0] > 0 && mem[0] <= mem[1] && mem[1] <= d.totalMemory() + (1L << 20), java.util.Arrays.toString(mem));
        assertTrue(CudaRuntime.status().driverVersion() >= 13000, "driver " + CudaRuntime.status().driverVersion());
    }

    @Test
    void copiesRoundTrip() {
        Gpu.require();
        float[] a = new float[1 << 20];
        for (int i = 0; i < a.length; i++) a[i] = i * 0.5f - 7;
        try (DeviceBuffer b = DeviceBuffer.allocate(4L * a.length); DeviceBuffer c = DeviceBuffer.allocate(4L * a.length);
             PinnedBuffer h = new PinnedBuffer(4L * a.length); CudaStream s = new CudaStream()) {
            h.put(a);
            CudaMemory.uploadAsync(b, h, 4L * a.length, s);
            CudaMemory.copy(c, b, 4L * a.length, s);
            float[] zeros = new float[a.length];
            h.put(zeros);
            CudaMemory.downloadAsync(h, c, 4L * a.length, s);
            s.synchronize();
            float[] back = new float[a.length];
            h.get(back);
            assertArrayEquals(a, back);
        }
    }

    @Test
    void poolReusesDeviceMemory() {
        Gpu.require();
        try (PoolAllocator p = new PoolAllocator(CudaMemory.RAW)) {
            long x = p.allocate(1 << 20);
            p.release(x);
            assertEquals(x, p.allocate((1 << 20) - 100));
            assertEquals(1, p.stats().rawAllocations());
        }
    }

    @Test
    void errorsCarryTheirNames() {
        Gpu.require();
        CudaException oom = assertThrows(CudaException.class, () -> DeviceBuffer.allocate(1L << 50));
        assertEquals("cudaErrorMemoryAllocation", oom.errorName(), oom.getMessage());
        assertTrue(oom.getMessage().contains("cudaMalloc"), oom.getMessage());
        CudaException bad = assertThrows(CudaException.class,
                () -> CudaModule.load("garbage", "this is not a cubin".getBytes(StandardCharsets.US_ASCII)));
        assertTrue(bad.errorName().startsWith("CUDA_ERROR_"), bad.getMessage());
    }

    @Test
    void nvrtcCompilesAndLaunches() {
        CudaDevice d = Gpu.require();
        String src = "extern \"C\" __global__ void saxpy(float a, const float* x, float* y, long long n) {"
                + " long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = a * x[i] + y[i]; }";
        int n = 1000;
        float[] x = new float[n], y = new float[n];
        for (int i = 0; i < n; i++) { x[i] = i; y[i] = 1; }
        try (CudaModule m = CudaModule.compile("saxpy.cu", src, d); DeviceBuffer dx = Gpu.up(x); DeviceBuffer dy = Gpu.up(y);
             KernelArgs a = new KernelArgs().f32(2f).ptr(dx).ptr(dy).i64(n)) {
            m.launch("saxpy", LaunchConfig.elementwise(n, 256, 1, d.multiprocessors(), 4), null, a);
            float[] out = Gpu.floats(dy, n);
            for (int i = 0; i < n; i++) assertEquals(2f * i + 1, out[i]);
        }
        CudaException e = assertThrows(CudaException.class, () -> Nvrtc.compileToCubin("bad.cu", "__global__ void k() { undefined_thing(); }", d.arch()));
        assertTrue(e.getMessage().contains("undefined_thing"), e.getMessage());
    }

    /** The run-time alternative to the fatbins: every cuda-kernels/*.cu compiles with NVRTC and its kernels resolve. */
    @Test
    void everyKernelSourceCompilesWithNvrtc() throws Exception {
        CudaDevice d = Gpu.require();
        java.nio.file.Path src = CudaKernels.sourceDirectory();
        org.junit.jupiter.api.Assumptions.assumeTrue(src != null, "cuda-kernels/ sources not found from " + java.nio.file.Path.of("").toAbsolutePath());
        Map<String, String> kernels = KernelSignatureTest.parseKernels();
        for (String module : CudaKernels.MODULES) {
            try (CudaModule m = CudaModule.load(module + " (NVRTC)", CudaKernels.compileWithNvrtc(module, src, d))) {
                for (String k : kernels.keySet()) if (k.startsWith(module + ".")) m.function(k.substring(module.length() + 1));
            }
        }
    }

    @Test
    void autoPicksCudaAndRunsAGraph() {
        Gpu.requireKernels();
        assertEquals("cuda", Backends.get("auto").name());
        Graph g = Graph.builder().opset("", 17)
                .addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, 5)))
                .addOutput(new ValueInfo("y", TensorType.of(DType.FLOAT32, 5)))
                .addNode(new Node("r", "Relu", "", List.of("x"), List.of("y"), Map.of()))
                .build();
        try (Session s = Backends.get("cuda").open(g)) {
            for (int rep = 0; rep < 3; rep++) {
                Tensor y = s.run(Map.of("x", Tensor.of(new float[] {-1, 2, -3, 4, Float.NaN}, 5))).get("y");
                float[] v = (float[]) y.data();
                assertArrayEquals(new float[] {0, 2, 0, 4}, java.util.Arrays.copyOf(v, 4));
                assertTrue(Float.isNaN(v[4]));
            }
        }
        Graph bad = Graph.builder().opset("", 17)
                .addInput(new ValueInfo("x", TensorType.of(DType.FLOAT32, 5)))
                .addOutput(new ValueInfo("y", TensorType.unknown()))
                .addNode(new Node("s", "Softmax", "", List.of("x"), List.of("y"), Map.of()))
                .build();
        ModelException e = assertThrows(ModelException.class, () -> Backends.get("cuda").open(bad));
        assertTrue(e.getMessage().contains("Softmax") && e.getMessage().contains("'s'") || e.getMessage().contains("Softmax"), e.getMessage());
    }
}
