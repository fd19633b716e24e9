#!/usr/bin/env bash
# Stages the benchmarks for the lent GPU machine (see docs/gpu.md): ../shared/gpu/stage.sh, then drops what an
# in-process BenchmarkDotNet run never loads (disassembler, Roslyn, ETW tracing) to stay under the 64 MiB carry limit.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
../shared/gpu/stage.sh benchmarks/FineR1.Benchmarks/FineR1.Benchmarks.csproj "$@"
app=.gpu/FineR1.Benchmarks
rm -rf "$app"/libcapstone.so "$app"/Microsoft.CodeAnalysis*.dll "$app"/amd64 "$app"/x86 "$app"/arm64 "$app"/libSkiaSharp.so
cp ../shared/gpu/hf_baseline.py .gpu/
echo "after trimming: $(du -sh .gpu | cut -f1)"
