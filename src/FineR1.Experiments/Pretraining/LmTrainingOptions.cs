namespace FineR1.Experiments.Pretraining;

/// <summary>Settings of <see cref="LanguageModelTrainer"/> (AdamW + cosine schedule with warmup).</summary>
public sealed record LmTrainingOptions
{
    /// <summary>Passes over the examples.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Examples per optimizer step (padded to one batch).</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; } = 3e-3;

    /// <summary>Fraction of the steps spent warming up linearly.</summary>
    public double WarmupRatio { get; init; } = 0.05;

    /// <summary>Decoupled weight decay.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Gradient clipping norm.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Seed of the data order.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Examples longer than this are cut (labels too).</summary>
    public int MaxLength { get; init; } = 1024;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "must be at least 1.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "must be at least 1.");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "must be positive.");
        if (!(WarmupRatio >= 0 && WarmupRatio < 1)) throw new ArgumentOutOfRangeException(nameof(WarmupRatio), WarmupRatio, "must be in [0, 1).");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "must not be negative.");
        if (!(MaxGradNorm > 0)) throw new ArgumentOutOfRangeException(nameof(MaxGradNorm), MaxGradNorm, "must be positive.");
        if (MaxLength < 8) throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, "must be at least 8.");
    }
}

/// <summary>One optimizer step of <see cref="LanguageModelTrainer"/>.</summary>
/// <param name="Step">1-based step.</param>
/// <param name="TotalSteps">Steps of the run.</param>
/// <param name="Loss">Mean cross-entropy over the batch's supervised tokens.</param>
/// <param name="LearningRate">Learning rate used by this step.</param>
/// <param name="GradNorm">Gradient norm before clipping.</param>
public sealed record LmTrainingStep(int Step, int TotalSteps, double Loss, double LearningRate, double GradNorm);
