#!/usr/bin/env bash
# Microbenchmark of the CPU backend's hot kernels (GB/s or GFLOP/s and fraction of the machine's measured peak);
# see benchmarks/kernels.md. Not part of CI or `./mvnw test`.
#   benchmarks/kernels.sh [--ms N] [--only SUBSTRING]
# MVN_FLAGS (e.g. -o) go to Maven; BENCH_JAVA_OPTS (default -Xmx3g) to the JVM.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC2086
./mvnw -q -B ${MVN_FLAGS:-} test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
# shellcheck disable=SC2086
exec "$java" ${BENCH_JAVA_OPTS:--Xmx3g} \
  -Dorg.bytedeco.javacpp.maxbytes=0 -Dorg.bytedeco.javacpp.maxphysicalbytes=0 -Dorg.bytedeco.javacpp.logger=slf4j \
  -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" \
  io.condense.backend.cpu.KernelBench "$@"
