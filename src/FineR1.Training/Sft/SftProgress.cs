using FineR1.Training.Progress;

namespace FineR1.Training.Sft;

/// <summary>One optimizer step of an SFT run, reported through <c>IProgress&lt;SftProgress&gt;</c>, the logger and
/// the metrics file.</summary>
/// <param name="Step">Optimizer steps completed (1-based for the step just taken).</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="Epoch">Fractional epoch after this step (HF's <c>epoch</c>).</param>
/// <param name="Loss">Mean cross-entropy over the step's supervised tokens (all micro-batches).</param>
/// <param name="LearningRate">Learning rate this step used.</param>
/// <param name="GradNorm">Gradient norm before clipping (NaN/∞ when the step was skipped).</param>
/// <param name="Stepped">False when the step was skipped for a non-finite gradient norm.</param>
/// <param name="Tokens">Real (non-padding) tokens processed in the step.</param>
/// <param name="SupervisedTokens">Tokens the loss covered.</param>
/// <param name="TokensPerSecond">Tokens / wall-clock seconds of the step (data preparation included).</param>
/// <param name="StepSeconds">Wall-clock seconds of the step.</param>
/// <param name="Memory">Process memory after the step.</param>
/// <param name="Checkpoint">Folder of the checkpoint written after this step, if any.</param>
public sealed record SftProgress(long Step, long TotalSteps, double Epoch, double Loss, double LearningRate, double GradNorm, bool Stepped,
    long Tokens, long SupervisedTokens, double TokensPerSecond, double StepSeconds, MemoryUsage Memory, string? Checkpoint)
{
    /// <summary>The metrics-file record (snake_case keys, HF Trainer's names where they exist).</summary>
    public IReadOnlyDictionary<string, object?> ToMetrics() => new Dictionary<string, object?>
    {
        ["step"] = Step,
        ["epoch"] = Math.Round(Epoch, 6),
        ["loss"] = double.IsFinite(Loss) ? Loss : null,
        ["learning_rate"] = LearningRate,
        ["grad_norm"] = double.IsFinite(GradNorm) ? GradNorm : null,
        ["stepped"] = Stepped,
        ["tokens"] = Tokens,
        ["supervised_tokens"] = SupervisedTokens,
        ["tokens_per_second"] = Math.Round(TokensPerSecond, 3),
        ["step_seconds"] = Math.Round(StepSeconds, 6),
        ["rss_bytes"] = Memory.ResidentBytes,
    };
}

/// <summary>Outcome of <see cref="SftTrainer.Train(IReadOnlyList{SftExample}, IProgress{SftProgress}?, CancellationToken)"/>.</summary>
/// <param name="GlobalStep">Optimizer steps completed (including those before a resume).</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="Completed">False when the run was cancelled before its last step.</param>
/// <param name="ResumedFrom">Checkpoint the run continued from, if any.</param>
/// <param name="LastCheckpoint">Newest checkpoint written (the final model when completed).</param>
/// <param name="Steps">Progress of the steps taken in this call.</param>
public sealed record SftRunResult(long GlobalStep, long TotalSteps, bool Completed, string? ResumedFrom, string? LastCheckpoint,
    IReadOnlyList<SftProgress> Steps);
