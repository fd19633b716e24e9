#!/usr/bin/env bash
# On the GPU machine: bash .gpu/bundle/run.sh NAME [args...]   (NAME = a program staged by benchmarks/stage-gpu.sh)
# Unpacks the staged programs and the .NET runtime once per machine, and points TorchSharp at the machine's PyTorch
# CUDA libraries (docs/gpu.md, option 2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=$1; shift
apps=/tmp/finer1-gpu
exec 9>/tmp/finer1-gpu.lock && flock 9   # several programs may start at once: unpack once
if [ ! -f "$apps/.unpacked" ]; then mkdir -p "$apps" && tar -xJf "$here/apps.tar.xz" -C "$apps" && touch "$apps/.unpacked"; fi
if [ ! -x /tmp/dotnet/dotnet ]; then mkdir -p /tmp/dotnet && tar -xJf "$here/dotnet-runtime.tar.xz" -C /tmp/dotnet; fi
flock -u 9
# The benchmarks look for the tokenizer fixture above their own folder; the unpacked programs are not in the checkout.
fixture=$(cd "$here/../.." && pwd)/tests/Fixtures/tokenizer/qwen-tokenizer.json.gz
[ -z "${FINER1_TOKENIZER:-}" ] && [ -f "$fixture" ] && export FINER1_TOKENIZER=$fixture
export DOTNET_ROOT=/tmp/dotnet PATH=/tmp/dotnet:$PATH DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
torchlib=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$torchlib:${LD_LIBRARY_PATH:-}"
exec dotnet "$apps/$name/$name.dll" "$@"
