#!/usr/bin/env bash
# Builds libfiner1_cuda.so against the libtorch of the python3 on PATH (pip PyTorch with CUDA; its headers are in
# torch/include) — run on a machine with that PyTorch, g++ and the CUDA headers (the lent GPU machine has all three).
#   bash src/FineR1.Core/Native/cuda/build.sh [output folder]      (default: this folder's build/)
# Writes the library and build-record.txt (versions, flags, NEEDED entries, exported f1_* symbols, sha256).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build}
mkdir -p "$out"
torch_dir=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
torch_version=$(python3 -c 'import torch; print(torch.__version__)')
cuda_include=""
for c in "${CUDA_HOME:-}" /usr/local/cuda "$(dirname "$(dirname "$(command -v nvcc 2>/dev/null || echo /x/x)")")"; do
  if [ -n "$c" ] && [ -f "$c/include/cuda_runtime_api.h" ]; then cuda_include=$c/include; break; fi
done
[ -n "$cuda_include" ] || { echo "build.sh: no CUDA headers (cuda_runtime_api.h) found; set CUDA_HOME" >&2; exit 1; }
flags=(-O2 -std=c++17 -shared -fPIC -D_GLIBCXX_USE_CXX11_ABI=$abi
  -I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include" -I"$cuda_include")
# Exported: the extern "C" f1_* functions only (everything else hidden).
# NEEDED: libc10, libc10_cuda, libtorch_cpu, libtorch_cuda (+ libstdc++/libc); no cudart (it comes with libtorch_cuda).
g++ "${flags[@]}" -Wl,--version-script="$here/exports.map" "$here/finer1_cuda.cpp" \
  -L"$torch_dir/lib" -Wl,--no-as-needed -lc10 -lc10_cuda -ltorch_cpu -ltorch_cuda -o "$out/libfiner1_cuda.so"
{
  echo "library: libfiner1_cuda.so"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -srm)"
  echo "torch: $torch_version ($torch_dir), _GLIBCXX_USE_CXX11_ABI=$abi"
  echo "compiler: $(g++ --version | head -n1)"
  echo "cuda headers: $cuda_include"
  echo "flags: ${flags[*]}"
  echo "sha256: $(sha256sum "$out/libfiner1_cuda.so" | cut -d' ' -f1)"
  echo "NEEDED:"; readelf -d "$out/libfiner1_cuda.so" | awk '/NEEDED/ {print "  " $NF}'
  echo "exports:"; nm -D --defined-only "$out/libfiner1_cuda.so" | awk '$2 == "T" {print "  " $3}' | sort
} > "$out/build-record.txt"
cat "$out/build-record.txt"
