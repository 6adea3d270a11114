/**
 * Post-training static quantization (PTQ) to QDQ ONNX graphs, and the building blocks other quantizers reuse.
 *
 * <h2>Typical use</h2>
 * <pre>{@code
 * QuantConfig cfg = QuantConfig.of(CalibrationMethod.ENTROPY);               // or QuantConfig.load(yaml)
 * Graph q = new PtqPass(cfg, feeds, System.out).apply(floatGraph);           // feeds: Iterable<Map<String, Tensor>>
 * }</pre>
 * or step by step (calibrate once, quantize many ways):
 * <pre>{@code
 * Graph p = PtqPass.prepare(g);                                              // BN folding, constant folding, ...
 * CalibrationResult stats = PtqPass.calibrate(p, cfg, feeds, progress);     // every activation the rules may quantize
 * Graph q = PtqPass.quantize(p, stats, cfg.withExclude(List.of("conv1")));
 * Sensitivity.Report r = Sensitivity.analyze(p, stats, cfg, evalFeeds, labels, null);
 * }</pre>
 *
 * <h2>Pieces</h2>
 * <ul>
 *   <li>{@link io.condense.quant.Calibration#run}: runs a graph on the CPU backend with extra outputs and collects
 *       {@link io.condense.quant.TensorStats} (min, max, {@link io.condense.quant.Histogram} of |x|) for any set of
 *       values; feeds from {@link io.condense.quant.CalibrationData} (Dataset, IDX, .npy/.pb folder, random).</li>
 *   <li>{@link io.condense.quant.Histogram}: batch-size independent |x| histogram (power-of-two bin widths) with the
 *       percentile, entropy (TensorRT KL) and MSE thresholds.</li>
 *   <li>{@link io.condense.quant.QParams}: scale/zero-point in ONNX form (per tensor, per axis, blocked; INT4..INT16)
 *       with {@code quantize}/{@code dequantize}/{@code fakeQuantize} matching QuantizeLinear/DequantizeLinear, and
 *       weight statistics ({@code channelAbsMax}).</li>
 *   <li>{@link io.condense.quant.QdqEditor}: inserts activation Q/DQ pairs and quantized weights (integer initializer
 *       + DequantizeLinear, also from an already quantized tensor such as GPTQ output), rewires chosen inputs, raises
 *       the opset (13 per-axis, 21 blocked/4-bit).</li>
 *   <li>{@link io.condense.quant.QdqRules}: the TensorRT placement table (Conv/Gemm/MatMul inputs and weights,
 *       residual Add, pooling) and {@code plan} (the sites to quantize under include/exclude).</li>
 * </ul>
 */
package io.condense.quant;
