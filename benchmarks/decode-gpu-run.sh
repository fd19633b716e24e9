#!/usr/bin/env bash
# The decode measurements of docs/performance.md in one GPU call (about 9 minutes on an H100):
#   builds libfiner1_cuda against the machine's PyTorch, then FineR1 generate with CUDA graphs and with the static eager
#   step, the per-op probe, HF eager and HF static-cache + torch.compile, the 7B shape, and the Category=Gpu tests.
# Staging (dev machine): benchmarks/stage-gpu.sh, which writes .gpu/bundle (this script included).
# Run there (device call with carry [".gpu/bundle"]): bash .gpu/bundle/decode-gpu-run.sh   (results under $OUT)
set -uo pipefail
cd "$(dirname "$0")"
O=${OUT:-/tmp/out}; mkdir -p "$O"
exec > >(tee "$O/log.txt") 2>&1
left() { local v=$(( $1 - SECONDS )); [ $v -lt 1 ] && v=1; echo $v; }
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
bash native/build.sh /tmp/f1 && cp /tmp/f1/libfiner1_cuda.so /tmp/f1/build-record.txt "$O/"
export FINER1_CUDA_LIBRARY=/tmp/f1/libfiner1_cuda.so
python3 -c "
import torch, time
x = torch.zeros(16, device='cuda')
for _ in range(1000): x.add_(1)
torch.cuda.synchronize(); t = time.perf_counter()
for _ in range(10000): x.add_(1)
torch.cuda.synchronize(); print(f'PyTorch eager x.add_(1): {(time.perf_counter()-t)/1e4*1e6:.2f} us per op')"
bash run.sh FineR1.Benchmarks gpu-probe 3b
bash run.sh FineR1.Benchmarks gpu-generate 3b "$O/finer1-3b.json" 1 16 64
FINER1_BENCH_BACKEND=static bash run.sh FineR1.Benchmarks gpu-generate 3b "$O/finer1-3b-static.json" 1 64
bash run.sh FineR1.Benchmarks gpu-generate 7b "$O/finer1-7b.json" 1 64
timeout $(left 300) bash run.sh FineR1.Core.Tests -trait "Category=Gpu"
timeout $(left 380) python3 hf_baseline.py 3b "$O/hf-3b.json"
BATCHES="1 64" timeout $(left 570) python3 hf_compiled.py 3b "$O/hf-compiled-3b.json" vl
echo "END after ${SECONDS}s"
