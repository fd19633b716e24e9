using System.Globalization;
using FineR1.Core.Checkpoints;
using FineR1.Training.Checkpointing;
using FineR1.Training.Distributed;
using FineR1.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Engine;

/// <summary>
/// One whole <see cref="TrainingOptimizer"/> per rank (one process, or classic data parallelism): the synchronizer makes
/// the gradients global, then every rank clips and steps its replica identically. Rank 0 writes checkpoints.
/// </summary>
internal sealed class ReplicatedOptimizer(TrainingOptimizer optimizer, IGradientSynchronizer? synchronizer) : IOptimizerStrategy
{
    /// <summary>The optimizer (its states and precision).</summary>
    public TrainingOptimizer Optimizer { get; } = optimizer;

    public IReadOnlyList<Parameter> Parameters => Optimizer.Parameters;

    public IReadOnlyList<string> Names => Optimizer.Names;

    public double LearningRate { get => Optimizer.LearningRate; set => Optimizer.LearningRate = value; }

    public OptimizerStepResult Step(double maxGradNorm)
    {
        synchronizer?.Synchronize(Optimizer.Parameters);   // the hook where data parallelism plugs in
        using var scope = NewDisposeScope();               // reading Parameter.grad creates tensor handles
        return GradientClipping.ClipAndStep(Optimizer.Parameters, Optimizer.Step, maxGradNorm);
    }

    public string Save(string outputDir, long step, Func<TrainingCheckpointContent> contentOnRank0, int keepLast)
    {
        var comm = synchronizer?.Communicator;
        if (comm is not null && comm.Rank != 0)   // the replicas are identical: rank 0 writes, the others wait for it
        {
            comm.Barrier();
            return Path.Combine(outputDir, TrainingCheckpoints.FolderPrefix + step.ToString(CultureInfo.InvariantCulture));
        }
        string folder;
        using (NewDisposeScope())
            folder = TrainingCheckpoints.Save(outputDir, contentOnRank0() with { OptimizerState = Optimizer.ExportState() }, keepLast);
        comm?.Barrier();
        return folder;
    }

    public void Load(string checkpointFolder, nn.Module model)
    {
        CheckpointLoader.Load(model, checkpointFolder);
        using var file = TrainingCheckpoints.OpenOptimizerState(checkpointFolder);
        Optimizer.ImportState(file);
    }

    public void Dispose() => Optimizer.Dispose();
}
