#!/usr/bin/env bash
# Stages the benchmarks for the lent GPU machine (see docs/gpu.md): ../shared/gpu/stage.sh, then drops what an
# in-process BenchmarkDotNet run never loads (disassembler, Roslyn, ETW tracing) to stay under the 64 MiB carry limit.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
../shared/gpu/stage.sh benchmarks/FineR1.Benchmarks/FineR1.Benchmarks.csproj "$@"
app=.gpu/FineR1.Benchmarks
rm -rf "$app"/libcapstone.so "$app"/amd64 "$app"/x86 "$app"/arm64 "$app"/libSkiaSharp.so \
  "$app"/Microsoft.Diagnostics.Tracing.TraceEvent.dll "$app"/Iced.dll "$app"/Microsoft.Diagnostics.Runtime.dll "$app"/Gee.External.Capstone.dll \
  "$app"/Microsoft.CodeAnalysis*.dll "$app"/*.xml
cp ../shared/gpu/hf_baseline.py ../shared/gpu/hf_compiled.py .gpu/
# The native CUDA library is built on the GPU machine (decode-gpu-run.sh does it): its sources and build script.
rm -rf .gpu/native && cp -r src/FineR1.Core/Native/cuda .gpu/native && rm -rf .gpu/native/build
cp benchmarks/decode-gpu-run.sh .gpu/
# The Core test project too (xunit v3 tests are executables), for its Category=Gpu tests; trimmed to what they read.
if [ "${STAGE_TESTS:-1}" = 1 ]; then
  rm -rf .gpu/FineR1.Core.Tests
  dotnet publish tests/FineR1.Core.Tests/FineR1.Core.Tests.csproj -c Release -r linux-x64 --self-contained false -o .gpu/FineR1.Core.Tests > .gpu/tests.publish.log 2>&1 \
    || { tail -n 30 .gpu/tests.publish.log; exit 1; }
  t=.gpu/FineR1.Core.Tests
  find "$t" -maxdepth 1 \( -name 'libtorch*.so*' -o -name 'libc10*.so*' -o -name 'libgomp*.so*' -o -name 'libshm*.so' -o -name 'lib*backend*.so' \
       -o -name 'libaoti_custom_ops.so' -o -name 'libtorchbind_test.so' -o -name libSkiaSharp.so \) -delete
  rm -rf "$t"/CodeCoverage "$t"/alpine "$t"/ubuntu "$t"/macos "$t"/x64 "$t"/x86 "$t"/arm64 "$t"/Microsoft.CodeCoverage* \
    "$t"/Fixtures/sft "$t"/Fixtures/eval "$t"/Fixtures/imaging "$t"/Fixtures/siglip_text "$t"/Fixtures/tokenizer .gpu/*.publish.log \
    "$t"/*.xml "$t"/xunit.runner.visualstudio.testadapter.dll "$t"/Microsoft.VisualStudio.TestPlatform.ObjectModel.dll "$t"/Microsoft.ApplicationInsights.dll
fi
# STAGE_TRAINING_TESTS=1: the Training test project too (its Category=Gpu tests: NCCL and ZeRO-2 on CUDA). They build
# their tiny models in code, so fixtures and the drawing library are dropped.
if [ "${STAGE_TRAINING_TESTS:-0}" = 1 ]; then
  rm -rf .gpu/FineR1.Training.Tests
  dotnet publish tests/FineR1.Training.Tests/FineR1.Training.Tests.csproj -c Release -r linux-x64 --self-contained false -o .gpu/FineR1.Training.Tests > .gpu/training-tests.publish.log 2>&1 \
    || { tail -n 30 .gpu/training-tests.publish.log; exit 1; }
  t=.gpu/FineR1.Training.Tests
  find "$t" -maxdepth 1 \( -name 'libtorch*.so*' -o -name 'libc10*.so*' -o -name 'libgomp*.so*' -o -name 'libshm*.so' -o -name 'lib*backend*.so' \
       -o -name 'libaoti_custom_ops.so' -o -name 'libtorchbind_test.so' -o -name libSkiaSharp.so \) -delete
  rm -rf "$t"/CodeCoverage "$t"/alpine "$t"/ubuntu "$t"/macos "$t"/x64 "$t"/x86 "$t"/arm64 "$t"/Microsoft.CodeCoverage* "$t"/Fixtures .gpu/*.publish.log
fi
echo "after trimming: $(du -sh .gpu | cut -f1)"
