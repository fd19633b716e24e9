using FineR1.Training.Checkpointing;
using Microsoft.Extensions.Options;

namespace FineR1.Training.Tapo;

/// <summary>Checks <see cref="TapoOptions"/>, at host start through DI and in the <see cref="Trainer.TapoTrainer"/> constructor
/// (<see cref="TrainingOptionsValidation"/>); every problem is reported with its option path.</summary>
public sealed class TapoOptionsValidator : IValidateOptions<TapoOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TapoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        void Check(bool ok, string message) { if (!ok) errors.Add(message); }

        if (options.Rollout is null || options.Algorithm is null || options.Optimization is null)
            return ValidateOptionsResult.Fail("TapoOptions.Rollout, Algorithm and Optimization must not be null.");

        var r = options.Rollout;
        Check(r.N >= 1, $"Rollout.N must be ≥ 1 (a group has 2·N ≥ 2 rows), got {r.N}.");
        Check(r.Temperature > 0 && double.IsFinite(r.Temperature), $"Rollout.Temperature must be > 0, got {r.Temperature}.");
        Check(r.TopP is > 0 and <= 1, $"Rollout.TopP must be in (0, 1], got {r.TopP}.");
        Check(r.TopK == -1 || r.TopK > 0, $"Rollout.TopK must be −1 (off) or > 0, got {r.TopK}.");
        Check(r.MaxResponseLength > 0, $"Rollout.MaxResponseLength must be > 0, got {r.MaxResponseLength}.");
        Check(r.MaxPromptLength > 0, $"Rollout.MaxPromptLength must be > 0, got {r.MaxPromptLength}.");
        Check(r.RolloutBatchSize > 0, $"Rollout.RolloutBatchSize must be > 0, got {r.RolloutBatchSize}.");
        Check(r.PromptsPerDraw > 0, $"Rollout.PromptsPerDraw must be > 0, got {r.PromptsPerDraw}.");

        var a = options.Algorithm;
        Check(a.ClipRatioLow is >= 0 and < 1, $"Algorithm.ClipRatioLow must be in [0, 1), got {a.ClipRatioLow}.");
        Check(a.ClipRatioHigh >= 0 && double.IsFinite(a.ClipRatioHigh), $"Algorithm.ClipRatioHigh must be ≥ 0, got {a.ClipRatioHigh}.");
        Check(a.ClipRatioDual > 1 && double.IsFinite(a.ClipRatioDual), $"Algorithm.ClipRatioDual must be > 1, got {a.ClipRatioDual}.");
        Check(a.KlCoef >= 0 && double.IsFinite(a.KlCoef), $"Algorithm.KlCoef must be ≥ 0, got {a.KlCoef}.");
        Check(a.KlPrcpCoef >= 0 && double.IsFinite(a.KlPrcpCoef), $"Algorithm.KlPrcpCoef must be ≥ 0, got {a.KlPrcpCoef}.");
        Check(a.AugEntropyCoef >= 0 && double.IsFinite(a.AugEntropyCoef), $"Algorithm.AugEntropyCoef must be ≥ 0, got {a.AugEntropyCoef}.");
        Check(a.OriEntropyCoef >= 0 && double.IsFinite(a.OriEntropyCoef), $"Algorithm.OriEntropyCoef must be ≥ 0, got {a.OriEntropyCoef}.");
        Check(a.AdvantageEpsilon > 0, $"Algorithm.AdvantageEpsilon must be > 0, got {a.AdvantageEpsilon}.");
        Check(a.FilterAccuracyLow >= 0 && a.FilterAccuracyHigh <= 1 && a.FilterAccuracyLow < a.FilterAccuracyHigh,
            $"Algorithm.FilterAccuracyLow/High must satisfy 0 ≤ low < high ≤ 1, got {a.FilterAccuracyLow} / {a.FilterAccuracyHigh}.");
        Check(a.MaxDynamicSamplingTries == -1 || a.MaxDynamicSamplingTries > 0,
            $"Algorithm.MaxDynamicSamplingTries must be −1 (unlimited) or > 0, got {a.MaxDynamicSamplingTries}.");
        Check(Enum.IsDefined(a.LossAggregation), $"Algorithm.LossAggregation {a.LossAggregation} is not defined.");
        Check(Enum.IsDefined(a.KlPenalty), $"Algorithm.KlPenalty {a.KlPenalty} is not defined.");
        Check(Enum.IsDefined(a.KlPrcpPenalty), $"Algorithm.KlPrcpPenalty {a.KlPrcpPenalty} is not defined.");
        Check(Enum.IsDefined(a.PositiveRolloutConditioning), $"Algorithm.PositiveRolloutConditioning {a.PositiveRolloutConditioning} is not defined.");
        Check(Enum.IsDefined(options.Optimization.OptimizerStates), $"Optimization.OptimizerStates {options.Optimization.OptimizerStates} is not defined.");

        var o = options.Optimization;
        Check(o.LearningRate > 0 && double.IsFinite(o.LearningRate), $"Optimization.LearningRate must be > 0, got {o.LearningRate}.");
        Check(o.WeightDecay >= 0, $"Optimization.WeightDecay must be ≥ 0, got {o.WeightDecay}.");
        Check(o.Beta1 is >= 0 and < 1, $"Optimization.Beta1 must be in [0, 1), got {o.Beta1}.");
        Check(o.Beta2 is >= 0 and < 1, $"Optimization.Beta2 must be in [0, 1), got {o.Beta2}.");
        Check(o.AdamEpsilon > 0, $"Optimization.AdamEpsilon must be > 0, got {o.AdamEpsilon}.");
        Check(o.MaxGradNorm > 0, $"Optimization.MaxGradNorm must be > 0, got {o.MaxGradNorm}.");
        Check(o.WarmupRatio is >= 0 and <= 1, $"Optimization.WarmupRatio must be in [0, 1], got {o.WarmupRatio}.");
        Check(o.GlobalBatchSize > 0, $"Optimization.GlobalBatchSize must be > 0, got {o.GlobalBatchSize}.");
        Check(o.MicroBatchSize > 0, $"Optimization.MicroBatchSize must be > 0, got {o.MicroBatchSize}.");
        Check(o.LogProbMicroBatchSize > 0, $"Optimization.LogProbMicroBatchSize must be > 0, got {o.LogProbMicroBatchSize}.");
        Check(o.PpoEpochs > 0, $"Optimization.PpoEpochs must be > 0, got {o.PpoEpochs}.");
        Check(o.Epochs > 0, $"Optimization.Epochs must be > 0, got {o.Epochs}.");
        errors.AddRange(CheckpointingOptionsValidator.FailuresOf(options.Checkpointing));
        errors.AddRange(Distributed.DataParallelOptionsValidation.FailuresOf(options.DataParallel));
        if (r.RolloutBatchSize > 0 && o.GlobalBatchSize > 0)
            Check(r.RolloutBatchSize % o.GlobalBatchSize == 0,
                $"Rollout.RolloutBatchSize ({r.RolloutBatchSize}) must be a multiple of Optimization.GlobalBatchSize ({o.GlobalBatchSize}).");

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
