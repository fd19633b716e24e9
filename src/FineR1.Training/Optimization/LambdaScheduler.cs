using TorchSharp;
using TorchSharp.Modules;

namespace FineR1.Training.Optimization;

/// <summary>
/// <c>torch.optim.lr_scheduler.LambdaLR</c> semantics: on construction every group's learning rate becomes
/// <c>initial · f(0)</c>; each <see cref="Step"/> advances the step and sets <c>initial · f(step)</c>.
/// </summary>
public sealed class LambdaScheduler
{
    private readonly OptimizerHelper _optimizer;
    private readonly Func<int, double> _multiplier;
    private readonly double[] _initial;

    /// <summary>Wraps <paramref name="optimizer"/>; its groups' current learning rates are the peaks.</summary>
    public LambdaScheduler(OptimizerHelper optimizer, Func<int, double> multiplier)
    {
        _optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        _multiplier = multiplier ?? throw new ArgumentNullException(nameof(multiplier));
        _initial = optimizer.ParamGroups.Select(g => g.InitialLearningRate).ToArray();
        Apply();
    }

    /// <summary>Scheduler steps taken.</summary>
    public int StepCount { get; private set; }

    /// <summary>Learning rate of the first group now.</summary>
    public double CurrentLearningRate => _optimizer.ParamGroups.First().LearningRate;

    /// <summary>Advances one step (call after <c>optimizer.step()</c>, once per training step in TAPO).</summary>
    public void Step()
    {
        StepCount++;
        Apply();
    }

    private void Apply()
    {
        double m = _multiplier(StepCount);
        int i = 0;
        foreach (var g in _optimizer.ParamGroups) g.LearningRate = _initial[i++] * m;
    }
}
