package io.condense.cli;

import io.condense.recipe.TaskData;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The option blocks several commands share, as picocli mixins (one definition, one help text each). */
final class Options {
    private Options() {}

    /** {@code --threads N}. */
    static final class Threads {
        @Option(names = "--threads", paramLabel = "N", defaultValue = "0", description = "CPU threads (default: all cores, 1 on a busy machine)")
        int threads;

        void apply() { io.condense.train.Threads.configure(threads); }
    }

    /** {@code --seed N}. */
    static final class Seed {
        @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "seed for initialization, shuffling and sampling (default ${DEFAULT-VALUE})")
        long seed;
    }

    /** {@code --batch-size B}. */
    static final class BatchSize {
        @Option(names = "--batch-size", paramLabel = "B", defaultValue = "64", description = "mini-batch size (default ${DEFAULT-VALUE})")
        int batchSize;
    }

    /** {@code --limit N --test-limit N}: train/evaluate on a prefix of the data. */
    static final class Limits {
        @Option(names = "--limit", paramLabel = "N", defaultValue = "0", description = "use only the first N training images (0 = all)")
        int limit;

        @Option(names = "--test-limit", paramLabel = "N", defaultValue = "0", description = "evaluate on the first N test images only (0 = all)")
        int testLimit;
    }

    /** {@code --data DIR --scale S}: MNIST-format images with an explicit pixel scale. */
    static final class ImageData {
        @Option(names = "--data", paramLabel = "DIR", description = "folder with MNIST-format train-/t10k- IDX files (.gz or plain)")
        Path data;

        @Option(names = "--scale", paramLabel = "S",
                description = "pixel multiplier: 0.00392156862745098 (1/255, pixels 0..1) or 1 (pixels 0..255); default: the one recorded in the model, else 1/255")
        Double scale;

        TaskData taskData() { return new io.condense.recipe.ImageData(data, scale); }
    }
}
