/**
 * Text data for transformer models: {@link io.condense.data.text.Tokenizer} (implemented by
 * {@link io.condense.data.text.HfTokenizer} on Hugging Face tokenizer.json files), sentence files and the built-in
 * calibration text ({@link io.condense.data.text.TextData}), and per-batch padded batches whose feeds are keyed by
 * the model's own input names ({@link io.condense.data.text.TextBatch}). Used by calibration, evaluation
 * ({@link io.condense.eval.Fidelity}), pruning, distillation and the demo.
 */
package io.condense.data.text;
