#!/usr/bin/env bash
# condense compress benchmarks: the product demo (MiniLM-L6 to INT8) and the int8 preset on mnist-8.
# Prints the load average with every result; run on an idle machine.
#   ./benchmarks/compress/run.sh            # demo + mnist-8 int8
#   ./benchmarks/compress/run.sh demo       # only the demo
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f target/condense.jar ] || ./mvnw -q -B -DskipTests package
out=${OUT:-target/bench-compress}
mkdir -p "$out"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), cores: $(nproc)"
what=${1:-all}
if [ "$what" = all ] || [ "$what" = demo ]; then
  rm -rf "$out/demo"
  /usr/bin/time -f "demo wall %e s, max RSS %M KB" ./condense demo --out "$out/demo"
  echo "load average after demo: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
if [ "$what" = all ] || [ "$what" = mnist ]; then
  data=${CONDENSE_DATA:-../shared/data}
  rm -rf "$out/mnist8"
  /usr/bin/time -f "mnist-8 int8 wall %e s" ./condense compress "$data/onnx/models/mnist-8/model.onnx" --preset int8 \
      --data "$data/mnist" --scale 1 --out "$out/mnist8" --exhaustive
  echo "load average after mnist-8: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
