#!/usr/bin/env bash
# Stages the benchmarks (and the Category=Gpu tests) for the lent GPU machine, which has PyTorch (CUDA) but no .NET; see
# docs/gpu.md. Result: .gpu/bundle/ (git-ignored), at most 64 MiB, the limit of what travels with a device call:
#   apps.tar.xz            the published programs, identical files stored once (hard links) and xz-compressed
#   dotnet-runtime.tar.xz  the .NET runtime (packed once by ../shared/gpu/stage.sh)
#   run.sh                 bash .gpu/bundle/run.sh NAME [args]: unpacks once into /tmp/finer1-gpu and runs NAME
#   native/                libfiner1_cuda's sources and build script (built on the GPU machine)
#   decode-gpu-run.sh, hf_baseline.py, hf_compiled.py   the decode measurements of docs/performance.md in one call
# Options (environment): STAGE_TESTS=0 leaves out the Core tests; STAGE_TRAINING_TESTS=1 adds the Training tests (NCCL and
# ZeRO-2 on CUDA); STAGE_CLI=1 adds the finer1 CLI (quickstart's GPU preset).
# Run from the main checkout (the device sends the session's checkout, and a worktree's .git is a file).
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
[ -d .git ] || { echo "stage-gpu.sh: run it in the main checkout, not a worktree" >&2; exit 1; }
../shared/gpu/stage.sh benchmarks/FineR1.Benchmarks/FineR1.Benchmarks.csproj
# libtorch comes from the GPU machine's PyTorch: drop TorchSharp's CPU libtorch and what an in-process BenchmarkDotNet run
# never loads (disassembler, Roslyn, ETW tracing). libSkiaSharp stays: tapo-learning draws the synthetic world.
trim() {
  local t=$1
  find "$t" -maxdepth 1 \( -name 'libtorch*.so*' -o -name 'libc10*.so*' -o -name 'libgomp*.so*' -o -name 'libshm*.so' -o -name 'lib*backend*.so' \
       -o -name 'libaoti_custom_ops.so' -o -name 'libtorchbind_test.so' -o -name 'libnnapi_backend.so' \) -delete
  rm -rf "$t"/libcapstone.so "$t"/amd64 "$t"/x86 "$t"/arm64 "$t"/x64 "$t"/alpine "$t"/ubuntu "$t"/macos "$t"/CodeCoverage \
    "$t"/Microsoft.CodeCoverage* "$t"/Microsoft.Diagnostics.Tracing.TraceEvent.dll "$t"/Iced.dll "$t"/Microsoft.Diagnostics.Runtime.dll \
    "$t"/Gee.External.Capstone.dll "$t"/Microsoft.CodeAnalysis*.dll "$t"/*.xml
}
publish() {   # publish PROJECT NAME: a framework-dependent linux-x64 build into .gpu/apps/NAME
  local log=.gpu/$2.publish.log
  rm -rf ".gpu/apps/$2"
  dotnet publish "$1" -c Release -r linux-x64 --self-contained false -o ".gpu/apps/$2" > "$log" 2>&1 || { tail -n 30 "$log"; exit 1; }
  trim ".gpu/apps/$2"
}
rm -rf .gpu/apps && mkdir -p .gpu/apps && mv .gpu/FineR1.Benchmarks .gpu/apps/ && trim .gpu/apps/FineR1.Benchmarks
if [ "${STAGE_TESTS:-1}" = 1 ]; then   # xunit v3 test projects are executables: their Category=Gpu tests run there
  publish tests/FineR1.Core.Tests/FineR1.Core.Tests.csproj FineR1.Core.Tests
  t=.gpu/apps/FineR1.Core.Tests
  rm -rf "$t"/Fixtures/sft "$t"/Fixtures/eval "$t"/Fixtures/imaging "$t"/Fixtures/siglip_text "$t"/Fixtures/tokenizer
fi
if [ "${STAGE_TRAINING_TESTS:-0}" = 1 ]; then   # they build their tiny models in code
  publish tests/FineR1.Training.Tests/FineR1.Training.Tests.csproj FineR1.Training.Tests
  rm -rf .gpu/apps/FineR1.Training.Tests/Fixtures
fi
[ "${STAGE_CLI:-0}" = 1 ] && publish tools/FineR1.Cli/FineR1.Cli.csproj finer1
# Store identical files once (the apps share TorchSharp, SkiaSharp, the runtime-independent assemblies…): tar keeps hard links.
python3 - .gpu/apps <<'PY'
import hashlib, os, sys
seen = {}
for folder, _, files in sorted(os.walk(sys.argv[1])):
    for name in sorted(files):
        path = os.path.join(folder, name)
        digest = hashlib.sha256(open(path, 'rb').read()).hexdigest()
        if digest in seen: os.remove(path); os.link(seen[digest], path)
        else: seen[digest] = path
PY
rm -rf .gpu/bundle && mkdir -p .gpu/bundle
tar -C .gpu/apps -cf - . | xz -T0 -7 > .gpu/bundle/apps.tar.xz
cp .gpu/dotnet-runtime.tar.xz benchmarks/gpu-run.sh ../shared/gpu/hf_baseline.py ../shared/gpu/hf_compiled.py benchmarks/decode-gpu-run.sh .gpu/bundle/
mv .gpu/bundle/gpu-run.sh .gpu/bundle/run.sh
cp -r src/FineR1.Core/Native/cuda .gpu/bundle/native && rm -rf .gpu/bundle/native/build
rm -f .gpu/*.publish.log
size=$(du -sb .gpu/bundle | cut -f1)
echo "staged $(ls .gpu/apps | tr '\n' ' ')into .gpu/bundle: $((size / 1048576)) MiB (carry it: run's carry [\".gpu/bundle\"])"
[ "$size" -lt $((60 * 1048576)) ] || echo "warning: the bundle and the checkout together must stay under 64 MiB" >&2
