using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Optimization;

/// <summary>
/// AdamW with optimizer states in a chosen dtype and optional Kahan-compensated parameter updates: the reference TAPO
/// optimizer (<c>strategy: adamw_bf16</c> = torchdistx <c>AnyPrecisionAdamW</c> with bf16 momentum, variance and
/// compensation buffers, spec §5.7). With bf16 weights and lr 1e-6 a plain bf16 update is below half an ulp of most
/// weights and is lost; the compensation buffer carries the rounding error to the next step
/// (docs/training-precision.md). With float32 states and no compensation it is exactly <c>torch.optim.AdamW</c>.
/// </summary>
public sealed class AnyPrecisionAdamW : IDisposable
{
    private sealed class State(Tensor expAvg, Tensor expAvgSq, Tensor? compensation)
    {
        public long Step;
        public Tensor ExpAvg { get; } = expAvg;
        public Tensor ExpAvgSq { get; } = expAvgSq;
        public Tensor? Compensation { get; } = compensation;
    }

    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Dictionary<Parameter, State> _state = new(ReferenceEqualityComparer.Instance);
    private readonly AdamWSettings _settings;
    private readonly ScalarType _stateDType;
    private readonly bool _kahan;

    /// <summary>Creates the optimizer over <paramref name="parameters"/>.</summary>
    /// <param name="parameters">Trainable parameters (all get <see cref="AdamWSettings.WeightDecay"/>; EasyR1 excludes none).</param>
    /// <param name="settings">Learning rate, betas, ε, weight decay.</param>
    /// <param name="stateDType">dtype of momentum, variance and compensation (reference: bfloat16).</param>
    /// <param name="kahanSummation">Compensated updates (reference: on).</param>
    public AnyPrecisionAdamW(IEnumerable<Parameter> parameters, AdamWSettings settings, ScalarType stateDType = ScalarType.BFloat16, bool kahanSummation = true)
    {
        _parameters = parameters?.ToList() ?? throw new ArgumentNullException(nameof(parameters));
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _stateDType = stateDType;
        _kahan = kahanSummation;
        LearningRate = settings.LearningRate;
    }

    /// <summary>Current learning rate (set by a schedule before each step).</summary>
    public double LearningRate { get; set; }

    /// <summary>Parameters updated by <see cref="Step"/>.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>One AdamW step on every parameter that has a gradient (torchdistx AnyPrecisionAdamW.step).</summary>
    public void Step()
    {
        using var noGrad = no_grad();
        double lr = LearningRate, b1 = _settings.Beta1, b2 = _settings.Beta2;
        foreach (var p in _parameters)
        {
            var g0 = p.grad;
            if (g0 is null) continue;
            using var scope = NewDisposeScope();
            var grad = g0.to_type(_stateDType);
            var s = GetState(p);
            s.Step++;
            if (_settings.WeightDecay != 0) p.mul_(1 - lr * _settings.WeightDecay);
            s.ExpAvg.mul_(b1).add_(grad, alpha: 1 - b1);
            s.ExpAvgSq.mul_(b2).addcmul_(grad, grad, value: 1 - b2);
            double stepSize = lr / (1 - Math.Pow(b1, s.Step));
            double denomCorrection = Math.Sqrt(1 - Math.Pow(b2, s.Step));
            var centeredVariance = (s.ExpAvgSq.sqrt() / denomCorrection).add_(_settings.Epsilon);
            if (s.Compensation is { } c)
            {
                c.addcdiv_(s.ExpAvg, centeredVariance, value: -stepSize);
                var before = p.detach().clone();
                p.add_(c);
                c.add_(before.sub_(p)); // what the rounding of p + c dropped
            }
            else
            {
                p.add_((s.ExpAvg / centeredVariance * -stepSize).to_type(p.dtype));
            }
        }
    }

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.grad?.zero_();
    }

    private State GetState(Parameter p)
    {
        if (_state.TryGetValue(p, out var s)) return s;
        s = new State(
            zeros_like(p, dtype: _stateDType).DetachFromDisposeScope(),
            zeros_like(p, dtype: _stateDType).DetachFromDisposeScope(),
            _kahan ? zeros_like(p, dtype: _stateDType).DetachFromDisposeScope() : null);
        _state[p] = s;
        return s;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var s in _state.Values)
        {
            s.ExpAvg.Dispose();
            s.ExpAvgSq.Dispose();
            s.Compensation?.Dispose();
        }
        _state.Clear();
    }
}
