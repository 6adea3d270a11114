#!/usr/bin/env bash
# One-shot pruning of a trained LeNet-300-100 without retraining: magnitude vs Wanda vs SparseGPT at 50% unstructured
# and 2:4, MNIST test error of each (all Gemm layers pruned; calibration: 1024 training images).
#   ./benchmarks/prune/oneshot.sh [MODEL.onnx]     (default: trains one with `condense train`, 8 epochs)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${CONDENSE_DATA:-$(cd .. && pwd)/shared/data}/mnist"
WORK="${WORK:-target/bench-prune}"
mkdir -p "$WORK"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
MODEL="${1:-$WORK/lenet-300-100.onnx}"
if [ ! -f "$MODEL" ]; then
  ./condense train --model lenet-300-100 --data "$DATA" --epochs 8 --lr 0.05 --seed 1 --quiet --out "$MODEL" | tail -1
fi
printf "%-10s %-10s %s\n" pattern method "test error"
for pattern in 0.5 2:4; do
  for m in magnitude wanda sparsegpt; do
    if [ "$pattern" = "2:4" ]; then args=(--method 2:4 --criterion "$m"); else args=(--method "$m" --sparsity 0.5); fi
    [ "$m" = "wanda" ] && [ "$pattern" = "0.5" ] && args=(--method wanda --sparsity 0.5)
    out=$(./condense prune "$MODEL" "${args[@]}" --data "$DATA" --out "$WORK/oneshot-$m-${pattern/:/x}.onnx")
    before=$(grep -o 'error [0-9.]*% ->' <<<"$out" | head -1)
    err=$(grep -o -- '-> [0-9.]*%' <<<"$out" | tail -1)
    printf "%-10s %-10s %s (dense: %s)\n" "$pattern" "$m" "${err#-> }" "${before#error }"
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
