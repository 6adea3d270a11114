/**
 * Training engine: reverse-mode automatic differentiation over the IR ({@link io.condense.train.Tape}), training-mode
 * ops ({@link io.condense.train.TrainOps}, {@link io.condense.train.FakeQuantOps}), losses, optimizers and loops
 * ({@link io.condense.train.Trainer} for labelled data, {@link io.condense.train.EmbeddingTrainer} for matching a
 * teacher's sentence embeddings).
 *
 * <h2>One forward implementation, backward rules independent of the array library</h2>
 *
 * <p>The goal (issue 9 item 8): each op's forward semantics is implemented once and shared by inference and training,
 * so the two cannot drift; training adds only backward rules; and those rules do not depend on ND4J, so training can
 * later run on the CUDA backend (quantization-aware training on the GPU first).
 *
 * <p>How far this goes today:
 * <ul>
 *   <li><b>Shared forward.</b> The ops in {@code TrainOps.SHARED} run the CPU backend's inference kernel
 *       ({@link io.condense.backend.cpu.KernelRegistry#standard()}, the same code {@code CpuSession} runs) for their
 *       forward pass: Add, Sub, Mul, Div, Pow, Sqrt, Exp, Log, Neg, Reciprocal, Tanh, Erf, Identity, Softmax, MatMul,
 *       Transpose, Reshape, Flatten, Squeeze, Unsqueeze, Expand, Concat, Slice, Gather, Where, Cast, ReduceMean,
 *       ReduceSum, and the non-differentiable Shape, Size, Equal, Less, Greater, LessOrEqual, GreaterOrEqual, Not, And,
 *       Or, Xor, ConstantOfShape, ArgMax, ArgMin. Every op of MiniLM-L6 and TinyBERT except Gemm and Constant is among
 *       them. The training side adds one policy: floating values live in the tape's float type (float32 for training,
 *       float64 for gradient checks), so Cast to a float type and ConstantOfShape produce that type.</li>
 *   <li><b>Backward rules on an interface.</b> Those ops' backward rules are in {@link io.condense.train.GradRules},
 *       written against {@link io.condense.train.ArrayOps} (elementwise arithmetic with broadcasting, sum-to-shape,
 *       reshape/permute/broadcast, batched matmul, select, slice, scatter-add: about twenty methods) and importing
 *       no array library. {@link io.condense.train.Nd4jArrayOps} implements it for ND4J. A CUDA training backend
 *       implements {@code ArrayOps} over device buffers and reuses every rule unchanged.</li>
 *   <li><b>Not yet moved</b> (still forward and backward in ND4J inside {@code TrainOps}): Conv, MaxPool,
 *       AveragePool, GlobalAveragePool, BatchNormalization, LayerNormalization, Gemm, Relu, LeakyRelu, Sigmoid, Gelu,
 *       LogSoftmax, Dropout, Constant, and {@link io.condense.train.FakeQuantOps}. The {@link io.condense.train.Tape}
 *       itself, the losses and the optimizers still hold {@code INDArray}s; making the tape generic over the array
 *       type (and giving the CUDA backend kernels callable one node at a time, as the CPU {@code Kernel} interface
 *       is) is the remaining step for GPU training.</li>
 * </ul>
 *
 * <p>Checks: every rule is tested by float64 central differences and every forward against ONNX Runtime
 * ({@code TrainOpsGradTest}, {@code TransformerOpsGradTest}); the whole TinyBERT graph runs on the tape within 1e-4 of
 * ONNX Runtime and its gradients match finite differences ({@code TransformerTrainingTest}).
 */
package io.condense.train;
