package io.condense.io;

import io.condense.ir.DType;
import io.condense.ir.Half;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NpyTest {
    /** A .npy file built byte by byte as the NEP 1 format description specifies it. */
    private static byte[] npy(int major, String dict, byte[] data) {
        int lenBytes = major == 1 ? 2 : 4;
        int prefix = 6 + 2 + lenBytes;
        int total = prefix + dict.length() + 1;
        int padded = (total + 63) / 64 * 64;
        String header = dict + " ".repeat(padded - total) + "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x93);
        out.writeBytes("NUMPY".getBytes(StandardCharsets.US_ASCII));
        out.write(major);
        out.write(0);
        int hl = header.length();
        out.write(hl & 0xFF);
        out.write((hl >> 8) & 0xFF);
        if (lenBytes == 4) {
            out.write((hl >> 16) & 0xFF);
            out.write((hl >> 24) & 0xFF);
        }
        out.writeBytes(header.getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(data);
        return out.toByteArray();
    }

    private static byte[] le(int bytesPer, long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * bytesPer).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            switch (bytesPer) {
                case 1 -> b.put((byte) v);
                case 2 -> b.putShort((short) v);
                case 4 -> b.putInt((int) v);
                default -> b.putLong(v);
            }
        }
        return b.array();
    }

    @Test
    void readsHandMadeFloat32File() {
        // numpy.save of np.array([[1.5, -2.0, 0.25], [3.0, 4.0, -0.5]], dtype='<f4')
        ByteBuffer d = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : new float[] {1.5f, -2f, 0.25f, 3f, 4f, -0.5f}) d.putFloat(f);
        byte[] file = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", d.array());
        assertEquals(128 + 24, file.length, "header is padded to a multiple of 64 bytes");
        Tensor t = Npy.fromBytes(file, "test");
        assertEquals(DType.FLOAT32, t.dtype());
        assertArrayEquals(new long[] {2, 3}, t.shape());
        assertArrayEquals(new float[] {1.5f, -2f, 0.25f, 3f, 4f, -0.5f}, (float[]) t.data());
    }

    @Test
    void readsEveryDtypeAndVersion() {
        assertArrayEquals(new long[] {-1, 2, Long.MAX_VALUE}, Npy.fromBytes(npy(1,
                "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", le(8, -1, 2, Long.MAX_VALUE)), "t").toLongArray());
        Tensor i4 = Npy.fromBytes(npy(2, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 1), }", le(4, -7, 9)), "t");
        assertEquals(DType.INT32, i4.dtype());
        assertArrayEquals(new int[] {-7, 9}, (int[]) i4.data());
        Tensor i2 = Npy.fromBytes(npy(3, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }", le(2, -300, 300)), "t");
        assertEquals(DType.INT16, i2.dtype());
        assertArrayEquals(new long[] {-300, 300}, i2.toLongArray());
        Tensor u1 = Npy.fromBytes(npy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", le(1, 255, 7)), "t");
        assertEquals(DType.UINT8, u1.dtype());
        assertArrayEquals(new long[] {255, 7}, u1.toLongArray());
        Tensor i1 = Npy.fromBytes(npy(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }", le(1, -128, 7)), "t");
        assertArrayEquals(new long[] {-128, 7}, i1.toLongArray());
        Tensor b1 = Npy.fromBytes(npy(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", le(1, 1, 0, 1)), "t");
        assertEquals(DType.BOOL, b1.dtype());
        assertArrayEquals(new long[] {1, 0, 1}, b1.toLongArray());
        Tensor f8 = Npy.fromBytes(npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
                le(8, Double.doubleToLongBits(Math.PI))), "t");
        assertEquals(Math.PI, f8.getDouble(0));
        // float16: 1.0 = 0x3C00, -2.0 = 0xC000
        Tensor f2 = Npy.fromBytes(npy(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", le(2, 0x3C00, 0xC000)), "t");
        assertEquals(DType.FLOAT16, f2.dtype());
        assertArrayEquals(new double[] {1.0, -2.0}, f2.toDoubleArray());
        // a scalar: shape ()
        Tensor s = Npy.fromBytes(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
                le(4, Float.floatToIntBits(7f))), "t");
        assertEquals(0, s.rank());
        assertEquals(7f, s.getDouble(0));
        // key order is free; an empty array
        Tensor e = Npy.fromBytes(npy(1, "{'shape': (0, 4), 'fortran_order': False, 'descr': '<f4'}", new byte[0]), "t");
        assertArrayEquals(new long[] {0, 4}, e.shape());
    }

    @Test
    void roundTripsThroughFiles(@TempDir Path dir) {
        Tensor[] ts = {
                Tensor.of(new float[] {1, -2.5f, 3e-8f, Float.MAX_VALUE, Float.NaN, 0}, 2, 3),
                Tensor.of(new double[] {Math.E, -1}, 2),
                Tensor.of(new int[] {Integer.MIN_VALUE, 0, 5}, 3, 1, 1),
                Tensor.of(new long[] {Long.MIN_VALUE, 42}, 1, 2),
                Tensor.of(DType.INT8, new long[] {3}, new byte[] {-128, 0, 127}),
                Tensor.of(DType.UINT8, new long[] {2}, new byte[] {(byte) 255, 1}),
                Tensor.of(DType.BOOL, new long[] {2, 2}, new byte[] {1, 0, 0, 1}),
                Tensor.of(DType.INT16, new long[] {2}, new short[] {-5, 5}),
                Tensor.of(DType.FLOAT16, new long[] {2}, new short[] {Half.fromFloat(0.5f), Half.fromFloat(-3f)}),
                Tensor.of(new float[] {9}),
                Tensor.of(new float[0], 0, 3),
        };
        for (int i = 0; i < ts.length; i++) {
            Path f = dir.resolve("t" + i + ".npy");
            Npy.write(ts[i], f);
            Tensor back = Npy.read(f);
            assertEquals(ts[i].dtype(), back.dtype(), "dtype " + i);
            assertArrayEquals(ts[i].shape(), back.shape(), "shape " + i);
            assertArrayEquals(ts[i].toDoubleArray(), back.toDoubleArray(), "values " + i);
        }
    }

    @Test
    void writesTheStandardHeader() {
        byte[] b = Npy.toBytes(Tensor.of(new float[] {1, 2, 3}, 3));
        assertEquals(0, (10 + (b[8] & 0xFF) + ((b[9] & 0xFF) << 8)) % 64, "header length aligns data to 64 bytes");
        String header = new String(b, 10, (b[8] & 0xFF), StandardCharsets.ISO_8859_1);
        assertTrue(header.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"), header);
        assertTrue(header.endsWith("\n"));
        assertEquals(1, b[6]);
        assertEquals(10 + (b[8] & 0xFF) + 12, b.length);
    }

    @Test
    void rejectsWhatItCannotRead(@TempDir Path dir) throws Exception {
        byte[] four = le(4, 0, 0);
        assertMessage("Fortran", npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", four));
        assertMessage("big-endian", npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", four));
        assertMessage("object", npy(1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", le(8, 0, 0)));
        assertMessage("unsupported .npy dtype <U3", npy(1, "{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", le(4, 0, 0, 0)));
        assertMessage("truncated data", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", four));
        assertMessage("unexpected bytes", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", four));
        assertMessage("not a .npy file", "hello world, not numpy".getBytes(StandardCharsets.US_ASCII));
        assertMessage("not a .npy file", new byte[0]);
        byte[] good = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", four);
        assertMessage("truncated .npy header", java.util.Arrays.copyOf(good, 40));
        assertMessage("format version 9", with(good, 6, (byte) 9));
        assertMessage("bad shape", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (x,), }", four));
        ModelException e = assertThrows(ModelException.class, () -> Npy.read(dir.resolve("missing.npy")));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
        Path empty = Files.write(dir.resolve("empty.npy"), new byte[0]);
        assertThrows(ModelException.class, () -> Npy.read(empty));
        assertThrows(ModelException.class, () -> Npy.toBytes(Tensor.of(DType.STRING, new long[] {1}, new String[] {"a"})));
    }

    private static byte[] with(byte[] b, int i, byte v) {
        byte[] c = b.clone();
        c[i] = v;
        return c;
    }

    private static void assertMessage(String part, byte[] file) {
        ModelException e = assertThrows(ModelException.class, () -> Npy.fromBytes(file, "x.npy"));
        assertTrue(e.getMessage().contains(part), "expected '" + part + "' in: " + e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }
}
