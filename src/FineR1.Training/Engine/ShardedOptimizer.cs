using FineR1.Training.Checkpointing;
using FineR1.Training.Distributed;
using FineR1.Training.Distributed.Zero;
using FineR1.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;

namespace FineR1.Training.Engine;

/// <summary>
/// ZeRO-2 (<see cref="ZeroRedundancyOptimizer"/>): backward accumulates into one flat gradient buffer; the step
/// reduce-scatters it into per-rank shards (summed: the trainers divide their losses by global counts), clips by the
/// global norm, runs AnyPrecisionAdamW on this rank's shard and all-gathers the parameters. Every rank writes its
/// optimizer shard with each checkpoint (<see cref="ZeroCheckpoints"/>), rank 0 the HF-layout weights.
/// </summary>
internal sealed class ShardedOptimizer : IOptimizerStrategy
{
    private readonly ZeroRedundancyOptimizer _zero;

    private ShardedOptimizer(ZeroRedundancyOptimizer zero) => _zero = zero;

    /// <summary>
    /// Flattens <paramref name="trainable"/> into ZeRO's buffers over <paramref name="group"/> with the same state dtype,
    /// Kahan summation and decay groups as <see cref="TrainingOptimizer.Create"/> would choose. The weights are not
    /// broadcast here: <see cref="TrainingEngine.Start"/> aligns the replicas after a resume.
    /// </summary>
    public static ShardedOptimizer Create(IEnumerable<(string Name, Parameter Parameter)> trainable, ICommunicator group,
        AdamWSettings settings, OptimizerStatePrecision states)
    {
        var list = trainable.ToList();
        if (list.Count == 0) throw new ArgumentException("no trainable parameters.", nameof(trainable));
        var (stateDType, kahan) = TrainingOptimizer.StatePrecision(list[0].Parameter.dtype, states);
        Func<string, bool>? decays = settings.ExcludeNormsAndBiasesFromDecay ? name => !ParameterGroups.IsNoDecayName(name) : null;
        return new ShardedOptimizer(new ZeroRedundancyOptimizer(list, group, new ZeroSettings(settings, stateDType, kahan, ReduceOp.Sum),
            decays, broadcastFromRank0: false));
    }

    /// <summary>The ZeRO optimizer (its layout and shard).</summary>
    public ZeroRedundancyOptimizer Zero => _zero;

    public IReadOnlyList<Parameter> Parameters => _zero.Parameters;

    public IReadOnlyList<string> Names => _zero.Layout.Slots.Select(s => s.Name).ToList();

    public double LearningRate { get => _zero.LearningRate; set => _zero.LearningRate = value; }

    public OptimizerStepResult Step(double maxGradNorm) => _zero.Step(maxGradNorm);

    public string Save(string outputDir, long step, Func<TrainingCheckpointContent> contentOnRank0, int keepLast) =>
        ZeroCheckpoints.Save(outputDir, step, _zero, contentOnRank0, keepLast);

    public void Load(string checkpointFolder, torch.nn.Module model) => ZeroCheckpoints.Load(checkpointFolder, _zero, model);

    public void Dispose() => _zero.Dispose();
}
