using System.Diagnostics;
using FineR1.Core.Generation;
using FineR1.Core.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Benchmarks;

/// <summary>
/// <c>gpu-probe [3b|7b|smoke]</c>: the measurements behind docs/decode-path.md — whether CUDA graphs are available, the
/// host cost of one tiny TorchSharp op (10,000 × <c>x.add_(1)</c>), and the managed tensors created per decode step by
/// each decode backend (DisposeScope statistics; in-place ops that return their input are not counted).
/// </summary>
public static class GpuProbe
{
    public static void Run(string[] args)
    {
        TorchSharpNativeLoader.EnsureInstalled();
        var device = cuda.is_available() ? CUDA : CPU;
        Console.WriteLine($"device {device}; CUDA graphs available: {CudaGraphs.Available}; {CudaGraphs.UnavailableReason ?? $"libfiner1_cuda built for torch {CudaGraphs.CompiledTorchVersion}"}");

        using (var x = zeros(16, device: device))
        {
            for (int i = 0; i < 1000; i++) x.add_(1);
            Synchronize(device);
            foreach (var withScope in new[] { false, true })
            {
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < 10_000; i++)
                {
                    if (withScope) { using var scope = NewDisposeScope(); x.add(1); }   // a new result tensor per op
                    else x.add_(1);
                }
                Synchronize(device);
                Console.WriteLine($"TorchSharp {(withScope ? "x.add(1) (new tensor, disposed)" : "x.add_(1)")}: {sw.Elapsed.TotalMilliseconds * 1000 / 10_000:F2} µs per op");
            }
        }

        string shape = args.Length > 0 ? args[0] : "3b";
        using var workload = new GenerationWorkload(shape, device, device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32);
        foreach (var backend in new[] { DecodeBackend.Reference, DecodeBackend.Static })
        {
            workload.Backend = backend;
            var created = new List<long>();
            var stats = DisposeScopeManager.Statistics;
            workload.Run(1, newTokens: 12, sample: true, onToken: _ => created.Add(stats.CreatedInScopeCount + stats.CreatedOutsideScopeCount));
            // differences between consecutive steps (decode steps only: skip the prefill)
            var perStep = created.Skip(1).Zip(created.Skip(2), (a, b) => b - a).ToList();
            Console.WriteLine($"{backend}: {perStep.Average():F0} managed tensors created per decode step (sampling included), "
                + $"{perStep.Average() / workload.Config.Text.NumHiddenLayers:F1} per layer");
        }
    }

    private static void Synchronize(Device device)
    {
        if (device.type == DeviceType.CUDA) cuda.synchronize();
    }
}
