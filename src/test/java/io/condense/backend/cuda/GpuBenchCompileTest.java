package io.condense.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** benchmarks/gpu is not a Maven source root (it runs from the GPU payload): this keeps it compiling. */
class GpuBenchCompileTest {
    @Test
    void benchmarksCompile() throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        Assumptions.assumeTrue(javac != null, "no system Java compiler (running on a JRE): skipping");
        List<String> args = new ArrayList<>(List.of("--release", "17", "-proc:none", "-d",
                Files.createTempDirectory("gpubench").toString(), "-cp", System.getProperty("java.class.path")));
        try (Stream<Path> s = Files.walk(Path.of("benchmarks", "gpu"))) {
            s.filter(p -> p.toString().endsWith(".java")).forEach(p -> args.add(p.toString()));
        }
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, null, err, args.toArray(new String[0]));
        assertEquals(0, rc, err.toString());
    }
}
