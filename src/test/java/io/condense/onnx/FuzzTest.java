package io.condense.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import com.google.protobuf.ByteString;
import io.condense.TestData;
import io.condense.ir.Graph;
import io.condense.ir.GraphValidator;
import io.condense.ir.ModelException;
import io.condense.ir.ShapeInference;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 1,000 seeded mutations of real models (mnist-8 and the QLinearConv node test): random truncations, byte
 * overwrites, inserted garbage, and structure-aware edits (tensor dims/types/data, attribute kinds, names,
 * external data). Each mutant must either import and validate (then also survive shape inference and
 * re-export) or fail with a {@link ModelException} whose message is one non-empty line, and whose cause is
 * not an internal error (NullPointerException, index out of bounds, ...) that the importer's catch-all hid.
 * Never any other exception, OutOfMemoryError, or hang.
 */
class FuzzTest {
    static final int MUTANTS = 1000;

    @Test
    void mutatedModelsFailCleanly() throws Exception {
        byte[] mnist = Files.readAllBytes(TestData.require("onnx/models/mnist-8/model.onnx"));
        byte[] qconv = Files.readAllBytes(TestData.require("onnx/node/test_qlinearconv/model.onnx"));
        Path baseDir = Files.createTempDirectory("fuzz");
        Files.write(baseDir.resolve("weights.bin"), new byte[4096]);
        List<String> problems = new ArrayList<>();
        int[] outcome = new int[2]; // imported, rejected
        long t0 = System.nanoTime();
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (int i = 0; i < MUTANTS; i++) {
                Random r = new Random(1000L + i);
                byte[] seed = i % 2 == 0 ? mnist : qconv;
                int kind = (i / 2) % 4;
                byte[] m = switch (kind) {
                    case 0 -> truncate(seed, r);
                    case 1 -> overwrite(seed, r);
                    case 2 -> insert(seed, r);
                    default -> structured(seed, r);
                };
                String what = "mutant " + i + " (" + new String[] {"truncate", "overwrite", "insert", "structured"}[kind] + ")";
                long s = System.nanoTime();
                try {
                    Graph g = OnnxImporter.fromBytes(m, baseDir, "model");
                    GraphValidator.validate(g);
                    try {
                        ShapeInference.infer(g);
                    } catch (ModelException e) {
                        checkMessage(e, what + " shape inference", problems);
                    }
                    OnnxImporter.fromBytes(OnnxExporter.toBytes(g), baseDir, "re-export");
                    outcome[0]++;
                } catch (ModelException e) {
                    checkMessage(e, what, problems);
                    outcome[1]++;
                } catch (Throwable e) {
                    problems.add(what + ": " + e);
                }
                long ms = (System.nanoTime() - s) / 1_000_000;
                if (ms > 5_000) problems.add(what + ": took " + ms + " ms");
            }
        });
        long total = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("fuzz: " + outcome[0] + " imported, " + outcome[1] + " rejected, " + total + " ms");
        assertEquals(List.of(), problems.subList(0, Math.min(problems.size(), 20)), problems.size() + " problems");
        assertEquals(MUTANTS, outcome[0] + outcome[1]);
        assertTrue(outcome[0] > 0 && outcome[1] > 0, "both outcomes occur: " + outcome[0] + "/" + outcome[1]);
    }

    static void checkMessage(ModelException e, String what, List<String> problems) {
        String msg = e.getMessage();
        if (msg == null || msg.isBlank() || msg.chars().anyMatch(c -> c < 0x20 || c == 0x7F || c == 0x2028 || c == 0x2029)) {
            problems.add(what + ": message is not one line: " + msg);
        }
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            if (c instanceof ModelException || c instanceof com.google.protobuf.InvalidProtocolBufferException) continue;
            if (c instanceof RuntimeException || c instanceof Error) {
                StackTraceElement top = c.getStackTrace().length > 0 ? c.getStackTrace()[0] : null;
                problems.add(what + ": internal error behind the message '" + msg + "': " + c + " at " + top);
            }
        }
    }

    static byte[] truncate(byte[] b, Random r) {
        return java.util.Arrays.copyOf(b, r.nextInt(b.length));
    }

    static byte[] overwrite(byte[] b, Random r) {
        byte[] m = b.clone();
        int n = 1 + r.nextInt(8);
        for (int k = 0; k < n; k++) {
            int p = r.nextInt(m.length);
            m[p] = switch (r.nextInt(4)) {
                case 0 -> (byte) (m[p] ^ (1 << r.nextInt(8)));
                case 1 -> (byte) 0xFF;
                case 2 -> 0;
                default -> (byte) r.nextInt(256);
            };
        }
        return m;
    }

    static byte[] insert(byte[] b, Random r) {
        int p = r.nextInt(b.length + 1);
        byte[] junk = new byte[1 + r.nextInt(32)];
        r.nextBytes(junk);
        byte[] m = new byte[b.length + junk.length];
        System.arraycopy(b, 0, m, 0, p);
        System.arraycopy(junk, 0, m, p, junk.length);
        System.arraycopy(b, p, m, p + junk.length, b.length - p);
        return m;
    }

    static final long[] ABSURD = {-1, -7, 0, 1, 3, 1L << 28, 1L << 30, 1L << 31, 1L << 40, Long.MAX_VALUE, Long.MIN_VALUE, Integer.MAX_VALUE, 65536};
    static final int[] TYPES = {0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 21, 22, 23, 99, -3};

    /** Parses, edits one field of the model in a way a corrupt or hostile file could, and re-serializes. */
    static byte[] structured(byte[] b, Random r) throws Exception {
        ModelProto.Builder m = ModelProto.parseFrom(b).toBuilder();
        int edits = 1 + r.nextInt(3);
        for (int e = 0; e < edits; e++) edit(m, r);
        byte[] out = m.build().toByteArray();
        return r.nextInt(4) == 0 ? overwrite(out, r) : out;
    }

    static void edit(ModelProto.Builder m, Random r) {
        GraphProto.Builder g = m.getGraphBuilder();
        if (g.getNodeCount() == 0) return;
        int choice = r.nextInt(13);
        if (g.getInitializerCount() == 0 && choice < 5) choice += 5;
        switch (choice) {
            case 0 -> { // dims
                TensorProto.Builder t = g.getInitializerBuilder(r.nextInt(g.getInitializerCount()));
                if (t.getDimsCount() == 0 || r.nextBoolean()) t.addDims(ABSURD[r.nextInt(ABSURD.length)]);
                else t.setDims(r.nextInt(t.getDimsCount()), ABSURD[r.nextInt(ABSURD.length)]);
            }
            case 1 -> g.getInitializerBuilder(r.nextInt(g.getInitializerCount())).setDataType(TYPES[r.nextInt(TYPES.length)]);
            case 2 -> { // move data between raw and typed fields / drop it
                TensorProto.Builder t = g.getInitializerBuilder(r.nextInt(g.getInitializerCount()));
                switch (r.nextInt(4)) {
                    case 0 -> t.clearRawData();
                    case 1 -> t.setRawData(ByteString.copyFrom(new byte[r.nextInt(64)]));
                    case 2 -> { for (int k = 0; k < 5; k++) t.addFloatData(k); t.addInt64Data(3); }
                    default -> t.clearRawData().addStringData(ByteString.copyFromUtf8("x"));
                }
            }
            case 3 -> { // external data pointing anywhere
                TensorProto.Builder t = g.getInitializerBuilder(r.nextInt(g.getInitializerCount()));
                t.clearRawData().setDataLocation(TensorProto.DataLocation.EXTERNAL);
                String[] loc = {"weights.bin", "../../etc/passwd", "/etc/passwd", "missing.bin", "", "."};
                t.addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(loc[r.nextInt(loc.length)]));
                String[] nums = {"0", "-5", "4000", "999999999999", "abc", String.valueOf(Long.MAX_VALUE)};
                if (r.nextBoolean()) t.addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue(nums[r.nextInt(nums.length)]));
                if (r.nextBoolean()) t.addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue(nums[r.nextInt(nums.length)]));
            }
            case 4 -> g.getInitializerBuilder(r.nextInt(g.getInitializerCount())).setName(r.nextBoolean() ? "" : g.getInitializer(0).getName());
            case 5 -> { // attribute kind/value confusion
                NodeProto.Builder n = g.getNodeBuilder(r.nextInt(g.getNodeCount()));
                AttributeProto.Builder a = AttributeProto.newBuilder().setName(new String[] {"kernel_shape", "pads", "strides", "group", "axis", "to", "value", "perm"}[r.nextInt(8)]);
                switch (r.nextInt(5)) {
                    case 0 -> a.setType(AttributeProto.AttributeType.INT).setI(ABSURD[r.nextInt(ABSURD.length)]);
                    case 1 -> a.setType(AttributeProto.AttributeType.INTS).addInts(ABSURD[r.nextInt(ABSURD.length)]).addInts(-1);
                    case 2 -> a.setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8("SAME_UPPER"));
                    case 3 -> a.setType(AttributeProto.AttributeType.TENSOR).setT(TensorProto.newBuilder().setDataType(1).addDims(ABSURD[r.nextInt(ABSURD.length)]));
                    default -> a.setType(AttributeProto.AttributeType.UNDEFINED);
                }
                n.addAttribute(a);
            }
            case 6 -> { // rewire a node input to something else or nothing
                NodeProto.Builder n = g.getNodeBuilder(r.nextInt(g.getNodeCount()));
                if (n.getInputCount() > 0) n.setInput(r.nextInt(n.getInputCount()), r.nextBoolean() ? "" : "ghost");
            }
            case 7 -> { // duplicate an output name
                NodeProto.Builder n = g.getNodeBuilder(r.nextInt(g.getNodeCount()));
                n.setOutput(0, g.getNode(r.nextInt(g.getNodeCount())).getOutput(0));
            }
            case 8 -> { // input type: odd element types and dims
                var t = g.getInputBuilder(0).getTypeBuilder().getTensorTypeBuilder();
                t.setElemType(TYPES[r.nextInt(TYPES.length)]);
                t.getShapeBuilder().addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(ABSURD[r.nextInt(ABSURD.length)]));
            }
            case 9 -> { // drop nodes, making a dangling graph
                int k = r.nextInt(g.getNodeCount());
                g.removeNode(k);
            }
            case 10 -> { // opset imports
                m.clearOpsetImport();
                m.addOpsetImport(ai.onnx.proto.OnnxMl.OperatorSetIdProto.newBuilder().setVersion(ABSURD[r.nextInt(ABSURD.length)]));
            }
            case 11 -> { // control characters in names
                NodeProto.Builder n = g.getNodeBuilder(r.nextInt(g.getNodeCount()));
                n.setName("evil\nname\r" + n.getName());
                if (r.nextBoolean() && n.getInputCount() > 0) n.setInput(0, "in\nput");
            }
            default -> { // cycle: first node reads the last node's output
                NodeProto.Builder n = g.getNodeBuilder(0);
                if (n.getInputCount() > 0) n.setInput(0, g.getNode(g.getNodeCount() - 1).getOutput(0));
                else g.clearOutput();
            }
        }
    }
}
