using System.Text.Json;
using FineR1.Core.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Benchmarks;

/// <summary>
/// <c>gpu-generate [3b|7b] [out.json] [batches…]</c>: the baseline's generation workload timed directly (one warm-up, one timed
/// run per batch size), printed as a table and written as JSON — the numbers of docs/performance.md.
/// </summary>
public static class GpuGenerate
{
    public static void Run(string[] args)
    {
        TorchSharpNativeLoader.EnsureInstalled();
        string shape = args.Length > 0 ? args[0] : "3b";
        string? output = args.Length > 1 ? args[1] : null;
        int[] batches = args.Length > 2 ? args[2..].Select(int.Parse).ToArray() : [1, 16, 64];
        var device = cuda.is_available() ? CUDA : CPU;
        using var workload = new GenerationWorkload(shape, device, device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32);
        var results = new Dictionary<string, object>();
        Console.WriteLine($"decode backend: {workload.Backend}; CUDA graphs available: {CudaGraphs.Available} ({CudaGraphs.UnavailableReason ?? $"libfiner1_cuda built for torch {CudaGraphs.CompiledTorchVersion}"})");
        Console.WriteLine($"FineR1 generate, Qwen2.5-VL-{shape} shape, {(device.type == DeviceType.CUDA ? "bf16" : "float32")}, {device}, prompt {GenerationWorkload.PromptIds().Length} tokens + 1 image, {GenerationWorkload.NewTokens} new tokens");
        foreach (var b in batches)
        {
            CudaGraphs.ResetPeakMemoryStats();
            var (seconds, tps, result) = workload.Measure(b);
            long peak = CudaGraphs.MemoryStats()?.PeakAllocatedBytes ?? 0;   // 0 without the native library
            results[$"generate_B{b}"] = new
            {
                seconds, new_tokens_per_s = tps, prefill_s = result.PrefillTime.TotalSeconds,
                decode_s = result.DecodeTime.TotalSeconds, decode_tokens_per_s_per_row = result.DecodeTokensPerSecond, peak_bytes = peak,
            };
            Console.WriteLine($"B={b,3}: {seconds,7:F2} s  {tps,9:F1} new tokens/s  (prefill {result.PrefillTime.TotalSeconds:F3} s, decode {result.DecodeTokensPerSecond:F1} steps/s, peak allocated {peak / 1e9:F1} GB)");
        }
        if (output is not null) File.WriteAllText(output, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
    }
}
