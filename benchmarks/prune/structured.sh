#!/usr/bin/env bash
# Structured channel pruning at 50% of the MACs: LeNet-5 and resnet-small on MNIST.
# For each model: train dense (condense train), prune channels with dependency groups until half of the MACs are
# gone (condense prune --method channels --budget macs --sparsity 0.5), optionally fine-tune the smaller model
# (condense train --model pruned.onnx), then MNIST test accuracy of dense / pruned / fine-tuned, parameters, MACs,
# and latency of dense vs pruned in ONNX Runtime and condense's CPU executor side by side (benchmarks/run.sh).
#   ./benchmarks/prune/structured.sh [EPOCHS] [FINE_TUNE_EPOCHS] [TRAIN_LIMIT]
# defaults: 3 dense epochs, 1 fine-tune epoch, all 60000 training images. Run the timing on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${CONDENSE_DATA:-$(cd .. && pwd)/shared/data}/mnist"
WORK="${WORK:-target/bench-prune-structured}"
EPOCHS="${1:-3}" FT="${2:-1}" LIMIT="${3:-0}"
mkdir -p "$WORK"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
acc() { ./condense eval "$1" --data "$DATA" | grep -iE "accuracy" | tail -1; }
MODELS=()
set -o pipefail
for m in lenet5 resnet-small; do
  lr=0.02; [ "$m" = resnet-small ] && lr=0.05
  dense="$WORK/$m.onnx" pruned="$WORK/$m-ch50.onnx" ft="$WORK/$m-ch50-ft.onnx"
  [ -f "$dense" ] || ./condense train --model "$m" --data "$DATA" --epochs "$EPOCHS" --lr "$lr" --limit "$LIMIT" --seed 1 --quiet --out "$dense" | tail -1
  echo "== $m"
  ./condense prune "$dense" --method channels --budget macs --sparsity 0.5 --out "$pruned" | grep -E "channel ratio|channel groups|MACs|saved"
  echo "dense      : $(acc "$dense")"
  echo "pruned     : $(acc "$pruned")"
  if [ "$FT" -gt 0 ]; then
    ./condense train --model "$pruned" --data "$DATA" --epochs "$FT" --lr "$(awk "BEGIN{print $lr/5}")" --limit "$LIMIT" --seed 1 --quiet --out "$ft" | tail -1
    echo "fine-tuned : $(acc "$ft")"
    MODELS+=("$ft")
  fi
  MODELS+=("$dense" "$pruned")
done
echo "== latency (batch 1): condense CPU executor vs ONNX Runtime, dense and pruned"
benchmarks/run.sh --reps "${REPS:-50}" "${MODELS[@]}"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
