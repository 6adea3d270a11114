#!/usr/bin/env bash
# Deep Compression (Han et al. 2016) file size: a pruned LeNet-300-100 (benchmarks/prune/han.sh) with INT8 (QDQ,
# per-channel weights) or INT4 (weight-only RTN, one scale per output row) weights, stored as ONNX and
# entropy-coded with gzip -9 / xz -9e. Target: >= 40x smaller than the dense float32 ONNX at <= 1.6% test error
# (paper: 40x at 1.58%, with pruning + 6-bit weight sharing + Huffman coding of values and sparse indices).
# RTN keeps the pruned zeros exactly zero (code 0, zero point 0), so sparsity survives quantization.
#   ./benchmarks/prune/deep-compression.sh [PRUNED.onnx] [DENSE.onnx]
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${CONDENSE_DATA:-$(cd .. && pwd)/shared/data}/mnist"
WORK="${WORK:-target/bench-prune}"
PRUNED="${1:-$WORK/lenet-300-100-han.onnx}"
DENSE="${2:-$WORK/lenet-300-100.onnx}"
[ -f "$PRUNED" ] || { echo "run benchmarks/prune/han.sh lenet-300-100 first (or pass a pruned model)"; exit 1; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
./condense int4 "$PRUNED" --method rtn --group 1024 --out "$WORK/dc-int4.onnx" >/dev/null
./condense quantize "$PRUNED" --calib "$DATA" --out "$WORK/dc-int8.onnx" >/dev/null
base=$(stat -c %s "$DENSE")
echo "| model | test error | ONNX bytes | gzip -9 | xz -9e | ratio (best vs dense ONNX) |"
echo "|---|---|---|---|---|---|"
for f in "$DENSE" "$PRUNED" "$WORK/dc-int8.onnx" "$WORK/dc-int4.onnx"; do
  err=$(./condense eval "$f" --data "$DATA" | awk '{printf "%.2f%%", 100 * (1 - $2)}')
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  xz=$(xz -9e -c "$f" | wc -c)
  best=$(( gz < xz ? gz : xz ))
  printf "| %s | %s | %d | %d | %d | %.1fx |\n" "$(basename "$f")" "$err" "$raw" "$gz" "$xz" "$(echo "$base / $best" | bc -l)"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
