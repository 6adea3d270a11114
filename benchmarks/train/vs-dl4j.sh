#!/usr/bin/env bash
# Training throughput, condense vs DL4J 1.0.0-M2.1, same process, alternated rounds (MNIST, batch 64, SGD Nesterov 0.9):
#   ./benchmarks/train/vs-dl4j.sh [MODELS] [ROUNDS] [STEPS] [WARMUP] [LR]
#   ./benchmarks/train/vs-dl4j.sh lenet-300-100:1000,lenet5:100 5 200 50 0.01   (the defaults; MODEL:STEPS timed steps per round)
# -Dthreads=N via BENCH_THREADS (default: all cores when idle, 1 when the load exceeds the cores).
# Data: $CONDENSE_DATA/mnist or ../shared/data/mnist beside the checkout. Not part of the test run.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${CONDENSE_DATA:-$(cd .. && pwd)/shared/data}/mnist"
[ -d "$DATA" ] || DATA="$(cd ../.. 2>/dev/null && pwd)/shared/data/mnist"
./mvnw -o -q -B test-compile
./mvnw -o -q -B dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt >/dev/null
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
echo "uptime: $(uptime)"
exec java -Xmx${BENCH_HEAP:-3g} -Dorg.bytedeco.javacpp.maxbytes=0 -Dorg.bytedeco.javacpp.maxphysicalbytes=0 \
  ${BENCH_THREADS:+-Dthreads=$BENCH_THREADS} \
  -cp "target/classes:target/test-classes:$(cat target/bench-cp.txt)" io.condense.bench.TrainVsDl4j "$DATA" \
  "${1:-lenet-300-100:1000,lenet5:100}" "${2:-5}" "${3:-200}" "${4:-50}" "${5:-0.01}"
