using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace FineR1.Benchmarks;

/// <summary>
/// BenchmarkDotNet's default job, run in-process: the GPU machine has the .NET runtime but no SDK to build the usual
/// out-of-process benchmark host (docs/gpu.md). For micro-benchmarks (tokenizer, images, checkpoints).
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class InProcessJobAttribute : JobConfigBaseAttribute
{
    public InProcessJobAttribute() : base(Job.Default.WithToolchain(InProcessEmitToolchain.Instance)) { }
}

/// <summary>
/// For workloads of seconds per invocation (generation, training steps): one launch, one warm-up and three measured
/// iterations, no pilot stage, in-process.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class HeavyJobAttribute : JobConfigBaseAttribute
{
    public HeavyJobAttribute() : base(Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1)
        .WithWarmupCount(1).WithIterationCount(3).WithToolchain(InProcessEmitToolchain.Instance)) { }
}
