package io.condense.dataset;

import io.condense.data.Dataset;
import io.condense.ir.ModelException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CoresetTest {
    @TempDir Path dir;

    /** {@code n} per class of 3 classes, [c, 6, 6] images: class k is bright in its own third of the image, plus noise. */
    static Dataset blobs(int n, int channels, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int ss = channels * 36;
        float[] x = new float[3 * n * ss];
        int[] y = new int[3 * n];
        for (int i = 0; i < 3 * n; i++) {
            int k = i % 3;
            y[i] = k;
            for (int c = 0; c < channels; c++) {
                for (int p = 0; p < 36; p++) {
                    boolean on = (p % 6) / 2 == k;
                    x[i * ss + c * 36 + p] = (float) Math.max(0, Math.min(1, (on ? 0.8 : 0.1) + 0.1 * r.nextGaussian()));
                }
            }
        }
        return new Dataset(x, y, new long[] {channels, 6, 6});
    }

    @Test void randomPicksIpcDistinctSamplesPerClass() {
        Dataset d = blobs(20, 1, 1);
        int[] idx = new Coresets.RandomCoreset().select(d, 4, 7);
        assertEquals(12, idx.length);
        assertEquals(12, Arrays.stream(idx).distinct().count());
        for (int c = 0; c < 3; c++) for (int i = 0; i < 4; i++) assertEquals(c, d.label(idx[c * 4 + i]));
        assertArrayEquals(idx, new Coresets.RandomCoreset().select(d, 4, 7), "seeded");
    }

    @Test void ipcLargerThanAClassIsOneLine() {
        Dataset d = blobs(5, 1, 1);
        ModelException e = assertThrows(ModelException.class, () -> new Coresets.RandomCoreset().select(d, 6, 0));
        assertEquals("--ipc 6 is larger than class 0, which has 5 images", e.getMessage());
    }

    @Test void herdingMatchesTheMeanGreedily() {
        // 1-D features 0, 1, 2, 3, 10: mean 3.2. First pick: 3 (closest to the mean); second: best pair mean is (3 + 2)/2 = 2.5 or (3+10)/2=6.5 -> 2
        float[][] f = {{0}, {1}, {2}, {3}, {10}};
        int[] ids = {10, 11, 12, 13, 14};
        assertArrayEquals(new int[] {13, 12}, Herding.herd(f, ids, 2));
        // the whole set is selected when k = n, each once
        Set<Integer> all = new HashSet<>();
        for (int i : Herding.herd(f, ids, 5)) all.add(i);
        assertEquals(5, all.size());
    }

    @Test void kCenterPicksTheFarthestPoints() {
        float[][] f = {{0, 0}, {1, 0}, {0, 1}, {5, 5}, {-4, 0}};
        int[] ids = {0, 1, 2, 3, 4};
        // from point 1: farthest is (5,5) (dist^2 41) then (-4,0) (min dist^2 to {1, 3}: 25)
        assertArrayEquals(new int[] {1, 3, 4}, KCenter.greedy(f, ids, 3, 1));
    }

    @Test void featureCoresetsAndForgettingRunOnAnyShape() {
        Dataset d = blobs(12, 3, 2);
        FeatureModel.Config fc = new FeatureModel.Config(new ConvNet.Spec(4, 1, true), 3, 0, 0.05, 1);
        for (Coreset c : new Coreset[] {new Herding(fc, null), new KCenter(fc, null), new Forgetting(fc, null)}) {
            int[] idx = c.select(d, 2, 3);
            assertEquals(6, idx.length, c.name());
            assertEquals(6, Arrays.stream(idx).distinct().count(), c.name());
            for (int k = 0; k < 3; k++) for (int i = 0; i < 2; i++) assertEquals(k, d.label(idx[k * 2 + i]), c.name());
        }
    }

    @Test void forgettingCountsTransitionsAndPrefersForgottenSamples() {
        Dataset d = blobs(12, 1, 4);
        Forgetting f = new Forgetting(new FeatureModel.Config(new ConvNet.Spec(4, 1, true), 4, 0, 0.05, 1), null);
        int[] idx = f.select(d, 3, 1);
        int[] counts = f.lastCounts();
        assertEquals(d.size(), counts.length);
        for (int k = 0; k < 3; k++) {
            int minChosen = Integer.MAX_VALUE, maxOther = -1;
            Set<Integer> chosen = new HashSet<>();
            for (int i = 0; i < 3; i++) chosen.add(idx[k * 3 + i]);
            for (int i = 0; i < d.size(); i++) {
                if (d.label(i) != k) continue;
                if (chosen.contains(i)) minChosen = Math.min(minChosen, counts[i]);
                else maxOther = Math.max(maxOther, counts[i]);
            }
            assertTrue(minChosen >= maxOther, "class " + k + ": chose a sample forgotten less often than one left out");
        }
    }

    @Test void smallSetRoundTripsThroughIdxAndPng() throws Exception {
        Dataset d = blobs(4, 1, 3);
        int[] idx = new Coresets.RandomCoreset().select(d, 2, 0);
        Dataset small = ImageData.subset(d, idx);
        // ubyte: values are multiples of 1/255 after quantization; float: exact
        Dataset exact = new Dataset(ImageData.pixels(small), small.labels(), small.sampleShape());
        SmallSet.write(dir.resolve("f"), exact, null, null, "test", java.util.Map.of("ipc", 2), 5);
        Dataset back = ImageData.load(dir.resolve("f"), ImageData.TRAIN);
        assertArrayEquals(small.labels(), back.labels());
        float[] a = ImageData.pixels(small), b = ImageData.pixels(back);
        for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-6);
        SmallSet.write(dir.resolve("u"), small, idx, null, "random", java.util.Map.of("ipc", 2), 5);
        Dataset ub = ImageData.load(dir.resolve("u"), ImageData.TRAIN);
        float[] c = ImageData.pixels(ub);
        for (int i = 0; i < a.length; i++) assertEquals(a[i], c[i], 0.5 / 255 + 1e-6);
        assertEquals(java.util.Arrays.stream(idx).mapToObj(Integer::toString).toList(),
                java.nio.file.Files.readAllLines(dir.resolve("u").resolve(SmallSet.INDICES)));
        java.awt.image.BufferedImage png = javax.imageio.ImageIO.read(dir.resolve("u").resolve(SmallSet.GRID).toFile());
        assertEquals(2 * 7 + 1, png.getWidth());
        assertEquals(3 * 7 + 1, png.getHeight());
        String prov = java.nio.file.Files.readString(dir.resolve("u").resolve(SmallSet.PROVENANCE));
        assertTrue(prov.contains("\"method\" : \"random\"") && prov.contains("\"seed\" : 5"), prov);
        // colour images are written as idx4 and read back with their channels
        Dataset rgb = blobs(2, 3, 1);
        SmallSet.write(dir.resolve("c"), rgb, null, null, "test", java.util.Map.of(), 0);
        assertArrayEquals(new long[] {3, 6, 6}, ImageData.load(dir.resolve("c"), ImageData.TRAIN).sampleShape());
    }
}
