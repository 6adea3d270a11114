package io.condense.cli;

import io.condense.TestData;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CLI runs on the runtime classpath alone (what `./mvnw package` copies to target/lib): test-scoped libraries
 * (DL4J, Spark) share dependencies with ND4J, and Maven's nearest-wins mediation once gave those test scope, so the
 * suite passed while `condense` failed with NoClassDefFoundError. A child JVM runs `info` and `quantize` on mnist-8.
 */
class CliRuntimeClasspathTest {
    @Test
    void infoAndQuantizeRunOnTheRuntimeClasspath(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path cpFile = Path.of("target", "runtime-classpath.txt");
        Assumptions.assumeTrue(Files.isRegularFile(cpFile), "target/runtime-classpath.txt is written by the Maven build");
        Path model = TestData.require("onnx/models/mnist-8/model.onnx");
        String cp = Path.of("target", "classes") + java.io.File.pathSeparator + Files.readString(cpFile).strip();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (String[] args : new String[][] {
                {"info", model.toString()},
                {"quantize", model.toString(), "--calib", model.resolveSibling("test_data_set_0").resolve("input_0.pb").toString(), "-o", dir.resolve("q.onnx").toString()}}) {
            String[] cmd = new String[args.length + 6];
            cmd[0] = java; cmd[1] = "-Xmx512m"; cmd[2] = "-Xss4m"; cmd[3] = "-cp"; cmd[4] = cp; cmd[5] = Main.class.getName();
            System.arraycopy(args, 0, cmd, 6, args.length);
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), String.join(" ", args) + ":\n" + out);
            assertTrue(!out.contains("NoClassDefFoundError"), out);
        }
        assertTrue(Files.size(dir.resolve("q.onnx")) > 0);
    }
}
