#!/usr/bin/env bash
# GPU test/benchmark payload for condense's CUDA backend. See ci/README.md.
#
#   ci/gpu-run.sh prepare   build machine (JDK 17 with jlink, Maven repo, nvcc): fills .gpu/ (git-ignored)
#   ci/gpu-run.sh test      GPU machine, repo root, .gpu/ carried: runs the @Tag("gpu") tests
#   ci/gpu-run.sh bench     GPU machine: runs benchmarks/gpu (GpuBench) and prints a table
#   ci/gpu-run.sh env       GPU machine: prints the library path it would use and what the JVM sees
#   ci/gpu-run.sh trt-fetch build machine: TensorRT's libraries (only those needed) in <= 60 MiB pieces into .gpu-trt/
#   ci/gpu-run.sh trt-assemble  GPU machine, after every piece was carried: .gpu-trt/parts -> .gpu/trt/lib
#   ci/gpu-run.sh cli ARGS  GPU machine: the condense CLI (export-trt, bench --backend cuda|trt) on the payload
#
# The payload holds no ND4J (its native jar alone is 90 MB): the GPU tests compare kernels with the Java references
# and ops with ONNX's expected outputs (CudaOnnxNodeTest); the per-op comparison with the CPU backend skips there.
set -euo pipefail
cd "$(dirname "$0")/.."
G=.gpu
MODULES=java.base,java.logging,java.management,java.sql,java.xml,java.scripting,jdk.unsupported,jdk.zipfs

prepare() {
  rm -rf "$G"; mkdir -p "$G/lib" "$G/data/onnx"
  # Maven fetches every jar of the payload (profile gpu-payload in pom.xml) into target/gpu-payload/; offline first,
  # online when something is missing (a fresh ~/.m2)
  ./mvnw -o -q -B -Pgpu-payload test-compile >/dev/null 2>&1 || ./mvnw -q -B -Pgpu-payload test-compile
  local P=target/gpu-payload
  [[ -f "$P/junit-console.jar" && -d "$P/lib" ]] || { echo "gpu-run.sh: $P incomplete after the Maven build" >&2; exit 2; }
  # the project's own classes and tests
  jar cf "$G/lib/condense.jar" -C target/classes .
  jar cf "$G/lib/condense-tests.jar" -C target/test-classes .
  # what the CUDA path needs at run time (no ND4J, no ONNX Runtime, no TensorRT libraries): CUDA and TensorRT presets
  # (Java + JNI glue), javacpp, protobuf, tribuo-util-onnx, picocli and jackson (the CLI's bench/export-trt)
  cp "$P"/lib/*.jar "$P"/trt-lib/*.jar "$G/lib/"
  cp "$P/junit-console.jar" "$G/junit-console.jar"
  # benchmarks
  mkdir -p "$G/bench-classes"
  javac -q --release 17 -d "$G/bench-classes" -cp "$G/lib/*" $(find benchmarks/gpu -name '*.java') 2>/dev/null \
    || javac --release 17 -d "$G/bench-classes" -cp "$G/lib/*" $(find benchmarks/gpu -name '*.java')
  jar cf "$G/lib/condense-bench.jar" -C "$G/bench-classes" . && rm -rf "$G/bench-classes"
  # kernels
  cuda-kernels/build.sh "$G/kernels" >/dev/null
  # ONNX node tests (small; reference data, not part of the repo)
  local data="${CONDENSE_DATA:-}"
  if [[ -z "$data" ]]; then for d in shared/data ../shared/data ../../shared/data; do [[ -d "$d/onnx/node" ]] && { data="$d"; break; }; done; fi
  if [[ -n "$data" && -d "$data/onnx/node" ]]; then cp -r "$data/onnx/node" "$G/data/onnx/"; else echo "note: $data/onnx/node not found; CudaOnnxNodeTest will skip" >&2; fi
  # a small JRE
  jlink --add-modules "$MODULES" --strip-debug $(command -v objcopy >/dev/null && echo --strip-native-debug-symbols=objcopy=$(command -v objcopy)) --no-header-files --no-man-pages --compress=2 --output "$G/jre"
  command -v strip >/dev/null && find "$G/jre/lib" -name '*.so' -exec chmod u+w {} + -exec strip --strip-unneeded {} + || true
  [[ -n "$data" && -d "$data/onnx/node" ]] || true
  echo "payload $G: $(du -sh "$G" | cut -f1) ($(du -sb "$G" | cut -f1) bytes)"
  du -sh "$G"/* | sort -h
  local bytes; bytes=$(du -sb "$G" | cut -f1)
  (( bytes < 60 * 1024 * 1024 )) || { echo "gpu-run.sh: payload over 60 MiB" >&2; exit 3; }
}

libpath() { # CUDA 13 libraries from the Python nvidia-* wheels, plus the driver
  local dirs=""
  local roots; roots=$(python3 -c 'import nvidia, sys; print("\n".join(nvidia.__path__))' 2>/dev/null || true)
  for r in $roots; do
    dirs="$dirs:$(find "$r" -name 'lib*.so*' -printf '%h\n' 2>/dev/null | sort -u | paste -sd:)"
  done
  [[ -d "$G/trt/lib" ]] && dirs="$dirs:$PWD/$G/trt/lib"
  for d in /usr/local/nvidia/lib64 /usr/local/cuda/lib64 /usr/lib/x86_64-linux-gnu; do [[ -d $d ]] && dirs="$dirs:$d"; done
  echo "${dirs#:}"
}

run_java() {
  [[ -x "$G/jre/bin/java" ]] || { echo "gpu-run.sh: $G/jre missing: run 'ci/gpu-run.sh prepare' and carry $G" >&2; exit 2; }
  export LD_LIBRARY_PATH="$(libpath)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  "$G/jre/bin/java" -Xmx8g -Dcondense.cuda.kernels="$G/kernels" -Dcondense.data="$G/data" \
    -Dorg.bytedeco.javacpp.cachedir="${TMPDIR:-/tmp}/javacpp-cache" "$@"
}

case "${1:-}" in
  prepare) prepare ;;
  env)
    echo "LD_LIBRARY_PATH=$(libpath)"
    run_java -cp "$G/lib/*" io.condense.bench.GpuBench --info ;;
  test)
    shift
    reports="${OUT:-$G}/junit"
    run_java -jar "$G/junit-console.jar" execute --class-path "$(ls $G/lib/*.jar | paste -sd:)" \
      --scan-class-path "$G/lib/condense-tests.jar" --include-tag gpu --details=tree --disable-banner \
      --reports-dir "$reports" "$@" ;;
  bench)
    shift
    run_java -cp "$G/lib/*" io.condense.bench.GpuBench "$@" ;;
  cli)
    shift
    run_java -cp "$G/lib/*" io.condense.cli.Main "$@" ;;
  trt-fetch)
    # ~556 MB of downloads (deflated, as stored in the redist jar); pieces are kept and skipped when complete
    python3 ci/trt-fetch.py fetch .gpu-trt --part-mib "${TRT_PART_MIB:-60}"
    echo "carry one piece per device call, e.g. carry [\".gpu-trt/parts/libnvinfer.so.11.part000\", \".gpu-trt/manifest.json\"];"
    echo "then on the GPU machine: ci/gpu-run.sh trt-assemble" ;;
  trt-assemble)
    python3 ci/trt-fetch.py assemble .gpu-trt "$G/trt/lib" && rm -rf .gpu-trt/parts ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
