package io.condense.data;

import io.condense.ir.ModelException;

import java.nio.file.Files;
import java.nio.file.Path;

/** Loads MNIST-format datasets (also Fashion-MNIST) from a folder of IDX files, plain or gzipped. */
public final class Mnist {
    private Mnist() {}

    /** Standard MNIST pixel mean and standard deviation after scaling to [0, 1]. */
    public static final float MEAN = 0.1307f, STD = 0.3081f;

    /** Finds {@code <prefix>-images-idx3-ubyte[.gz]} (or {@code .idx3-ubyte}) in {@code dir}. */
    static Path find(Path dir, String prefix, String kind, int nd) {
        String[] names = {prefix + "-" + kind + "-idx" + nd + "-ubyte", prefix + "-" + kind + ".idx" + nd + "-ubyte"};
        for (String n : names) {
            for (String ext : new String[] {"", ".gz"}) {
                Path p = dir.resolve(n + ext);
                if (Files.isRegularFile(p)) return p;
            }
        }
        throw new ModelException("no " + names[0] + "[.gz] in " + dir);
    }

    /** Training (60k) or test (10k) split, pixels scaled to [0, 1]; shape [1, 28, 28]. */
    public static Dataset load(Path dir, boolean train) {
        return load(dir, train, 1f / 255);
    }

    /** Training or test split with pixels multiplied by {@code scale} (1 keeps 0..255). */
    public static Dataset load(Path dir, boolean train, float scale) {
        if (!Files.isDirectory(dir)) throw new ModelException("data folder not found: " + dir);
        String prefix = train ? "train" : "t10k";
        return Dataset.fromIdx(find(dir, prefix, "images", 3), find(dir, prefix, "labels", 1), scale);
    }
}
