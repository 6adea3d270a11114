package io.condense.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Compiles every cuda-kernels/*.cu with nvcc to a cubin for sm_80 and for sm_90 (no GPU needed) and fails on any
 * compile error or register spill. Skips when nvcc is not installed. Compiles run two at a time.
 */
class CudaKernelsCompileTest {
    static final List<String> ARCHS = List.of("sm_80", "sm_90");

    static Path findNvcc() {
        List<Path> c = new ArrayList<>();
        String env = System.getenv("NVCC");
        if (env != null) c.add(Path.of(env));
        String path = System.getenv("PATH");
        if (path != null) for (String d : path.split(java.io.File.pathSeparator)) if (!d.isEmpty()) c.add(Path.of(d, "nvcc"));
        c.add(Path.of("/usr/local/cuda/bin/nvcc"));
        c.add(Path.of("/usr/local/bin/nvcc"));
        for (Path p : c) if (Files.isExecutable(p)) return p;
        return null;
    }

    record Result(String file, String arch, int rc, String output) {}

    @TestFactory
    Stream<DynamicTest> everyKernelCompiles() throws Exception {
        Path nvcc = findNvcc();
        Assumptions.assumeTrue(nvcc != null, "nvcc not found on PATH, /usr/local/cuda/bin or /usr/local/bin: skipping the CUDA compile check");
        Path dir = Path.of("cuda-kernels");
        List<Path> sources;
        try (Stream<Path> s = Files.list(dir)) {
            sources = s.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
        }
        assertFalse(sources.isEmpty(), "no .cu files in " + dir.toAbsolutePath());
        Path out = Files.createTempDirectory("condense-cubin");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<Result>> jobs = new ArrayList<>();
        try {
            for (Path src : sources) {
                for (String arch : ARCHS) jobs.add(pool.submit(() -> compile(nvcc, src, arch, out)));
            }
            List<Result> results = new ArrayList<>();
            for (Future<Result> f : jobs) results.add(f.get(110, TimeUnit.SECONDS));
            return results.stream().map(r -> DynamicTest.dynamicTest(r.file() + " " + r.arch(), () -> {
                assertEquals(0, r.rc(), () -> "nvcc failed for " + r.file() + " (" + r.arch() + "):\n" + r.output());
                assertFalse(r.output().contains("spill"), () -> r.file() + " spills registers on " + r.arch() + ":\n" + r.output());
                assertTrue(Files.size(out.resolve(r.file() + "." + r.arch() + ".cubin")) > 0);
            }));
        } finally {
            pool.shutdownNow();
        }
    }

    static Result compile(Path nvcc, Path src, String arch, Path out) throws IOException, InterruptedException {
        String name = src.getFileName().toString();
        ProcessBuilder pb = new ProcessBuilder(nvcc.toString(), "-std=c++17", "-O3", "-arch=" + arch, "-cubin",
                "-Xptxas=-warn-spills", "-Werror", "all-warnings", "-o", out.resolve(name + "." + arch + ".cubin").toString(), src.toString());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(100, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(name, arch, -1, "timed out\n" + text);
        }
        return new Result(name, arch, p.exitValue(), text);
    }
}
