package io.condense.quant;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HistogramTest {
    static float[] gaussianWithOutliers(long seed, int n) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        for (int i = 0; i < n / 1000; i++) v[r.nextInt(n)] = (float) (20 + 10 * r.nextDouble()) * (r.nextBoolean() ? 1 : -1);
        return v;
    }

    /** The same values, added in chunks of 1, 7 and all at once (and merged from parts), give identical counts. */
    @Test
    void countsIndependentOfBatching() {
        float[] v = gaussianWithOutliers(1, 20000);
        // make the range grow several times while streaming: small values first
        java.util.Arrays.sort(v);
        float[] asc = new float[v.length];
        for (int i = 0; i < v.length; i++) asc[i] = v[(i * 7919) % v.length] * (i < 5000 ? 1e-3f : 1f);
        Histogram whole = new Histogram(2048);
        whole.add(asc);
        for (int chunk : new int[] {1, 7, 333}) {
            Histogram h = new Histogram(2048);
            for (int i = 0; i < asc.length; i += chunk) h.add(asc, i, Math.min(chunk, asc.length - i));
            assertArrayEquals(whole.counts(), h.counts(), "chunk " + chunk);
            assertEquals(whole.binWidth(), h.binWidth());
        }
        Histogram a = new Histogram(2048), b = new Histogram(2048);
        a.add(asc, 0, 100);
        b.add(asc, 100, asc.length - 100);
        a.merge(b);
        assertArrayEquals(whole.counts(), a.counts());
        assertEquals(whole.entropyThreshold(128), a.entropyThreshold(128));
        assertEquals(whole.mseThreshold(127), a.mseThreshold(127));
    }

    @Test
    void thresholdsOnGaussianWithOutliers() {
        float[] v = gaussianWithOutliers(2, 200000);
        TensorStats s = new TensorStats("x", 2048);
        s.add(v);
        double w = s.histogram().binWidth();
        double max = s.absMax();
        assertTrue(max >= 20 && max <= 30);
        assertTrue(s.histogram().usedBins() > 1024, "data fill more than half of the bins");
        assertEquals(max, s.threshold(QuantConfig.of(CalibrationMethod.MINMAX)), 0);
        // 99% of |N(0,1)| is below 2.576 (the outliers are 0.1% of the data and shift it slightly)
        double p99 = s.threshold(QuantConfig.of(CalibrationMethod.PERCENTILE).withPercentile(99));
        assertEquals(2.58, p99, 0.03 + w);
        // 0.1% outliers at 20..30 cost more clipped than the rounding error of a wide range: MSE keeps most of them
        double mse = s.threshold(QuantConfig.of(CalibrationMethod.MSE));
        assertTrue(mse > 20 && mse <= max, "mse threshold " + mse);
        // the MSE threshold does minimize the empirical quantization error among a few alternatives
        double best = err(v, mse);
        for (double t : new double[] {mse * 0.8, mse * 1.25, max, p99}) assertTrue(best <= err(v, t) * 1.02, "T=" + t);
    }

    /** Laplace data (a continuous heavy tail): KL calibration clips the tail, below the maximum, above the 99th percentile. */
    @Test
    void entropyClipsAContinuousTail() {
        Random r = new Random(3);
        float[] v = new float[200000];
        for (int i = 0; i < v.length; i++) v[i] = (float) (-Math.log(1 - r.nextDouble()) * (r.nextBoolean() ? 1 : -1));
        TensorStats s = new TensorStats("x", 2048);
        s.add(v);
        double kl = s.threshold(QuantConfig.of(CalibrationMethod.ENTROPY));
        double p99 = s.threshold(QuantConfig.of(CalibrationMethod.PERCENTILE).withPercentile(99));
        assertEquals(Math.log(100), p99, 0.1); // P(|x| > t) = exp(-t)
        assertTrue(kl > p99 && kl < 0.9 * s.absMax(), "entropy threshold " + kl + ", p99 " + p99 + ", max " + s.absMax());
        double mse = s.threshold(QuantConfig.of(CalibrationMethod.MSE));
        assertTrue(mse > p99 && mse < s.absMax(), "mse threshold " + mse);
    }

    static double err(float[] v, double t) {
        double s = t / 127, e = 0;
        for (float f : v) {
            double q = Math.max(-127, Math.min(127, Math.rint(f / s))) * s;
            e += (f - q) * (f - q);
        }
        return e;
    }

    static long[] gauss() {
        long[] h = new long[2048];
        for (int i = 0; i < h.length; i++) h[i] = (long) Math.floor(1e6 * Math.exp(-(i / 300.0) * (i / 300.0))) + (i % 97 == 0 ? 5 : 0);
        for (int i = 1900; i < 2048; i += 37) h[i]++;
        h[2047]++;
        return h;
    }

    static long[] reluLaplace() {
        long[] h = new long[2048];
        for (int i = 0; i < h.length; i++) h[i] = (long) Math.floor(5e5 * Math.exp(-i / 150.0));
        h[0] += 3000000;
        h[2047] += 2;
        return h;
    }

    /**
     * Reference amax values from NVIDIA pytorch-quantization's _compute_amax_entropy / _compute_amax_percentile
     * (TensorRT repo, tools/pytorch-quantization/pytorch_quantization/calib/histogram.py, run with numpy/scipy; its
     * _compute_amax_mse with fake_tensor_quant in numpy) on the same two histograms, bin edges i / 256.
     */
    @Test
    void thresholdsMatchPytorchQuantization() {
        Histogram g = Histogram.ofCounts(gauss(), -8), r = Histogram.ofCounts(reluLaplace(), -8);
        assertEquals(4.00390625, g.entropyThreshold(128), 0);
        assertEquals(3.224609375, g.mseThreshold(127), 0);
        assertEquals(2.7265625, g.percentileThreshold(99.9), 0);
        assertEquals(3.22265625, g.percentileThreshold(99.99), 0);
        assertEquals(6.5, r.entropyThreshold(128), 0);
        assertEquals(5.705078125, r.mseThreshold(127), 0);
        assertEquals(4.01953125, r.percentileThreshold(99.9), 0);
        assertEquals(5.33984375, r.percentileThreshold(99.99), 0);
    }

    @Test
    void nanIsAnError() {
        TensorStats s = new TensorStats("conv_out", 2048);
        var e = assertThrows(io.condense.ir.ModelException.class, () -> s.add(new float[] {1, Float.NaN}));
        assertTrue(e.getMessage().contains("conv_out") && e.getMessage().contains("NaN"), e.getMessage());
    }

    @Test
    void qparamsQuantizeLikeOnnx() {
        QParams p = QParams.symmetric(12.7, io.condense.ir.DType.INT8);
        assertEquals(0.1f, p.scalarScale(), 1e-7);
        var q = p.quantize(io.condense.ir.Tensor.of(new float[] {0.05f, 0.15f, -0.25f, 100f, -100f}, 5));
        assertArrayEquals(new long[] {0, 2, -2, 127, -128}, q.toLongArray()); // half to even; saturation to the type
        QParams u = QParams.asymmetric(0, 2.55, io.condense.ir.DType.UINT8);
        assertEquals(0, u.zeroPoint().getLong(0));
        assertEquals(0.01f, u.scalarScale(), 1e-7);
        QParams a = QParams.asymmetric(-1, 3, io.condense.ir.DType.UINT8);
        assertEquals(64, a.zeroPoint().getLong(0)); // 0 - rint(-1 / (4/255)) = 64 (63.75 rounds up)
    }
}
