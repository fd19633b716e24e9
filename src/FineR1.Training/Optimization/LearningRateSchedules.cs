namespace FineR1.Training.Optimization;

/// <summary>
/// Learning-rate multipliers as functions of the scheduler step (0-based), the lambdas HF / EasyR1 hand to
/// <c>torch.optim.lr_scheduler.LambdaLR</c>. The learning rate of a step is <c>peak · multiplier(step)</c>.
/// </summary>
public static class LearningRateSchedules
{
    /// <summary>
    /// HF <c>get_cosine_schedule_with_warmup</c>: linear 0 → 1 over <paramref name="warmupSteps"/>, then
    /// <c>max(0, ½(1 + cos(π · 2·cycles · progress)))</c> with progress = (step − warmup) / max(1, total − warmup).
    /// Stage-1 SFT uses it with 6 warmup steps.
    /// </summary>
    /// <example>warmup 2, total 10: step 0 → 0, step 1 → 0.5, step 2 → 1, step 6 → 0.5, step 10 → 0.</example>
    public static double CosineWithWarmup(int step, int warmupSteps, int totalSteps, double cycles = 0.5)
    {
        if (step < warmupSteps) return (double)step / Math.Max(1, warmupSteps);
        double progress = (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps);
        return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * cycles * 2.0 * progress)));
    }

    /// <summary>
    /// EasyR1's constant schedule with warmup (Stage-2 TAPO, warmup 0): <c>min(1, step / max(1, warmup))</c>. With 0
    /// warmup steps the very first step gets multiplier 0 (docs/method.md §9 item 17), every later step 1.
    /// </summary>
    /// <example>warmup 0: step 0 → 0, step 1 → 1. warmup 4: step 2 → 0.5.</example>
    public static double ConstantWithWarmup(int step, int warmupSteps) =>
        Math.Min(1.0, (double)step / Math.Max(1, warmupSteps));
}
