#!/usr/bin/env bash
# Low-bit quantization benchmark on MNIST LeNet-300-100 (QAT INT8/W4A8 top-1, INT4 RTN vs GPTQ layer errors):
#   ./benchmarks/quant/run-lowbit.sh [TRAIN_LIMIT] [EPOCHS] [QAT_EPOCHS] [CALIB_SAMPLES]
#   ./benchmarks/quant/run-lowbit.sh 0 3 1 512        (full training set)
# Data: $CONDENSE_DATA/mnist or ../shared/data/mnist beside the checkout. Not part of the test run.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${CONDENSE_DATA:-$(cd .. && pwd)/shared/data}/mnist"
[ -d "$DATA" ] || DATA="$(cd ../.. 2>/dev/null && pwd)/shared/data/mnist"
./mvnw -o -q -B test-compile
./mvnw -o -q -B dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt >/dev/null
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
exec java -Xmx${BENCH_HEAP:-3g} -Dorg.bytedeco.javacpp.maxbytes=0 -Dorg.bytedeco.javacpp.maxphysicalbytes=0 \
  -cp "target/classes:target/test-classes:$(cat target/bench-cp.txt)" io.condense.quant.int4.LowBitBenchmark "$DATA" "${1:-20000}" "${2:-2}" "${3:-1}" "${4:-512}"
