using System.Diagnostics;
using FineR1.Core.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Benchmarks;

/// <summary><c>gpu-info</c>: prints what TorchSharp sees and a bf16 matmul rate (a smoke test of the CUDA setup).</summary>
public static class GpuInfo
{
    public static void Run()
    {
        TorchSharpNativeLoader.EnsureInstalled();
        Console.WriteLine($"libtorch {torch.__version__}, CUDA available: {cuda.is_available()}, devices: {(cuda.is_available() ? cuda.device_count() : 0)}");
        Console.WriteLine($"native patch: {TorchSharpNativeLoader.Decision}");
        if (!cuda.is_available()) return;
        using var a = randn(8192, 8192, dtype: ScalarType.BFloat16, device: CUDA);
        for (int i = 0; i < 3; i++) matmul(a, a).Dispose();
        cuda.synchronize();
        var sw = Stopwatch.StartNew();
        const int n = 20;
        for (int i = 0; i < n; i++) matmul(a, a).Dispose();
        cuda.synchronize();
        double tflops = n * 2.0 * 8192 * 8192 * 8192 / sw.Elapsed.TotalSeconds / 1e12;
        Console.WriteLine($"bf16 matmul 8192^3: {tflops:F0} TFLOP/s");
    }
}
