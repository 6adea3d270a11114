package io.condense.data;

import io.condense.ir.ModelException;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.zip.GZIPInputStream;

/**
 * Reader for the IDX format (MNIST and friends): magic {@code 0x0000 TT NN}, NN big-endian int32 dimensions, then
 * big-endian data of type TT (0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double).
 * Gzip-compressed files are detected by their content. Values are returned as floats.
 */
public final class Idx {
    private Idx() {}

    /** A whole IDX file: dims and values as floats (row-major). */
    public record Array(int type, int[] dims, float[] data) {
        public int count() { return dims.length == 0 ? 1 : dims[0]; }
        public int recordSize() { return dims.length == 0 ? 1 : data.length / Math.max(1, dims[0]); }
    }

    static int elementBytes(int type) {
        return switch (type) {
            case 0x08, 0x09 -> 1;
            case 0x0B -> 2;
            case 0x0C, 0x0D -> 4;
            case 0x0E -> 8;
            default -> -1;
        };
    }

    static InputStream open(Path file) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        in.mark(2);
        int b0 = in.read(), b1 = in.read();
        in.reset();
        if (b0 == 0x1f && b1 == 0x8b) return new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16);
        return in;
    }

    /** Streams the records (items along the first dimension) of an IDX file without loading it whole. */
    public static final class Reader implements Iterator<float[]>, AutoCloseable {
        private final Path file;
        private final DataInputStream in;
        private final int type;
        private final int[] dims;
        private final int recordSize;
        private final int count;
        private int read;
        private final byte[] buf;

        Reader(Path file) throws IOException {
            this.file = file;
            this.in = new DataInputStream(open(file));
            int magic;
            try {
                magic = in.readInt();
            } catch (EOFException e) {
                in.close();
                throw new ModelException(file + " is not an IDX file: shorter than its 4-byte header");
            }
            type = (magic >>> 8) & 0xFF;
            int nd = magic & 0xFF;
            if ((magic >>> 16) != 0 || elementBytes(type) < 0 || nd == 0) {
                in.close();
                throw new ModelException(file + " is not an IDX file: bad magic number 0x" + String.format("%08x", magic)
                        + " (expected 0x0000TTNN with type 08/09/0B/0C/0D/0E)");
            }
            dims = new int[nd];
            long size = 1;
            for (int i = 0; i < nd; i++) {
                try {
                    dims[i] = in.readInt();
                } catch (EOFException e) {
                    in.close();
                    throw new ModelException(file + " is truncated: header ends before dimension " + (i + 1) + " of " + nd);
                }
                if (dims[i] < 0) {
                    in.close();
                    throw new ModelException(file + ": negative dimension " + dims[i]);
                }
                if (i > 0) size *= dims[i];
            }
            if (size > Integer.MAX_VALUE / 8) {
                in.close();
                throw new ModelException(file + ": records of " + size + " elements are too large");
            }
            recordSize = (int) size;
            count = dims[0];
            buf = new byte[recordSize * elementBytes(type)];
        }

        public int[] dims() { return dims.clone(); }

        public int type() { return type; }

        public int count() { return count; }

        public int recordSize() { return recordSize; }

        @Override public boolean hasNext() { return read < count; }

        @Override public float[] next() {
            float[] out = new float[recordSize];
            next(out, 0);
            return out;
        }

        /** Reads the next record into {@code out} at {@code off}. */
        public void next(float[] out, int off) {
            if (!hasNext()) throw new NoSuchElementException();
            try {
                in.readFully(buf);
            } catch (EOFException e) {
                throw new ModelException(file + " is truncated: header promises " + count + " records, data ends in record " + (read + 1));
            } catch (IOException e) {
                throw new ModelException("cannot read " + file + ": " + e.getMessage());
            }
            decode(buf, type, out, off, recordSize);
            read++;
        }

        @Override public void close() {
            try {
                in.close();
            } catch (IOException ignored) {
                // nothing to recover
            }
        }
    }

    static void decode(byte[] b, int type, float[] out, int off, int n) {
        switch (type) {
            case 0x08 -> { for (int i = 0; i < n; i++) out[off + i] = b[i] & 0xFF; }
            case 0x09 -> { for (int i = 0; i < n; i++) out[off + i] = b[i]; }
            case 0x0B -> { for (int i = 0; i < n; i++) out[off + i] = (short) (((b[2 * i] & 0xFF) << 8) | (b[2 * i + 1] & 0xFF)); }
            case 0x0C -> { for (int i = 0; i < n; i++) out[off + i] = beInt(b, 4 * i); }
            case 0x0D -> { for (int i = 0; i < n; i++) out[off + i] = Float.intBitsToFloat(beInt(b, 4 * i)); }
            case 0x0E -> {
                for (int i = 0; i < n; i++) {
                    long v = ((long) beInt(b, 8 * i) << 32) | (beInt(b, 8 * i + 4) & 0xFFFFFFFFL);
                    out[off + i] = (float) Double.longBitsToDouble(v);
                }
            }
            default -> throw new IllegalStateException();
        }
    }

    private static int beInt(byte[] b, int p) {
        return ((b[p] & 0xFF) << 24) | ((b[p + 1] & 0xFF) << 16) | ((b[p + 2] & 0xFF) << 8) | (b[p + 3] & 0xFF);
    }

    /** Opens a streaming reader (close it). */
    public static Reader stream(Path file) {
        try {
            return new Reader(file);
        } catch (NoSuchFileException e) {
            throw new ModelException("IDX file not found: " + file);
        } catch (IOException e) {
            throw new ModelException("cannot read " + file + ": " + e.getMessage());
        }
    }

    /** Reads a whole IDX file. */
    public static Array read(Path file) {
        try (Reader r = stream(file)) {
            long total = (long) r.count() * r.recordSize();
            if (total > Integer.MAX_VALUE - 8) throw new ModelException(file + ": " + total + " values do not fit in memory");
            float[] data = new float[(int) total];
            for (int i = 0; i < r.count(); i++) r.next(data, i * r.recordSize());
            return new Array(r.type(), r.dims(), data);
        }
    }

    /**
     * Writes an IDX file (gzip-compressed when the name ends in {@code .gz}) completely or not at all. {@code type}
     * 0x08 rounds and clamps values to [0, 255]; 0x0D stores them as big-endian float32.
     */
    public static void write(Path file, int type, int[] dims, float[] data) {
        if (type != 0x08 && type != 0x0D) throw new IllegalArgumentException("IDX writing supports ubyte (0x08) and float (0x0D)");
        long n = 1;
        for (int d : dims) n *= d;
        if (n != data.length) throw new IllegalArgumentException(data.length + " values for IDX dims " + java.util.Arrays.toString(dims));
        io.condense.onnx.ModelFiles.writeAtomically(file, raw -> {
            java.io.OutputStream os = file.getFileName().toString().endsWith(".gz") ? new java.util.zip.GZIPOutputStream(raw, 1 << 16) : raw;
            java.io.DataOutputStream out = new java.io.DataOutputStream(new java.io.BufferedOutputStream(os, 1 << 16));
            out.writeInt((type << 8) | dims.length);
            for (int d : dims) out.writeInt(d);
            if (type == 0x08) {
                for (float v : data) out.writeByte((int) Math.max(0, Math.min(255, Math.round(v))));
            } else {
                for (float v : data) out.writeFloat(v);
            }
            out.flush();
            if (os instanceof java.util.zip.GZIPOutputStream gz) gz.finish();
        });
    }
}
