#!/usr/bin/env bash
# Han et al. 2015 ("Learning both Weights and Connections"), iterative magnitude pruning with retraining:
#   LeNet-300-100: >= 12x fewer weights at <= 1.6% test error (paper: 1.64% -> 1.59%, 8% of weights kept)
#   LeNet-5:       >= 12x fewer weights at <= 0.8% test error (paper: 0.80% -> 0.77%)
# Global magnitude threshold at 92% of the Conv/Gemm weights (biases stay), 3 prune -> retrain rounds
# (kept fraction shrinking geometrically), SGD momentum 0.9 with cosine decay, best of the last round's epochs
# on 5000 held-out training images, then the MNIST test error.
#   ./benchmarks/prune/han.sh [lenet-300-100|lenet5|both] [TRAIN_EPOCHS] [FINE_TUNE_EPOCHS]
# defaults: both, 15 (lenet-300-100) / 8 (lenet5) dense epochs, 30 fine-tune epochs.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${CONDENSE_DATA:-$(cd .. && pwd)/shared/data}/mnist"
WORK="${WORK:-target/bench-prune}"
mkdir -p "$WORK"
WHICH="${1:-both}"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
one() { # model, dense epochs, dense lr, fine-tune epochs, fine-tune lr
  local m="$1" dense="$WORK/$1.onnx" pruned="$WORK/$1-han.onnx"
  [ -f "$dense" ] || ./condense train --model "$m" --data "$DATA" --epochs "$2" --lr "$3" --seed 1 --quiet --out "$dense" | tail -1
  local out
  out=$(./condense prune "$dense" --method global --sparsity 0.92 --data "$DATA" --schedule iterative --iterations 3 \
        --fine-tune-epochs "$4" --lr "$5" --weight-decay 1e-4 --out "$pruned")
  grep -E "^stage|sparsity:|non-zero parameters|test accuracy" <<<"$out"
}
if [ "$WHICH" = "lenet-300-100" ] || [ "$WHICH" = "both" ]; then one lenet-300-100 "${2:-15}" 0.05 "${3:-30}" 0.01; fi
if [ "$WHICH" = "lenet5" ] || [ "$WHICH" = "both" ]; then one lenet5 "${2:-8}" 0.02 "${3:-30}" 0.005; fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
