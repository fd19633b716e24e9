using FineR1.Training.Checkpointing;
using Microsoft.Extensions.Options;

namespace FineR1.Training.Sft;

/// <summary>Checks <see cref="SftOptions"/>, at host start through DI and in the <see cref="SftTrainer"/> constructor
/// (<see cref="TrainingOptionsValidation"/>); every problem is reported with its option name.</summary>
public sealed class SftOptionsValidator : IValidateOptions<SftOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, SftOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        void Check(bool ok, string message) { if (!ok) errors.Add(message); }

        Check(options.MaxLength >= 16, $"MaxLength must be ≥ 16, got {options.MaxLength}.");
        Check(Enum.IsDefined(options.Overlong), $"Overlong {options.Overlong} is not defined.");
        Check(options.ImageMinPixels > 0, $"ImageMinPixels must be > 0, got {options.ImageMinPixels}.");
        Check(options.ImageMaxPixels >= options.ImageMinPixels,
            $"ImageMaxPixels ({options.ImageMaxPixels}) must be ≥ ImageMinPixels ({options.ImageMinPixels}).");
        Check(options.MicroBatchSize > 0, $"MicroBatchSize must be > 0, got {options.MicroBatchSize}.");
        Check(options.GradientAccumulationSteps > 0, $"GradientAccumulationSteps must be > 0, got {options.GradientAccumulationSteps}.");
        Check(options.Epochs > 0, $"Epochs must be > 0, got {options.Epochs}.");
        Check(options.LearningRate > 0 && double.IsFinite(options.LearningRate), $"LearningRate must be > 0, got {options.LearningRate}.");
        Check(options.WarmupSteps >= 0, $"WarmupSteps must be ≥ 0, got {options.WarmupSteps}.");
        Check(options.WeightDecay >= 0 && double.IsFinite(options.WeightDecay), $"WeightDecay must be ≥ 0, got {options.WeightDecay}.");
        Check(options.Beta1 is >= 0 and < 1, $"Beta1 must be in [0, 1), got {options.Beta1}.");
        Check(options.Beta2 is >= 0 and < 1, $"Beta2 must be in [0, 1), got {options.Beta2}.");
        Check(options.AdamEpsilon > 0, $"AdamEpsilon must be > 0, got {options.AdamEpsilon}.");
        Check(options.MaxGradNorm > 0 && double.IsFinite(options.MaxGradNorm), $"MaxGradNorm must be > 0, got {options.MaxGradNorm}.");
        Check(options.TrainVisionTower || options.TrainMultiModalProjector || options.TrainLanguageModel || options.Lora is { Enabled: true },
            "nothing to train: TrainVisionTower, TrainMultiModalProjector and TrainLanguageModel are all false and LoRA is off.");
        Check(Enum.IsDefined(options.Precision), $"Precision {options.Precision} is not defined.");
        Check(Enum.IsDefined(options.OptimizerStates), $"OptimizerStates {options.OptimizerStates} is not defined.");
        Check(Enum.IsDefined(options.LossNormalization), $"LossNormalization {options.LossNormalization} is not defined.");
        Check(options.LoggingSteps > 0, $"LoggingSteps must be > 0, got {options.LoggingSteps}.");
        errors.AddRange(CheckpointingOptionsValidator.FailuresOf(options.Checkpointing));
        errors.AddRange(Distributed.DataParallelOptionsValidation.FailuresOf(options.DataParallel));
        if (options.Lora is null) errors.Add("Lora must not be null.");
        else if (options.Lora.Enabled)
        {
            Check(options.Lora.Rank > 0, $"Lora.Rank must be > 0, got {options.Lora.Rank}.");
            Check(options.Lora.Alpha > 0, $"Lora.Alpha must be > 0, got {options.Lora.Alpha}.");
            Check(options.Lora.Dropout is >= 0 and < 1, $"Lora.Dropout must be in [0, 1), got {options.Lora.Dropout}.");
            Check(options.Lora.TargetModules is { Count: > 0 }, "Lora.TargetModules must name at least one module.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
