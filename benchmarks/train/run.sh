#!/usr/bin/env bash
# MNIST training benchmark: ./benchmarks/train/run.sh MODEL EPOCHS [BATCH] [LR] [OPTIMIZER] [MAX_STEPS] [OUT.onnx]
#   ./benchmarks/train/run.sh lenet-300-100 20 64 0.05 sgd      (target: test error <= 1.7%)
#   ./benchmarks/train/run.sh lenet5 15 64 0.05 sgd             (target: test error <= 0.9%)
# Data: $CONDENSE_DATA/mnist or ../shared/data/mnist beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${CONDENSE_DATA:-$(cd .. && pwd)/shared/data}/mnist"
[ -d "$DATA" ] || DATA="$(cd ../.. 2>/dev/null && pwd)/shared/data/mnist"
./mvnw -o -q -B test-compile
./mvnw -o -q -B dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt >/dev/null
exec java -Xmx${BENCH_HEAP:-3g} -Dorg.bytedeco.javacpp.maxbytes=0 -Dorg.bytedeco.javacpp.maxphysicalbytes=0 \
  -cp "target/classes:target/test-classes:$(cat target/bench-cp.txt)" io.condense.train.TrainBenchmark "$1" "$DATA" "${@:2}"
