#!/usr/bin/env bash
# Sparse CPU kernel vs dense (same condense executor) and ONNX Runtime, at 50/70/80/90/95% unstructured sparsity,
# batch 1 and 32, on a 1024x1024 MatMul, a 768->3072 FFN MatMul and a 256->256 1x1 Conv (14x14):
#   benchmarks/prune/sparse-kernel.sh [--reps 30] [--warmup 5]
# Prints the load average before and after: run it on an idle machine. Not part of `./mvnw test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
./mvnw -o -q -B test-compile
./mvnw -o -q -B dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt -Dmdep.includeScope=test >/dev/null
exec java -Xmx${BENCH_HEAP:-3g} -Xss4m -Dorg.bytedeco.javacpp.maxbytes=0 -Dorg.bytedeco.javacpp.maxphysicalbytes=0 \
  -cp "target/test-classes:target/classes:$(cat target/bench-cp.txt)" io.condense.bench.SparseKernelBenchmark "$@"
