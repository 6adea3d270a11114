#!/usr/bin/env bash
# Dataset distillation on any IDX image folder with the papers' evaluation protocol: for each method and IPC,
# condense the training split, train RUNS fresh ConvNet-3 on the small set, test on the full test split.
#   benchmarks/distill/run.sh [DATA_DIR] [OUT_DIR]
# Environment: METHODS (default "random herding kcenter forgetting dm dc"), IPCS (default "1 10 50"), RUNS (5),
# EVAL_EPOCHS (DM paper: 1000; default 1000), DM_ITERATIONS (paper 20000; default 20000), DC_ITERATIONS (paper 1000;
# default 1000), REAL_BATCH (256), THREADS (0 = all cores).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${1:-$root/../shared/data/mnist}"
out="${2:-$root/target/bench-distill/data}"
methods="${METHODS:-random herding kcenter forgetting dm dc}"
ipcs="${IPCS:-1 10 50}"
runs="${RUNS:-5}"; epochs="${EVAL_EPOCHS:-1000}"; threads="${THREADS:-0}"
dmit="${DM_ITERATIONS:-20000}"; dcit="${DC_ITERATIONS:-1000}"; rb="${REAL_BATCH:-256}"
condense="${CONDENSE:-$root/condense}"
mkdir -p "$out"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  nproc $(nproc)"
echo "| method | IPC | accuracy (mean +- std over $runs runs) | synthesis/selection time | total time |" > "$out/table.md"
echo "|---|---|---|---|---|" >> "$out/table.md"
for m in $methods; do
  for k in $ipcs; do
    extra=()
    case "$m" in
      dm) extra=(--iterations "$dmit" --real-batch "$rb") ;;
      dc) ol=$([ "$k" = 1 ] && echo 1 || { [ "$k" = 10 ] && echo 10 || echo 50; })
          extra=(--iterations "$dcit" --real-batch "$rb" --outer-loop "$ol") ;;
    esac
    d="$out/$m-ipc$k"
    t0=$(date +%s)
    "$condense" distill-data --method "$m" --ipc "$k" --data "$data" --out "$d" --eval-runs "$runs" --eval-epochs "$epochs" \
        --threads "$threads" "${extra[@]}" | tee "$d.log"
    t1=$(date +%s)
    syn=$(grep -o 'in [0-9.]*s$' "$d.log" | head -1 | sed 's/in //')
    acc=$(grep '^accuracy:' "$d.log" | sed 's/accuracy: //')
    echo "| $m | $k | $acc | $syn | $((t1 - t0)) s |" >> "$out/table.md"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$out/table.md"
