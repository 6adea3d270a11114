#!/usr/bin/env bash
# PTQ calibration and quantization-sensitivity time, cpu backend (condense's executor) vs ort (ONNX Runtime), on mnist-8.
#   benchmarks/ort/calib.sh [--data DIR] [--threads N] [--sens-batches N] [--calib-batches N (smoke tests; default 0 = all)]
# 1. full calibration: `condense quantize mnist-8 --calib mnist/ --batches 0` reads all 60,000 MNIST training images
#    (mnist-8 has a fixed batch of 1, so 60,000 runs of the probe graph with every calibrated tensor as an extra output);
# 2. sensitivity sweep: `--sensitivity` on the first N training images (default 2,000): every quantizable layer
#    quantized alone plus the float and fully quantized models, each evaluated over the N images.
# Each step runs on both backends, alternating cpu, ort, cpu, ort, and prints the wall time, the time calibration itself
# reports and the load average before and after. Run it on an idle machine; no figure from a busy one is a result.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=""
THREADS=0
SENS=2000
CALIB=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data) DATA="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --sens-batches) SENS="$2"; shift 2 ;;
    --calib-batches) CALIB="$2"; shift 2 ;;
    *) sed -n '2,9p' "$0"; exit 2 ;;
  esac
done
if [[ -z "$DATA" ]]; then for d in ../shared/data shared/data; do [[ -d "$d/mnist" ]] && { DATA="$d"; break; }; done; fi
[[ -n "$DATA" && -f "$DATA/onnx/models/mnist-8/model.onnx" && -d "$DATA/mnist" ]] || { echo "calib.sh: shared data (mnist/, onnx/models/mnist-8) not found; pass --data DIR" >&2; exit 2; }
MODEL="$DATA/onnx/models/mnist-8/model.onnx"
OUT="$(mktemp -d)"; trap 'rm -rf "$OUT"' EXIT
./condense --version >/dev/null  # builds target/condense.jar if needed, outside the timings
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
# mnist-8 takes pixels 0..255: --scale 1
run() { # label backend args...
  local label="$1" be="$2"; shift 2
  local l0 t0 t1 log; l0="$(cut -d' ' -f1-3 /proc/loadavg)"; log="$OUT/$label-$be.log"
  t0=$(date +%s.%N)
  ./condense quantize "$MODEL" --calib "$DATA/mnist" --scale 1 --backend "$be" --threads "$THREADS" --out "$OUT/q-$be.onnx" "$@" >"$log" 2>&1 \
    || { echo "calib.sh: $label on $be failed:"; tail -3 "$log"; exit 1; }
  t1=$(date +%s.%N)
  printf '%-12s %-4s wall %8.1f s   %-60s load %s -> %s\n' "$label" "$be" "$(echo "$t1 - $t0" | bc)" \
    "$(grep -m1 '^calibrated' "$log" || true)" "$l0" "$(cut -d' ' -f1-3 /proc/loadavg)"
}
echo "== full PTQ calibration, ${CALIB/#0/60,000} training images, batch 1 (threads: ${THREADS/#0/default}) =="
for be in cpu ort cpu ort; do run calibration "$be" --batches "$CALIB"; done
echo "== sensitivity sweep over $SENS training images =="
for be in cpu ort cpu ort; do run sensitivity "$be" --batches "$SENS" --sensitivity; done
echo "(wall includes JVM start, model and MNIST loading; 'calibrated ... in X s' is calibration alone)"
