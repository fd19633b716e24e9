using BenchmarkDotNet.Attributes;
using FineR1.Core.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Benchmarks;

/// <summary>
/// Load throughput of <see cref="CheckpointLoader"/> on a generated ~200 MB checkpoint (50 tensors of 1024×1024):
/// F32 file into an F32 module (read straight into parameter memory), and BF16 file into an F32 module (one
/// temporary per tensor, then a dtype conversion). GB/s = 209.7 MB / Mean; each run also prints the report's GB/s.
/// Run: <c>dotnet run -c Release --project benchmarks/FineR1.Benchmarks -- --filter '*Checkpoint*'</c>.
/// </summary>
[MemoryDiagnoser]
[InProcessJob]
public class CheckpointBenchmarks
{
    private const int Layers = 50;
    private const int Size = 1024;
    private string _folderF32 = "";
    private string _folderBf16 = "";
    private Stack _module = null!;

    /// <summary>A module of <see cref="Layers"/> linear layers, named like HF (<c>layers.N.weight</c>).</summary>
    public sealed class Stack : nn.Module
    {
        public ModuleList<Linear> layers = new();

        public Stack() : base("stack")
        {
            for (int i = 0; i < Layers; i++) layers.Add(nn.Linear(Size, Size, hasBias: false));
            RegisterComponents();
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        FineR1.Core.Native.TorchSharpNativeLoader.EnsureInstalled();
        var root = Path.Combine(Path.GetTempPath(), "finer1-checkpoint-bench-" + Guid.NewGuid().ToString("N")[..8]);
        _folderF32 = Path.Combine(root, "f32");
        _folderBf16 = Path.Combine(root, "bf16");
        _module = new Stack();
        CheckpointWriter.Save(_module, _folderF32);
        CheckpointWriter.Save(_module, _folderBf16, new CheckpointSaveOptions { DType = ScalarType.BFloat16 });
        Console.WriteLine($"// checkpoint: {new FileInfo(Path.Combine(_folderF32, "model.safetensors")).Length / 1e6:F1} MB (F32)");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _module.Dispose();
        Directory.Delete(Path.GetDirectoryName(_folderF32)!, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "F32 file -> F32 module (direct read)")]
    public double LoadF32() => Report(CheckpointLoader.Load(_module, _folderF32));

    [Benchmark(Description = "BF16 file -> F32 module (convert)")]
    public double LoadBf16IntoF32() => Report(CheckpointLoader.Load(_module, _folderBf16));

    private static double Report(CheckpointLoadReport report)
    {
        Console.WriteLine($"// {report.BytesRead / 1e6:F1} MB in {report.Elapsed.TotalMilliseconds:F1} ms = {report.GigabytesPerSecond:F2} GB/s");
        return report.GigabytesPerSecond;
    }
}
