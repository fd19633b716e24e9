using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Benchmarks;

/// <summary>
/// Batched generation throughput at the Qwen2.5-VL-3B shape (bf16, CUDA when available), the workload of the HF baseline
/// (see <see cref="GenerationWorkload"/>). New tokens per second = Batch × 128 / mean time.
/// Run: <c>dotnet run -c Release --project benchmarks/FineR1.Benchmarks -- --filter '*GenerationBenchmarks*'</c>.
/// </summary>
[HeavyJob]
public class GenerationBenchmarks
{
    private GenerationWorkload? _workload;

    [Params(1, 16, 64)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        FineR1.Core.Native.TorchSharpNativeLoader.EnsureInstalled();
        var device = cuda.is_available() ? CUDA : CPU;
        _workload = new GenerationWorkload("3b", device, device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32);
    }

    [Benchmark]
    public int Generate128() => _workload!.Run(Batch).Steps;

    [GlobalCleanup]
    public void Cleanup() => _workload?.Dispose();
}
