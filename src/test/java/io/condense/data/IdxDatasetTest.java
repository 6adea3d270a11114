package io.condense.data;

import io.condense.TestData;
import io.condense.ir.ModelException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IdxDatasetTest {
    @TempDir Path dir;

    private static byte[] idx(int type, int[] dims, byte[] payload) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        DataOutputStream o = new DataOutputStream(bo);
        o.writeInt((type << 8) | dims.length);
        for (int d : dims) o.writeInt(d);
        o.write(payload);
        return bo.toByteArray();
    }

    private Path write(String name, byte[] b, boolean gz) throws IOException {
        Path p = dir.resolve(name);
        try (OutputStream o = gz ? new GZIPOutputStream(Files.newOutputStream(p)) : Files.newOutputStream(p)) {
            o.write(b);
        }
        return p;
    }

    @Test void readsUbyteAndGzipAndFloats() throws IOException {
        byte[] px = {0, 1, (byte) 255, 7, 8, 9};
        for (boolean gz : new boolean[] {false, true}) {
            Idx.Array a = Idx.read(write("a" + gz, idx(0x08, new int[] {2, 1, 3}, px), gz));
            assertArrayEquals(new int[] {2, 1, 3}, a.dims());
            assertArrayEquals(new float[] {0, 1, 255, 7, 8, 9}, a.data());
        }
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        DataOutputStream o = new DataOutputStream(bo);
        o.writeFloat(1.5f);
        o.writeFloat(-2f);
        Idx.Array f = Idx.read(write("f", idx(0x0D, new int[] {2}, bo.toByteArray()), false));
        assertArrayEquals(new float[] {1.5f, -2f}, f.data());
    }

    @Test void clearErrorsForBadMagicAndTruncation() throws IOException {
        Path bad = write("bad", new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, false);
        ModelException e = assertThrows(ModelException.class, () -> Idx.read(bad));
        assertTrue(e.getMessage().contains("not an IDX file"), e.getMessage());
        Path trunc = write("trunc", Arrays.copyOf(idx(0x08, new int[] {3, 2}, new byte[6]), 12 + 5), true);
        e = assertThrows(ModelException.class, () -> Idx.read(trunc));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        Path header = write("header", Arrays.copyOf(idx(0x08, new int[] {3, 2}, new byte[0]), 6), false);
        e = assertThrows(ModelException.class, () -> Idx.read(header));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        e = assertThrows(ModelException.class, () -> Idx.read(dir.resolve("missing")));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
    }

    private static Dataset toy(int n) {
        float[] x = new float[n * 4];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < 4; k++) x[i * 4 + k] = i;
            y[i] = i % 3;
        }
        return new Dataset(x, y, new long[] {1, 2, 2});
    }

    @Test void batchingShuffleIsSeededAndCoversAll() {
        Dataset d = toy(10);
        List<Integer> a = order(d, 7), b = order(d, 7), c = order(d, 8);
        assertEquals(a, b);
        assertNotEquals(a, c);
        assertEquals(new HashSet<>(a), Set.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
        int batches = 0;
        for (Dataset.Batch bt : d.batches(4, false, 0, false, null)) {
            batches++;
            assertEquals(4, bt.x().rank());
        }
        assertEquals(3, batches);
        int dropped = 0;
        for (Dataset.Batch bt : d.batches(4, true, 1, true, null)) dropped += bt.size();
        assertEquals(8, dropped);
    }

    private static List<Integer> order(Dataset d, long seed) {
        List<Integer> o = new ArrayList<>();
        for (Dataset.Batch b : d.batches(3, true, seed, false, null)) {
            float[] v = b.x().dup().data().asFloat();
            for (int i = 0; i < b.size(); i++) {
                o.add((int) v[i * 4]);
                assertEquals((int) v[i * 4] % 3, b.labels()[i]);
            }
        }
        return o;
    }

    @Test void normalizationAndAugmentation() {
        Dataset d = toy(4);
        float[][] st = d.channelStats();
        assertEquals(1.5f, st[0][0], 1e-6);
        Dataset n = d.normalize(st[0], st[1]);
        assertEquals(0, n.channelStats()[0][0], 1e-6);
        assertEquals(1, n.channelStats()[1][0], 1e-5);

        float[] img = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        float[] f = img.clone();
        Augmentation.horizontalFlip(1.0).apply(f, 0, new long[] {1, 3, 3}, new SplittableRandom(1));
        assertArrayEquals(new float[] {3, 2, 1, 6, 5, 4, 9, 8, 7}, f);
        // crops are shifts with zero fill: every crop keeps a sub-block of the original
        for (int s = 0; s < 20; s++) {
            float[] c = img.clone();
            Augmentation.randomCrop(1).apply(c, 0, new long[] {1, 3, 3}, new SplittableRandom(s));
            for (float v : c) assertTrue(v == 0 || (v >= 1 && v <= 9));
            assertTrue(c[4] != 0, "centre pixel always comes from the image with padding 1");
        }
    }

    @Test void streamingReaderMatchesWholeRead() {
        Path mnist = TestData.require("mnist");
        Path labels = Mnist.find(mnist, "t10k", "labels", 1);
        Idx.Array all = Idx.read(labels);
        try (Idx.Reader r = Idx.stream(labels)) {
            assertEquals(10000, r.count());
            for (int i = 0; i < 100; i++) assertEquals(all.data()[i], r.next()[0]);
        }
    }

    @Test void loadsMnist() {
        Path mnist = TestData.require("mnist");
        Dataset test = Mnist.load(mnist, false);
        assertEquals(10000, test.size());
        assertArrayEquals(new long[] {1, 28, 28}, test.sampleShape());
        assertEquals(10, test.numClasses());
        assertEquals(7, test.label(0)); // the first MNIST test digit is a 7
        float[][] st = test.channelStats();
        assertEquals(0.1325, st[0][0], 0.002);
        assertEquals(0.3105, st[1][0], 0.002);
    }
}
