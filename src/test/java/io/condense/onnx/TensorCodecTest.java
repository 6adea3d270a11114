package io.condense.onnx;

import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorCodecTest {
    @Test
    void everyDtypeRoundTripsThroughRawData() {
        long[] shape = {3};
        for (DType t : DType.values()) {
            if (t == DType.STRING) continue;
            double[] vals = t == DType.BOOL ? new double[] {1, 0, 1}
                    : t.isSigned() ? new double[] {-2, 0, 3} : new double[] {2, 0, 3};
            Tensor in = Tensor.fromDoubles(t, shape, vals);
            Tensor out = TensorCodec.fromProto(TensorCodec.toProto(in, "x"));
            assertEquals(t, out.dtype());
            assertArrayEquals(in.toDoubleArray(), out.toDoubleArray(), 0, t.name());
        }
    }

    @Test
    void int4PacksLowNibbleFirstAsOnnxSpecifies() {
        Tensor t = Tensor.fromDoubles(DType.INT4, new long[] {3}, new double[] {-1, 7, -8});
        // -1 = 0xF (low nibble of byte 0), 7 = 0x7 (high nibble), -8 = 0x8 (low nibble of byte 1)
        assertArrayEquals(new byte[] {(byte) 0x7F, 0x08}, TensorCodec.rawBytes(t));
        TensorProto typed = TensorProto.newBuilder().setDataType(DType.UINT4.onnxCode()).addDims(3)
                .addInt32Data(0x7F).addInt32Data(0x08).build();
        assertArrayEquals(new double[] {15, 7, 8}, TensorCodec.fromProto(typed).toDoubleArray(), 0);
    }

    @Test
    void decodesTypedFields() {
        TensorProto f16 = TensorProto.newBuilder().setDataType(DType.FLOAT16.onnxCode()).addDims(2)
                .addInt32Data(0x3C00).addInt32Data(0xC000).build();
        assertArrayEquals(new double[] {1, -2}, TensorCodec.fromProto(f16).toDoubleArray(), 0);
        TensorProto u64 = TensorProto.newBuilder().setDataType(DType.UINT32.onnxCode()).addDims(1)
                .addUint64Data(4_000_000_000L).build();
        assertEquals(4_000_000_000L, TensorCodec.fromProto(u64).getLong(0));
        TensorProto str = TensorProto.newBuilder().setDataType(DType.STRING.onnxCode()).addDims(1)
                .addStringData(ByteString.copyFromUtf8("héllo")).build();
        assertEquals("héllo", ((String[]) TensorCodec.fromProto(str).data())[0]);
    }

    @Test
    void rejectsInconsistentData() {
        TensorProto shortRaw = TensorProto.newBuilder().setName("w").setDataType(1).addDims(4)
                .setRawData(ByteString.copyFrom(new byte[12])).build();
        ModelException e = assertThrows(ModelException.class, () -> TensorCodec.fromProto(shortRaw));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("12 bytes"), e.getMessage());
        TensorProto huge = TensorProto.newBuilder().setName("h").setDataType(1).addDims(1_000_000_000L).addDims(1_000_000_000L).build();
        assertThrows(ModelException.class, () -> TensorCodec.fromProto(huge));
        TensorProto bad = TensorProto.newBuilder().setDataType(14).addDims(1).build();
        assertThrows(ModelException.class, () -> TensorCodec.fromProto(bad));
    }

    @Test
    void readsExternalDataAndRefusesToLeaveTheModelFolder(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve("w.bin"), TensorCodec.rawBytes(Tensor.of(new float[] {9, 1, 2, 3}, 4)));
        TensorProto ext = TensorProto.newBuilder().setName("w").setDataType(1).addDims(3)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(kv("location", "w.bin")).addExternalData(kv("offset", "4")).addExternalData(kv("length", "12"))
                .build();
        assertArrayEquals(new float[] {1, 2, 3}, TensorCodec.fromProto(ext, dir).toFloatArray());
        TensorProto escape = ext.toBuilder().setExternalData(0, kv("location", "../../etc/passwd")).build();
        assertThrows(ModelException.class, () -> TensorCodec.fromProto(escape, dir));
        TensorProto past = ext.toBuilder().setExternalData(1, kv("offset", "8")).build();
        ModelException e = assertThrows(ModelException.class, () -> TensorCodec.fromProto(past, dir));
        assertTrue(e.getMessage().contains("outside"), e.getMessage());
    }

    @Test
    void modelRoundTripKeepsAttributesTypesAndMetadata(@TempDir Path dir) {
        Node n = new Node("conv", "Conv", "", List.of("x", "w"), List.of("y"), Map.of(
                "pads", Attribute.of(1L, 1L, 1L, 1L), "auto_pad", Attribute.of("NOTSET"), "alpha", Attribute.of(0.5f),
                "group", Attribute.of(1L), "scales", Attribute.of(new float[] {1f, 2f}),
                "value", Attribute.of(Tensor.of(new long[] {4, 5}, 2)), "names", Attribute.ofStrings(List.of("a", "b"))));
        Graph g = Graph.builder().name("g")
                .addInput(new ValueInfo("x", new TensorType(DType.FLOAT32, List.of(Dim.symbol("N"), Dim.of(3), Dim.of(8), Dim.of(8)))))
                .addOutput(new ValueInfo("y", TensorType.unknown()))
                .initializer("w", Tensor.zeros(DType.FLOAT32, 4, 3, 3, 3))
                .addNode(n).opset("", 13).opset("com.microsoft", 1).metadata("condense.recipe", "none").build();
        Path f = dir.resolve("m.onnx");
        OnnxExporter.save(g, f);
        Graph back = OnnxImporter.load(f);
        assertEquals(g.opsets(), back.opsets());
        assertEquals(g.metadata(), back.metadata());
        assertEquals(g.inputs(), back.inputs());
        Node m = back.nodes().get(0);
        assertArrayEquals(new long[] {1, 1, 1, 1}, m.attrLongs("pads", null));
        assertEquals("NOTSET", m.attrString("auto_pad", ""));
        assertEquals(0.5f, m.attrFloat("alpha", 0));
        assertArrayEquals(new float[] {1f, 2f}, m.attrFloats("scales", null));
        assertArrayEquals(new long[] {4, 5}, m.attr("value").asTensor().toLongArray());
        assertEquals(List.of("a", "b"), m.attr("names").asStrings());
        assertArrayEquals(new long[] {4, 3, 3, 3}, back.initializers().get("w").shape());
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temp file left behind");
        } catch (java.io.IOException e) {
            throw new RuntimeException(e);
        }
    }

    @Test
    void rejectsEmptyCorruptAndMissingFiles(@TempDir Path dir) throws Exception {
        Path empty = Files.write(dir.resolve("empty.onnx"), new byte[0]);
        assertTrue(assertThrows(ModelException.class, () -> OnnxImporter.load(empty)).getMessage().contains("empty"));
        Path junk = Files.write(dir.resolve("junk.onnx"), new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x01});
        assertTrue(assertThrows(ModelException.class, () -> OnnxImporter.load(junk)).getMessage().contains("not a valid ONNX model"));
        ModelException missing = assertThrows(ModelException.class, () -> OnnxImporter.load(dir.resolve("nope.onnx")));
        assertTrue(missing.getMessage().contains("not found"), missing.getMessage());
    }

    private static StringStringEntryProto kv(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }
}
