package io.condense.dataset;

import io.condense.data.Dataset;
import io.condense.data.Idx;
import io.condense.ir.ModelException;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;

/**
 * Image classification data as IDX files in a folder, MNIST's layout: {@code train-images-idx3-ubyte[.gz]} (grey,
 * [N, H, W]) or {@code -idx4-} ([N, C, H, W]), {@code train-labels-idx1-ubyte[.gz]}, and the same with {@code t10k}
 * for the test split. Pixel values are 0..255 in the files and 0..1 in memory. Nothing here is MNIST-specific.
 */
public final class ImageData {
    private ImageData() {}

    public static final String TRAIN = "train", TEST = "t10k";

    /** The training ({@code TRAIN}) or test ({@code TEST}) split of {@code dir}. */
    public static Dataset load(Path dir, String split) {
        if (!Files.isDirectory(dir)) throw new ModelException("data folder not found: " + dir);
        return Dataset.fromIdx(images(dir, split), labels(dir, split), 1f / 255);
    }

    /** The images file of a split. */
    public static Path images(Path dir, String split) {
        for (String kind : new String[] {"idx3", "idx4"}) {
            Path p = findFile(dir, split + "-images-" + kind + "-ubyte");
            if (p != null) return p;
        }
        throw new ModelException("no " + split + "-images-idx3-ubyte[.gz] (or idx4) in " + dir);
    }

    static Path labels(Path dir, String split) {
        Path p = findFile(dir, split + "-labels-idx1-ubyte");
        if (p == null) throw new ModelException("no " + split + "-labels-idx1-ubyte[.gz] in " + dir);
        return p;
    }

    private static Path findFile(Path dir, String base) {
        for (String ext : new String[] {"", ".gz"}) {
            Path p = dir.resolve(base + ext);
            if (Files.isRegularFile(p)) return p;
        }
        return null;
    }

    /** The samples at {@code indices}, in that order. */
    public static Dataset subset(Dataset d, int[] indices) {
        long[] shape = d.sampleShape();
        int ss = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        float[] x = new float[indices.length * ss];
        int[] y = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            System.arraycopy(d.sample(indices[i]), 0, x, i * ss, ss);
            y[i] = d.label(indices[i]);
        }
        return new Dataset(x, y, shape);
    }

    /** All samples of a dataset as one flat array. */
    public static float[] pixels(Dataset d) {
        int ss = (int) Arrays.stream(d.sampleShape()).reduce(1, (a, b) -> a * b);
        float[] x = new float[d.size() * ss];
        for (int i = 0; i < d.size(); i++) System.arraycopy(d.sample(i), 0, x, i * ss, ss);
        return x;
    }

    /**
     * Writes {@code small} (pixels 0..1) as the training split of {@code outDir}: ubyte IDX when {@code exact} is
     * false (real images: lossless), float32 IDX holding 0..255 values otherwise (synthetic images keep full
     * precision; the IDX readers of condense read both). The test split of {@code source} is copied alongside,
     * so {@code outDir} is a complete data folder for {@code condense train --data} and {@code --calib}.
     */
    public static void write(Path outDir, Dataset small, boolean exact, Path source) {
        long[] s = small.sampleShape();
        boolean grey = s[0] == 1;
        int[] dims = grey ? new int[] {small.size(), (int) s[1], (int) s[2]} : new int[] {small.size(), (int) s[0], (int) s[1], (int) s[2]};
        float[] x = pixels(small);
        for (int i = 0; i < x.length; i++) x[i] *= 255f;
        try {
            Files.createDirectories(outDir);
        } catch (IOException e) {
            throw new ModelException("cannot create " + outDir + ": " + e.getMessage());
        }
        Idx.write(outDir.resolve("train-images-" + (grey ? "idx3" : "idx4") + "-ubyte.gz"), exact ? 0x0D : 0x08, dims, x);
        int[] lab = small.labels();
        float[] lf = new float[lab.length];
        for (int i = 0; i < lab.length; i++) lf[i] = lab[i];
        Idx.write(outDir.resolve("train-labels-idx1-ubyte.gz"), 0x08, new int[] {lab.length}, lf);
        if (source != null) {
            try {
                for (Path p : new Path[] {images(source, TEST), labels(source, TEST)}) {
                    Path dst = outDir.resolve(p.getFileName().toString());
                    Path tmp = outDir.resolve("." + p.getFileName() + ".tmp");
                    Files.copy(p, tmp, StandardCopyOption.REPLACE_EXISTING);
                    Files.move(tmp, dst, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                }
            } catch (ModelException e) {
                // no test split in the source: the small set alone is still usable as calibration data
            } catch (IOException e) {
                throw new ModelException("cannot copy the test split to " + outDir + ": " + e.getMessage());
            }
        }
    }

    /** Writes a PNG grid, one row per class and one column per image of that class (pixels clamped to 0..1). */
    public static void writeGrid(Path png, Dataset d, int maxPerClass) {
        long[] s = d.sampleShape();
        int c = (int) s[0], h = (int) s[1], w = (int) s[2], classes = d.numClasses();
        int[] count = new int[classes];
        for (int i = 0; i < d.size(); i++) count[d.label(i)]++;
        int cols = Math.max(1, Math.min(maxPerClass, Arrays.stream(count).max().orElse(1)));
        int pad = 1;
        BufferedImage img = new BufferedImage(cols * (w + pad) + pad, classes * (h + pad) + pad, BufferedImage.TYPE_INT_RGB);
        int[] used = new int[classes];
        for (int i = 0; i < d.size(); i++) {
            int k = d.label(i);
            if (used[k] >= cols) continue;
            int ox = pad + used[k]++ * (w + pad), oy = pad + k * (h + pad);
            float[] px = d.sample(i);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int r = level(px[y * w + x]);
                    int gg = c >= 3 ? level(px[(h + y) * w + x]) : r;
                    int b = c >= 3 ? level(px[(2 * h + y) * w + x]) : r;
                    img.setRGB(ox + x, oy + y, (r << 16) | (gg << 8) | b);
                }
            }
        }
        io.condense.onnx.ModelFiles.writeAtomically(png, out -> {
            if (!javax.imageio.ImageIO.write(img, "png", out)) throw new IOException("no PNG writer");
        });
    }

    private static int level(float v) { return (int) Math.max(0, Math.min(255, Math.round(v * 255))); }
}
