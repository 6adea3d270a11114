package io.condense.dataset;

import io.condense.TestData;
import io.condense.data.Dataset;
import io.condense.distill.Distiller;
import io.condense.distill.HardLabelTerm;
import io.condense.distill.Students;
import io.condense.distill.Teacher;
import io.condense.ir.Graph;
import io.condense.ir.Tensor;
import io.condense.quant.CalibrationData;
import io.condense.quant.PtqPass;
import io.condense.quant.QuantConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.condense.distill.DistillerTest.accuracy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Coresets in the product: PTQ calibration data and the fine-tuning set after pruning (MNIST, small settings; ~20 s idle, tagged slow). */
@org.junit.jupiter.api.Tag("slow")
class CoresetUseTest {
    static Dataset train, test;
    static Graph model;
    static int[] coreset;

    @BeforeAll static void setup() {
        Path mnist = TestData.require("mnist");
        Dataset full = ImageData.load(mnist, ImageData.TRAIN);
        train = full.head(6000);
        test = ImageData.load(mnist, ImageData.TEST);
        Graph g = Students.byName("mlp-256", train.sampleShape(), 10, 0, 0, 1);
        model = new Distiller(new Distiller.Config(3, 50, 0.05, "sgd", 0, 0, false, 3, -1), null)
                .distill(g, null, List.of(new HardLabelTerm("logits", 1)), train, null);
        // 10 images per class by herding in the features of a small ConvNet trained on the 6000 images
        coreset = new Herding(new FeatureModel.Config(new ConvNet.Spec(8, 2, true), 1, 0, 0.01, 1), null).select(train, 10, 1);
    }

    @Test void int8CalibratedOnA10PerClassCoresetMatches512RandomImages() {
        Dataset core = ImageData.subset(train, coreset);
        Dataset random = ImageData.subset(train, new Coresets.RandomCoreset().select(train, 52, 9)).head(512);
        assertEquals(512, random.size());
        var in = CalibrationData.singleInput(model);
        Graph qCore = new PtqPass(QuantConfig.defaults(), CalibrationData.fromDataset(in, core, 50, 0), null).apply(model);
        Graph qRand = new PtqPass(QuantConfig.defaults(), CalibrationData.fromDataset(in, random, 64, 0), null).apply(model);
        double aFloat = accuracy(model, test), aCore = accuracy(qCore, test), aRand = accuracy(qRand, test);
        assertTrue(aFloat > 0.9, "float accuracy " + aFloat);
        assertTrue(Math.abs(aCore - aRand) <= 0.002, String.format("INT8 calibrated on the coreset %.4f vs on 512 random images %.4f (float %.4f)", aCore, aRand, aFloat));
        System.out.printf("PTQ calibration: float %.4f, int8 coreset(100) %.4f, int8 random(512) %.4f%n", aFloat, aCore, aRand);
    }

    @Test void coresetIsTheFineTuningSetAfterPruning() {
        // magnitude-prune 95% of the first layer, then fine-tune on the 100-image coreset with the dense model as teacher
        Tensor w = model.initializers().get("fc1.weight");
        float[] v = w.toFloatArray();
        float[] mags = new float[v.length];
        for (int i = 0; i < v.length; i++) mags[i] = Math.abs(v[i]);
        java.util.Arrays.sort(mags);
        float cut = mags[(int) (0.95 * v.length)];
        for (int i = 0; i < v.length; i++) if (Math.abs(v[i]) < cut) v[i] = 0;
        Graph pruned = model.toBuilder().initializer("fc1.weight", Tensor.of(v, w.shape())).build();
        Dataset core = ImageData.subset(train, coreset);
        Graph tuned;
        try (Teacher t = new Teacher(model, List.of("logits"), "cpu", true)) {
            tuned = new Distiller(new Distiller.Config(30, 50, 0.02, "sgd", 0, 0, true, 5, -1), null)
                    .distill(pruned, t, Distiller.hinton(pruned, model, 4, 0.7), core, null);
        }
        double aDense = accuracy(model, test), aPruned = accuracy(pruned, test), aTuned = accuracy(tuned, test);
        float[] after = tuned.initializers().get("fc1.weight").toFloatArray();
        for (int i = 0; i < v.length; i++) if (v[i] == 0) assertEquals(0f, after[i]);
        System.out.printf("pruning 95%% of fc1: dense %.4f, pruned %.4f, fine-tuned on the coreset %.4f%n", aDense, aPruned, aTuned);
        assertTrue(aTuned > aPruned + 0.01, String.format("fine-tuning on the coreset: pruned %.4f -> %.4f (dense %.4f)", aPruned, aTuned, aDense));
    }

}
