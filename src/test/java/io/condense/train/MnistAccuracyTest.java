package io.condense.train;

import io.condense.TestData;
import io.condense.data.Dataset;
import io.condense.data.Mnist;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Full MNIST training to published accuracy (slow: minutes to an hour on 2 cores; run with -Pall). */
@Tag("slow")
class MnistAccuracyTest {
    private static double train(String model, int epochs, double lr) {
        Path dir = TestData.require("mnist");
        Threads.auto();
        Dataset train = Mnist.load(dir, true), test = Mnist.load(dir, false);
        Tape tape = new Tape(Models.byName(model, 1));
        long steps = (long) epochs * ((train.size() + 63) / 64);
        Optimizer o = Optimizer.sgd(lr).momentum(0.9).weightDecay(5e-4).schedule(LrSchedule.cosine(steps, 0.01));
        List<Trainer.EpochStats> s = new Trainer(tape, o, new Trainer.Config().epochs(epochs).batchSize(64).seed(1).progressSeconds(30)).fit(train, test);
        return 1 - s.get(s.size() - 1).testAccuracy();
    }

    @Test void lenet300100ReachesPublishedError() {
        double err = train("lenet-300-100", 15, 0.05);
        assertTrue(err <= 0.017, "LeNet-300-100 test error " + err);
    }

    @Test void lenet5ReachesPublishedError() {
        double err = train("lenet5", 10, 0.02);
        assertTrue(err <= 0.009, "LeNet-5 test error " + err);
    }
}
