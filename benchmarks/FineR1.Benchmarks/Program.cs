using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace FineR1.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project benchmarks/FineR1.Benchmarks -- --filter '*Tokenizer*'</c>.
/// Benchmarks run in-process (<see cref="InProcessEmitToolchain"/>, Jobs.cs) so the same build runs on the GPU machine, which has
/// the .NET runtime but no SDK (see docs/gpu.md).
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "gpu-info") { GpuInfo.Run(); return; }
        if (args.Length > 0 && args[0] == "gpu-generate") { GpuGenerate.Run(args[1..]); return; }
        if (args.Length > 0 && args[0] == "tapo-learning") { TapoLearning.Run(args[1..]); return; }
        if (args.Length > 0 && args[0] == "tapo-learning-plot") { TapoLearningPlot.Run(args[1..]); return; }
        if (args.Length > 0 && args[0] == "gpu-probe") { GpuProbe.Run(args[1..]); return; }
        // Each benchmark class names its job ([InProcessJob] or [HeavyJob], see Jobs.cs), both in-process.
        var config = DefaultConfig.Instance.WithOptions(ConfigOptions.DisableOptimizationsValidator);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
    }
}
