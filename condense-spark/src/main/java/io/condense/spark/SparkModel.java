package io.condense.spark;

import io.condense.ir.Graph;
import io.condense.onnx.OnnxExporter;
import io.condense.onnx.OnnxImporter;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.io.Serializable;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A model shipped to the executors: its ONNX bytes are broadcast once, and each executor JVM parses them once
 * (cached by SHA-256, shared by the tasks of that JVM). Serializable: tasks capture this handle, not the graph.
 */
public final class SparkModel implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final ConcurrentHashMap<String, Graph> PARSED = new ConcurrentHashMap<>();
    private static final java.util.concurrent.atomic.AtomicLong PARSES = new java.util.concurrent.atomic.AtomicLong();

    private final Broadcast<byte[]> bytes;
    private final String sha256;

    private SparkModel(Broadcast<byte[]> bytes, String sha256) {
        this.bytes = bytes;
        this.sha256 = sha256;
    }

    /** Broadcasts {@code g} as ONNX bytes. */
    public static SparkModel broadcast(JavaSparkContext sc, Graph g) { return broadcast(sc, OnnxExporter.toBytes(g)); }

    /** Broadcasts ONNX model bytes. */
    public static SparkModel broadcast(JavaSparkContext sc, byte[] onnx) {
        return new SparkModel(sc.broadcast(onnx), sha256(onnx));
    }

    public String sha256() { return sha256; }

    /** The model, parsed at most once per JVM. */
    public Graph graph() {
        return PARSED.computeIfAbsent(sha256, k -> {
            PARSES.incrementAndGet();
            return OnnxImporter.fromBytes(bytes.value(), null, "broadcast model " + k.substring(0, 12));
        });
    }

    /** How many times this JVM parsed a broadcast model (for tests: once per model and JVM). */
    public static long parsesInThisJvm() { return PARSES.get(); }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
