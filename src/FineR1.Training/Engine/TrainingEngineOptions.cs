using FineR1.Training.Checkpointing;
using FineR1.Training.Distributed;
using FineR1.Training.Optimization;

namespace FineR1.Training.Engine;

/// <summary>What a trainer tells the <see cref="TrainingEngine"/>: optimizer, clipping, schedule, checkpoints, sharding.</summary>
public sealed record TrainingEngineOptions
{
    /// <summary>The trainer's name, written into <see cref="TrainerState.Trainer"/> and checked on resume (<c>"sft"</c>, <c>"tapo"</c>).</summary>
    public required string TrainerName { get; init; }

    /// <summary>AdamW hyperparameters; <see cref="AdamWSettings.LearningRate"/> is the peak of <see cref="LearningRateSchedule"/>.</summary>
    public required AdamWSettings AdamW { get; init; }

    /// <summary>dtype of the optimizer states relative to the weights.</summary>
    public OptimizerStatePrecision OptimizerStates { get; init; } = OptimizerStatePrecision.WeightDType;

    /// <summary>Clip the gradients to this global L2 norm before each optimizer step (non-finite norms skip the step).</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Learning rate at scheduler step s (0-based); null = <see cref="AdamWSettings.LearningRate"/> throughout.</summary>
    public Func<int, double>? LearningRateSchedule { get; init; }

    /// <summary>Checkpoints, resume and metrics (<see cref="CheckpointingOptions.OutputDir"/> null = none).</summary>
    public CheckpointingOptions Checkpointing { get; init; } = new();

    /// <summary>Optimizer partitioning over the synchronizer's ranks: <see cref="ZeroStage.None"/> (a whole optimizer per
    /// rank, gradients all-reduced by the synchronizer) or <see cref="ZeroStage.Two"/> (ZeRO-2 shards).</summary>
    public ZeroStage ZeroStage { get; init; } = ZeroStage.None;
}
