package io.condense.bench;

import io.condense.train.Losses;
import io.condense.train.Models;
import io.condense.train.Optimizer;
import io.condense.train.Tape;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The benchmark's two sides train the same network: condense (Tape, Losses, Optimizer nesterov) and DL4J 1.0.0-M2.1
 * (the reference) from the same weights on the same batches give the same loss at every step.
 */
class TrainVsDl4jTest {
    @ParameterizedTest
    @ValueSource(strings = {"lenet-300-100", "lenet5"})
    void sameLossesAsDl4j(String model) {
        double lr = 0.01;
        Tape tape = new Tape(Models.byName(model, 3));
        MultiLayerNetwork net = TrainVsDl4j.dl4j(model, lr);
        TrainVsDl4j.copyWeights(model, tape.parameters(), net);
        Optimizer opt = Optimizer.sgd(lr).momentum(0.9).nesterov(true);
        Random rnd = new Random(11);
        boolean flat = model.equals("lenet-300-100");
        for (int step = 0; step < 8; step++) {
            int n = 16;
            float[] px = new float[n * 784];
            // sparse strokes in [0, 1], like MNIST (dense random pixels give huge logits and a chaotic loss)
            for (int i = 0; i < px.length; i++) px[i] = rnd.nextFloat() < 0.2f ? rnd.nextFloat() : 0f;
            int[] labels = new int[n];
            INDArray oneHot = Nd4j.zeros(DataType.FLOAT, n, 10);
            for (int i = 0; i < n; i++) {
                labels[i] = rnd.nextInt(10);
                oneHot.putScalar(i, labels[i], 1f);
            }
            INDArray x = Nd4j.create(px, new long[] {n, 1, 28, 28}, 'c');
            Map<String, INDArray> o = tape.forward(Map.of("input", x), true);
            Losses.Loss l = Losses.softmaxCrossEntropy(o.get("logits"), labels, 0);
            opt.step(tape.parameters(), tape.backward(Map.of("logits", l.grad())));
            INDArray dx = x.sub(io.condense.data.Mnist.MEAN).divi(io.condense.data.Mnist.STD);
            net.fit(new DataSet(flat ? dx.reshape(n, 784) : dx, oneHot));
            assertEquals(net.score(), l.value(), 1e-4 * Math.max(1, l.value()), model + " step " + step);
        }
    }
}
