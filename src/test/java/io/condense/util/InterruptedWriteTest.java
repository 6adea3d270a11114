package io.condense.util;

import io.condense.onnx.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ctrl-C during a write leaves no partial output file; progress falls back to plain lines off a terminal. */
class InterruptedWriteTest {
    /** Child process: starts writing {@code args[0]} atomically, says so, then hangs mid-write. */
    public static void main(String[] args) {
        ModelFiles.writeAtomically(Path.of(args[0]), out -> {
            out.write(new byte[1 << 20]);
            out.flush();
            System.out.println("writing");
            System.out.flush();
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        });
    }

    @Test
    void sigintMidWriteLeavesNoFile(@TempDir Path tmp) throws Exception {
        Path target = tmp.resolve("model.onnx");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx64m", "-cp", System.getProperty("java.class.path"), InterruptedWriteTest.class.getName(), target.toString())
                .redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null && !line.equals("writing")) { /* JVM warnings */ }
            assertEquals("writing", line, "child started writing");
            assertTrue(Files.list(tmp).anyMatch(f -> f.getFileName().toString().endsWith(".tmp")), "a temp file exists mid-write");
            Process kill = new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start();
            assertEquals(0, kill.waitFor());
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                // A JVM started from a background job inherits SIGINT as ignored and keeps it so (HotSpot installs no
                // handler for an ignored SIGINT): there Ctrl-C cannot reach it at all. SIGTERM runs the same shutdown
                // hooks (java.lang.Terminator handles INT, TERM and HUP alike), so the clean-up is checked with it.
                assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor());
            }
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "child exits on SIGINT (or SIGTERM)");
        } finally {
            p.destroyForcibly();
        }
        try (var s = Files.list(tmp)) {
            List<Path> left = s.toList();
            assertTrue(left.isEmpty(), "nothing left behind: " + left);
        }
    }

    @Test
    void plainLinesOffATerminal() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (Progress p = Progress.lines("calibrate", 4, new PrintStream(buf, true, StandardCharsets.UTF_8), Duration.ofHours(1))) {
            for (int i = 0; i < 4; i++) p.step();
        }
        List<String> lines = buf.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(2, lines.size(), "first step and the end: " + lines);
        assertTrue(lines.get(0).startsWith("calibrate: 1/4 (25%)"), lines.get(0));
        assertTrue(lines.get(1).startsWith("calibrate: 4/4 (100%)"), lines.get(1));
        StringBuilder bar = new StringBuilder();
        try (Progress p = Progress.delegating("stage", 10, s -> bar.append(s).append('\n'))) {
            p.stepBy(10);
        }
        assertTrue(bar.toString().contains("stage") && bar.toString().contains("10/10"), bar.toString());
    }
}
