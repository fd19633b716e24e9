using FineR1.Training.Checkpointing;
using FineR1.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;

namespace FineR1.Training.Engine;

/// <summary>
/// How the <see cref="TrainingEngine"/> turns accumulated local gradients into updated weights and how it saves and
/// restores optimizer state: replicated (<see cref="ReplicatedOptimizer"/>) or ZeRO-2 sharded (<see cref="ShardedOptimizer"/>).
/// </summary>
internal interface IOptimizerStrategy : IDisposable
{
    /// <summary>The trained parameters, each tensor once.</summary>
    IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Their state-dict names, in <see cref="Parameters"/> order.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>Learning rate of the next <see cref="Step"/>.</summary>
    double LearningRate { get; set; }

    /// <summary>Gradient synchronisation, clipping to the global norm, the optimizer update unless the norm is not
    /// finite, zeroed gradients. Collective in data-parallel runs.</summary>
    OptimizerStepResult Step(double maxGradNorm);

    /// <summary>Collective: writes <c>checkpoint-{step}</c>; <paramref name="contentOnRank0"/> is called on rank 0 only.</summary>
    string Save(string outputDir, long step, Func<TrainingCheckpointContent> contentOnRank0, int keepLast);

    /// <summary>Loads the checkpoint's weights into <paramref name="model"/> and its optimizer state.</summary>
    void Load(string checkpointFolder, torch.nn.Module model);
}
