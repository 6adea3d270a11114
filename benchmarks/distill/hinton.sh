#!/usr/bin/env bash
# Hinton, Vinyals & Dean 2015, MNIST: teacher 2x1200 ReLU (dropout, +-2 pixel jitter), student 2x800 trained alone,
# and the same student distilled from the teacher at T = 20. Paper: 67 / 146 / 74 test errors.
#   benchmarks/distill/hinton.sh [DATA_DIR] [OUT_DIR]
# Epochs: TEACHER_EPOCHS (default 60), STUDENT_EPOCHS (default 60); ALPHA (default 0.9); THREADS (default 0 = all cores).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${1:-$root/../shared/data/mnist}"
out="${2:-$root/target/bench-distill/hinton}"
te="${TEACHER_EPOCHS:-60}"; se="${STUDENT_EPOCHS:-60}"; alpha="${ALPHA:-0.9}"; threads="${THREADS:-0}"
condense="${CONDENSE:-$root/condense}"
mkdir -p "$out"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  nproc $(nproc)"
t0=$(date +%s)
"$condense" distill --student mlp-1200-1200 --input-dropout 0.2 --dropout 0.5 --jitter 2 --alpha 0 --epochs "$te" \
    --lr 0.1 --data "$data" --out "$out/teacher.onnx" --threads "$threads" | tee "$out/teacher.log"
t1=$(date +%s)
"$condense" distill --student mlp-800-800 --alpha 0 --epochs "$se" --lr 0.1 \
    --data "$data" --out "$out/student-alone.onnx" --threads "$threads" | tee "$out/student-alone.log"
t2=$(date +%s)
"$condense" distill --teacher "$out/teacher.onnx" --student mlp-800-800 --temperature 20 --alpha "$alpha" --epochs "$se" --lr 0.1 \
    --data "$data" --out "$out/student-distilled.onnx" --threads "$threads" | tee "$out/student-distilled.log"
t3=$(date +%s)
err() { grep '^accuracy:' "$1" | sed -E 's/.*\(([0-9]+) test errors.*/\1/'; }
echo
echo "| model | test errors (this run) | paper | wall time |"
echo "|---|---|---|---|"
echo "| teacher 2x1200, dropout + jitter, $te epochs | $(err "$out/teacher.log") | 67 | $((t1 - t0)) s |"
echo "| student 2x800 alone, $se epochs | $(err "$out/student-alone.log") | 146 | $((t2 - t1)) s |"
echo "| student 2x800 distilled, T = 20, alpha $alpha, $se epochs | $(err "$out/student-distilled.log") | 74 | $((t3 - t2)) s |"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
