#!/usr/bin/env bash
# Latency of condense's CPU executor vs ONNX Runtime Java (CPU) in one run; see benchmarks/README.md.
#   benchmarks/run.sh [--reps N] [--warmup N] [--threads N] [--seq N] [MODEL.onnx ...]
# Not part of CI or `./mvnw test`. MVN_FLAGS (e.g. -o) go to Maven; BENCH_JAVA_OPTS (default -Xmx6g) to the JVM.
set -euo pipefail
cd "$(dirname "$0")/.."
# compiles main + test + benchmarks/src/main/java (a test source root) and writes the test class path
# shellcheck disable=SC2086
./mvnw -q -B ${MVN_FLAGS:-} test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
# as in ./condense: OpenMP threads sleep instead of spinning while waiting (set OMP_WAIT_POLICY=ACTIVE on an idle
# machine to measure ND4J with spinning threads; see benchmarks/README.md)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
# shellcheck disable=SC2086
exec "$java" ${BENCH_JAVA_OPTS:--Xmx6g} -Xss4m \
  -Dorg.bytedeco.javacpp.maxbytes=0 -Dorg.bytedeco.javacpp.maxphysicalbytes=0 -Dorg.bytedeco.javacpp.logger=slf4j \
  -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" \
  io.condense.bench.Benchmark "$@"
