#!/usr/bin/env bash
# Compiles every cuda-kernels/*.cu into target/cuda-kernels/<name>.fatbin holding SASS for sm_80 (A100) and sm_90
# (H100/H200) plus compute_90 PTX (so newer GPUs can JIT it). Files listed in HOPPER_ONLY also get a
# compute_90a/sm_90a image (wgmma, setmaxnreg); none of the current kernels uses Hopper-only instructions.
# Usage: cuda-kernels/build.sh [out-dir]   (NVCC=/path/to/nvcc to override; JOBS=n parallel compiles)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../target/cuda-kernels}"
mkdir -p "$out"
NVCC="${NVCC:-$(command -v nvcc || true)}"
for c in /usr/local/cuda/bin/nvcc /usr/local/bin/nvcc; do [[ -z "$NVCC" && -x "$c" ]] && NVCC="$c"; done
[[ -n "$NVCC" ]] || { echo "build.sh: nvcc not found (set NVCC=...)" >&2; exit 2; }
HOPPER_ONLY=" "   # e.g. " int8_gemm_wgmma "
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"

compile() {
  local src="$1" name; name="$(basename "$src" .cu)"
  local gen=(-gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_90,code=sm_90 -gencode=arch=compute_90,code=compute_90)
  [[ "$HOPPER_ONLY" == *" $name "* ]] && gen+=(-gencode=arch=compute_90a,code=sm_90a)
  "$NVCC" -std=c++17 -O3 -lineinfo -Xptxas=-warn-spills "${gen[@]}" -fatbin -o "$out/$name.fatbin" "$src" \
    && echo "built $out/$name.fatbin ($(stat -c %s "$out/$name.fatbin") bytes)"
}
export -f compile; export NVCC out HOPPER_ONLY
ls "$here"/*.cu | xargs -P "$JOBS" -I{} bash -c 'compile "$@"' _ {}
