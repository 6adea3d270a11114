#!/usr/bin/env bash
# PTQ benchmark: float vs INT8 QDQ (minmax, percentile 99.99/99.999, entropy, mse) in ONNX Runtime CPU for LeNet-5
# (trained here), mnist-8 and tribuo-cnn-mnist: MNIST test top-1, agreement with float, size, batch-1 latency.
#   benchmarks/quant/run.sh [--epochs 1] [--train-steps N] [--calib 512] [--eval 10000] [--reps 50] [--warmup 10] [--threads 1]
# Data: shared data folder (../shared/data beside the checkout, or --data DIR). Not part of `./mvnw test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
./mvnw -o -q -B test-compile
./mvnw -o -q -B dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt -Dmdep.includeScope=test >/dev/null
exec java -Xmx${BENCH_HEAP:-3g} -Xss4m -Dorg.bytedeco.javacpp.maxbytes=0 -Dorg.bytedeco.javacpp.maxphysicalbytes=0 -Dorg.bytedeco.javacpp.logger=slf4j \
  -cp "target/test-classes:target/classes:$(cat target/bench-cp.txt)" io.condense.bench.QuantBenchmark "$@"
