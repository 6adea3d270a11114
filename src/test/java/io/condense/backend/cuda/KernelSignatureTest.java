package io.condense.backend.cuda;

import io.condense.backend.cuda.ref.ChannelLayout;
import io.condense.backend.cuda.ref.QRange;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Without a GPU: every launch the Java side makes passes exactly the argument kinds (pointer / int / long long /
 * float, in order) that the kernel's C signature in cuda-kernels/*.cu declares. A mismatch here would be silent
 * garbage on a GPU.
 */
class KernelSignatureTest {
    /** "module.kernel" -> "(ptr, i32, ...)" parsed from the extern "C" __global__ functions. */
    static Map<String, String> parseKernels() throws IOException {
        Map<String, String> sig = new HashMap<>();
        Pattern p = Pattern.compile("__global__\\s+void\\s+(?:__launch_bounds__\\([^)]*\\)\\s+)?(\\w+)\\s*\\(([^)]*)\\)", Pattern.DOTALL);
        try (Stream<Path> s = Files.list(Path.of("cuda-kernels"))) {
            for (Path f : s.filter(x -> x.toString().endsWith(".cu")).toList()) {
                String module = f.getFileName().toString().replace(".cu", "");
                Matcher m = p.matcher(Files.readString(f));
                while (m.find()) {
                    List<String> kinds = new ArrayList<>();
                    for (String param : m.group(2).split(",")) {
                        String t = param.trim();
                        if (t.isEmpty()) continue;
                        kinds.add(t.contains("*") ? "ptr" : t.contains("long long") ? "i64" : t.startsWith("float") ? "f32"
                                : t.startsWith("int") || t.startsWith("unsigned") ? "i32" : "?" + t);
                    }
                    sig.put(module + "." + m.group(1), "(" + String.join(", ", kinds) + ")");
                }
            }
        }
        return sig;
    }

    @Test
    void quantKernelLaunchersMatchTheKernels() throws IOException {
        Map<String, String> kernels = parseKernels();
        assertTrue(kernels.size() >= 25, kernels.toString());
        Map<String, String> seen = new HashMap<>();
        CudaQuantKernels.Launcher rec = new CudaQuantKernels.Launcher() {
            @Override
            public void launch(String module, String kernel, LaunchConfig cfg, CudaStream stream, KernelArgs args) {
                seen.put(module + "." + kernel, args.signature());
            }

            @Override
            public void memset(DeviceBuffer dst, int value, long bytes, CudaStream stream) {}
        };
        long[] next = {0x10000};
        try (PoolAllocator pool = new PoolAllocator(new PoolAllocator.RawAllocator() {
            @Override
            public long allocate(long bytes) { long a = next[0]; next[0] += bytes; return a; }

            @Override
            public void free(long address) {}
        })) {
            DeviceBuffer b = DeviceBuffer.pooled(pool, 1 << 20);
            CudaDevice dev = new CudaDevice(0, "fake", 9, 0, 80L << 30, 132, 50 << 20, 227 << 10, 1024);
            CudaQuantKernels k = new CudaQuantKernels(dev, null, rec);
            ChannelLayout pt = ChannelLayout.perTensor(1000), pc = ChannelLayout.of(new long[] {8, 16, 9}, 1);
            k.fakeQuantForward(b, b, b, b, pc, QRange.INT8);
            k.fakeQuantBackwardSte(b, b, b, b, b, pc, QRange.INT4);
            k.fakeQuantBackwardLsq(b, b, b, b, b, null, pc, QRange.INT4, 0.1f);
            k.absMax(b, b, pt);
            k.absMax(b, b, pc);
            k.histogram(b, 1000, 2f, 2048, b);
            k.quantizePerChannel(b, b, b, b, pc, QRange.INT8);
            k.dequantizePerChannel(b, b, b, b, pc, false);
            k.quantizeBlocked(b, b, b, 4, 64, 32, QRange.INT8);
            k.quantizeInt4Packed(b, b, b, b, pc, QRange.INT4);
            k.dequantizeInt4Packed(b, b, b, b, pc, true);
            k.sparse24Prune(b, b, b, 1024);
            k.sparse24Compress(b, b, b, 4, 64);
            k.sparse24GatherS8(b, b, b, 4, 64);
            k.int8Gemm(b, b, b, b, b, 16, 16, 64);
            k.int8GemmMma(b, b, b, b, b, 16, 16, 64);
            k.int8GemmSparse24(b, b, b, b, b, b, 16, 16, 64);
        }
        assertEquals(17, seen.size(), seen.keySet().toString());
        for (Map.Entry<String, String> e : seen.entrySet()) {
            assertTrue(kernels.containsKey(e.getKey()), "no kernel " + e.getKey() + " in cuda-kernels/");
            assertEquals(kernels.get(e.getKey()), e.getValue(), "arguments of " + e.getKey());
        }
    }

    /** The KernelArgs chains written inline (CudaSession, benchmarks) against the kernel they launch. */
    @Test
    void inlineLaunchesMatchTheKernels() throws IOException {
        Map<String, String> kernels = parseKernels();
        Pattern chain = Pattern.compile("new KernelArgs\\(\\)((?:\\s*\\.(?:ptr|i32|i64|f32)\\((?:[^()]|\\([^()]*\\))*\\))+)");
        Pattern call = Pattern.compile("\\.(ptr|i32|i64|f32)\\(");
        Pattern target = Pattern.compile("(?:module\\(\"(\\w+)\"\\)\\.launch\\(\"(\\w+)\"|launch\\(\"(\\w+)\", \"(\\w+)\")");
        TreeSet<String> checked = new TreeSet<>();
        for (Path f : List.of(Path.of("src/main/java/io/condense/backend/cuda/CudaSession.java"),
                Path.of("benchmarks/gpu/io/condense/bench/GpuBench.java"))) {
            String src = Files.readString(f);
            Matcher m = chain.matcher(src);
            while (m.find()) {
                List<String> kinds = new ArrayList<>();
                Matcher c = call.matcher(m.group(1));
                while (c.find()) kinds.add(c.group(1));
                Matcher t = target.matcher(src);
                assertTrue(t.find(m.end()), "no launch after the KernelArgs at " + f + ":" + m.start());
                String key = t.group(1) != null ? t.group(1) + "." + t.group(2) : t.group(3) + "." + t.group(4);
                assertTrue(kernels.containsKey(key), "no kernel " + key + " (" + f + ")");
                assertEquals(kernels.get(key), "(" + String.join(", ", kinds) + ")", "arguments of " + key + " in " + f);
                checked.add(key);
            }
        }
        assertTrue(checked.size() >= 12, checked.toString());
    }
}
