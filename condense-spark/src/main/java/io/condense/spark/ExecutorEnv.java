package io.condense.spark;

import org.apache.spark.SparkEnv;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Per-executor-JVM setup, done once before the first model runs there: JavaCPP's cache directory (where it
 * extracts the native libraries) is made private to the executor, so executors sharing a host never race on one
 * cache, and the CPU backend's thread count is set to the task's cores ({@code spark.task.cpus}).
 *
 * <p>Bit-for-bit equality with a single-process run needs the same thread count there (ND4J's reductions are
 * deterministic for a fixed thread count).
 */
public final class ExecutorEnv {
    private static boolean done;

    private ExecutorEnv() {}

    /** @param threads backend threads (the task's cores); {@code <= 0} leaves the thread count alone */
    public static synchronized void ensure(int threads) {
        if (done) return;
        done = true;
        if (System.getProperty("org.bytedeco.javacpp.cachedir") == null) {
            SparkEnv env = SparkEnv.get();
            String id = env == null ? "driver" : env.executorId();
            Path dir = Path.of(System.getProperty("java.io.tmpdir"), "condense-javacpp-" + id.replaceAll("[^A-Za-z0-9_.-]", "_"));
            try {
                Files.createDirectories(dir);
                // takes effect only if JavaCPP has not loaded yet in this JVM (in local mode the driver already did)
                System.setProperty("org.bytedeco.javacpp.cachedir", dir.toString());
            } catch (java.io.IOException e) {
                // the default cache (~/.javacpp/cache) still works
            }
        }
        if (threads > 0) io.condense.train.Threads.set(threads);
    }
}
