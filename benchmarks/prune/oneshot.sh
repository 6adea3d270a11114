#!/usr/bin/env bash
# One-shot pruning of a trained LeNet-300-100 without retraining: magnitude vs Wanda vs SparseGPT, unstructured
# (50%, and 70%/90% to separate them) and 2:4; MNIST test error of each. All three Gemm layers are pruned;
# calibration: 1024 training images (16 batches of 64).
#   ./benchmarks/prune/oneshot.sh [MODEL.onnx]     (default: trains one with `condense train`, 8 epochs, seed 1)
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
run() { # label, args...
  local label="$1"; shift
  local out
  out=$(./condense prune "$MODEL" "$@" --data "$DATA" --out "$WORK/oneshot.onnx")
  local before after
  before=$(grep -o 'error [0-9.]*% ->' <<<"$out" | head -1 | sed 's/error //; s/ ->//')
  after=$(grep -o -- '-> [0-9.]*%' <<<"$out" | tail -1 | sed 's/-> //')
  printf "| %-34s | %8s | %8s |\n" "$label" "$after" "$before"
}
echo "| pruning (no retraining) | test error | dense |"
echo "|---|---|---|"
for s in 0.5 0.7 0.9; do
  run "magnitude $s (per layer)" --method magnitude --sparsity "$s"
  run "wanda $s (per output, as the paper)" --method wanda --sparsity "$s"
  run "wanda $s (per layer)" --method magnitude --criterion wanda --sparsity "$s"
  run "sparsegpt $s (per layer)" --method sparsegpt --sparsity "$s"
done
for c in magnitude wanda sparsegpt; do
  run "2:4 $c" --method 2:4 --criterion "$c"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
