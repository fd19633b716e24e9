namespace FineR1.Training.Tapo.Trainer;

/// <summary>
/// What one TAPO training step logs (reference metric names in brackets where they exist). Rollout statistics are over
/// the training batch (the kept groups); <see cref="GeneratedAccuracy"/> is over every generated row of the step.
/// </summary>
public sealed record TapoStepMetrics
{
    /// <summary>1-based training step.</summary>
    public int Step { get; init; }
    /// <summary>Learning rate used by this step's optimizer steps (0 at step 1: docs/method.md §9 item 17).</summary>
    public double LearningRate { get; init; }
    /// <summary>[reward/overall] mean overall reward of the batch.</summary>
    public double Reward { get; init; }
    /// <summary>[reward/accuracy] mean accuracy of the batch.</summary>
    public double Accuracy { get; init; }
    /// <summary>[reward/format] fraction of batch responses in the think/answer format.</summary>
    public double FormatRate { get; init; }
    /// <summary>Mean accuracy over all rows generated this step, before filtering.</summary>
    public double GeneratedAccuracy { get; init; }

    /// <summary>Mean overall reward over every generated row of the step (before dynamic-sampling filtering: the
    /// policy's reward, unlike <see cref="Reward"/>, which only sees mixed groups).</summary>
    public double GeneratedReward { get; init; }
    /// <summary>Dynamic-sampling draws made.</summary>
    public int Draws { get; init; }
    /// <summary>Groups generated over all draws.</summary>
    public int GroupsGenerated { get; init; }
    /// <summary>Groups that passed the filter (before the batch was cut to its size).</summary>
    public int GroupsKept { get; init; }
    /// <summary>Rows in the training batch.</summary>
    public int BatchRows { get; init; }
    /// <summary>[actor/pg_loss] mean over micro-batches.</summary>
    public double PolicyLoss { get; init; }
    /// <summary>[actor/kl_prcp] KL to the negative image, mean over micro-batches.</summary>
    public double KlToNegative { get; init; }
    /// <summary>[actor/ori_entropy_loss] −mean log-prob of the sampled tokens (entropy proxy).</summary>
    public double Entropy { get; init; }
    /// <summary>[actor/aug_entropy_loss] −mean log-prob under the negative image.</summary>
    public double NegativeEntropy { get; init; }
    /// <summary>[actor/ppo_kl].</summary>
    public double PpoKl { get; init; }
    /// <summary>[actor/pg_clipfrac_higher].</summary>
    public double ClipFractionHigher { get; init; }
    /// <summary>[actor/pg_clipfrac_lower].</summary>
    public double ClipFractionLower { get; init; }
    /// <summary>[actor/grad_norm] mean pre-clip norm of the optimizer steps.</summary>
    public double GradNorm { get; init; }
    /// <summary>Optimizer steps taken (skipped ones excluded).</summary>
    public int OptimizerSteps { get; init; }
    /// <summary>Optimizer steps skipped for a non-finite gradient norm.</summary>
    public int SkippedOptimizerSteps { get; init; }
    /// <summary>[response_length/mean] tokens, stop token included.</summary>
    public double ResponseLengthMean { get; init; }
    /// <summary>[response_length/max].</summary>
    public int ResponseLengthMax { get; init; }
    /// <summary>[response_length/clip_ratio] fraction of batch rows that hit the length limit.</summary>
    public double TruncatedFraction { get; init; }
    /// <summary>Seconds spent generating and scoring rollouts (all draws).</summary>
    public double RolloutSeconds { get; init; }
    /// <summary>Seconds spent on the no-grad old and negative-image log-prob passes.</summary>
    public double LogProbSeconds { get; init; }
    /// <summary>Seconds spent in the update (forward, backward, optimizer).</summary>
    public double UpdateSeconds { get; init; }

    /// <summary>The record as one <c>metrics.jsonl</c> line (reference metric names where they exist, snake_case otherwise).</summary>
    public IReadOnlyDictionary<string, object?> ToMetrics() => new Dictionary<string, object?>
    {
        ["step"] = Step, ["learning_rate"] = LearningRate,
        ["reward/overall"] = Reward, ["reward/accuracy"] = Accuracy, ["reward/format"] = FormatRate, ["generated_accuracy"] = GeneratedAccuracy, ["generated_reward"] = GeneratedReward,
        ["draws"] = Draws, ["groups_generated"] = GroupsGenerated, ["groups_kept"] = GroupsKept, ["batch_rows"] = BatchRows,
        ["actor/pg_loss"] = Finite(PolicyLoss), ["actor/kl_prcp"] = Finite(KlToNegative), ["actor/ori_entropy_loss"] = Finite(Entropy),
        ["actor/aug_entropy_loss"] = Finite(NegativeEntropy), ["actor/ppo_kl"] = Finite(PpoKl),
        ["actor/pg_clipfrac_higher"] = Finite(ClipFractionHigher), ["actor/pg_clipfrac_lower"] = Finite(ClipFractionLower),
        ["actor/grad_norm"] = Finite(GradNorm), ["optimizer_steps"] = OptimizerSteps, ["skipped_optimizer_steps"] = SkippedOptimizerSteps,
        ["response_length/mean"] = ResponseLengthMean, ["response_length/max"] = ResponseLengthMax, ["response_length/clip_ratio"] = TruncatedFraction,
        ["timing/rollout_s"] = RolloutSeconds, ["timing/log_probs_s"] = LogProbSeconds, ["timing/update_s"] = UpdateSeconds,
    };

    /// <summary>The values kept in <c>trainer_state.json</c>'s log history (no timings).</summary>
    public Dictionary<string, double> ToLogHistory() => new()
    {
        ["step"] = Step, ["learning_rate"] = LearningRate, ["reward/overall"] = Reward, ["reward/accuracy"] = Accuracy,
        ["actor/pg_loss"] = PolicyLoss, ["actor/kl_prcp"] = KlToNegative, ["actor/grad_norm"] = GradNorm,
    };

    /// <summary>JSON has no NaN/∞: non-finite values are written as null.</summary>
    private static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
