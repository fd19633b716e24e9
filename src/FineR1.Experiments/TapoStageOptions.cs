namespace FineR1.Experiments;

/// <summary>
/// CPU-sized TAPO settings for the quickstart (<see cref="TapoStage"/>). Everything not listed keeps the Fine-R1-3B
/// recipe (<see cref="FineR1.Training.Tapo.TapoOptions.FineR1_3B"/>): clip 0.2/0.28, γ = 0.01, η1 = η2 = 0.03, DAPO filter (0.01, 0.99),
/// temperature 1.0, top-p 0.99, constant LR (step 1 runs at lr 0, docs/method.md §9 item 17).
/// </summary>
public sealed record TapoStageOptions
{
    /// <summary>RL steps (each: rollouts, log-probs, update). At least 2, since step 1 runs at lr 0.</summary>
    public int Steps { get; init; } = 8;

    /// <summary>Rollouts per image (a group = n anchor + n positive rollouts).</summary>
    public int N { get; init; } = 4;

    /// <summary>Prompts drawn per dynamic-sampling try.</summary>
    public int PromptsPerDraw { get; init; } = 4;

    /// <summary>Groups kept per step (rollout batch size).</summary>
    public int GroupsPerStep { get; init; } = 4;

    /// <summary>Maximum new tokens per rollout.</summary>
    public int MaxResponseLength { get; init; } = 160;

    /// <summary>Dynamic-sampling draw limit per step (the trainer throws when it is hit).</summary>
    public int MaxDynamicSamplingTries { get; init; } = 4;

    /// <summary>AdamW learning rate (the paper's 1e-6 does not move a tiny model in a few steps).</summary>
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>
    /// Rollout sampling temperature (the recipe's 1.0 by default). A tiny model's distribution is flat enough that at
    /// 1.0 almost no rollout reaches a correct answer, and TAPO's rewards, hence its advantages, are all zero.
    /// </summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range (its name is the parameter name).</exception>
    public void Validate()
    {
        if (Steps < 2) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "at least 2 (step 1 runs at lr 0)");
        if (N < 1) throw new ArgumentOutOfRangeException(nameof(N), N, "must be positive");
        if (PromptsPerDraw < 1) throw new ArgumentOutOfRangeException(nameof(PromptsPerDraw), PromptsPerDraw, "must be positive");
        if (GroupsPerStep < 1) throw new ArgumentOutOfRangeException(nameof(GroupsPerStep), GroupsPerStep, "must be positive");
        if (MaxResponseLength < 1) throw new ArgumentOutOfRangeException(nameof(MaxResponseLength), MaxResponseLength, "must be positive");
        if (MaxDynamicSamplingTries < 1) throw new ArgumentOutOfRangeException(nameof(MaxDynamicSamplingTries), MaxDynamicSamplingTries, "must be positive");
        if (!(Temperature > 0)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "must be positive");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "must be positive");
    }
}
