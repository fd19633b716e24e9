using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Optimization;

/// <summary>
/// AdamW with optimizer states in a chosen dtype and optional Kahan-compensated parameter updates: the reference TAPO
/// optimizer (<c>strategy: adamw_bf16</c> = torchdistx <c>AnyPrecisionAdamW</c> with bf16 momentum, variance and
/// compensation buffers, docs/method.md §5.7). With bf16 weights and lr 1e-6 a plain bf16 update is below half an ulp of most
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
            using var scope = NewDisposeScope();   // p.grad makes a new handle on every read
            var g0 = p.grad;
            if (g0 is null) continue;
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
        using var scope = NewDisposeScope();
        foreach (var p in _parameters) p.grad?.zero_();
    }

    /// <summary>dtype of the momentum, variance and compensation buffers.</summary>
    public ScalarType StateDType => _stateDType;

    /// <summary>Whether a Kahan compensation buffer is kept per parameter.</summary>
    public bool KahanSummation => _kahan;

    /// <summary>
    /// The state of parameter <paramref name="parameterIndex"/> (index into <see cref="Parameters"/>): the live buffers,
    /// not copies (copy or write them out before the next <see cref="Step"/>). A parameter that never stepped gets zero
    /// buffers and step 0. The tensors stay owned by the optimizer: do not dispose them.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">No such parameter.</exception>
    public AnyPrecisionAdamWState ExportState(int parameterIndex)
    {
        var s = GetState(ParameterAt(parameterIndex));
        return new AnyPrecisionAdamWState(s.Step, s.ExpAvg, s.ExpAvgSq, s.Compensation);
    }

    /// <summary>
    /// Overwrites the state of parameter <paramref name="parameterIndex"/> by copying <paramref name="state"/>'s tensors
    /// (converted to <see cref="StateDType"/> and the parameter's device) into the optimizer's buffers.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">No such parameter, or a negative step.</exception>
    /// <exception cref="ArgumentException">A tensor's shape differs from the parameter's, or the compensation buffer is
    /// missing while <see cref="KahanSummation"/> is on.</exception>
    public void ImportState(int parameterIndex, AnyPrecisionAdamWState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentOutOfRangeException.ThrowIfNegative(state.Step);
        var p = ParameterAt(parameterIndex);
        void CheckShape(Tensor t, string what)
        {
            if (!t.shape.SequenceEqual(p.shape))
                throw new ArgumentException($"{what} of parameter {parameterIndex} has shape [{string.Join(", ", t.shape)}], the parameter [{string.Join(", ", p.shape)}].", nameof(state));
        }
        CheckShape(state.ExpAvg, "exp_avg");
        CheckShape(state.ExpAvgSq, "exp_avg_sq");
        if (_kahan && state.Compensation is null)
            throw new ArgumentException($"parameter {parameterIndex}: the optimizer uses Kahan summation but no compensation buffer was given.", nameof(state));
        if (_kahan) CheckShape(state.Compensation!, "compensation");
        var s = GetState(p);
        using var noGrad = no_grad();
        s.ExpAvg.copy_(state.ExpAvg);
        s.ExpAvgSq.copy_(state.ExpAvgSq);
        if (s.Compensation is { } c) c.copy_(state.Compensation!);
        s.Step = state.Step;
    }

    private Parameter ParameterAt(int index)
    {
        if ((uint)index >= (uint)_parameters.Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the optimizer holds {_parameters.Count} parameters.");
        return _parameters[index];
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

/// <summary>One parameter's <see cref="AnyPrecisionAdamW"/> state (torchdistx names: <c>step</c>, <c>exp_avg</c>,
/// <c>exp_avg_sq</c>, <c>compensation</c>).</summary>
/// <param name="Step">Optimizer steps this parameter has taken (drives the bias correction).</param>
/// <param name="ExpAvg">First moment, shape of the parameter.</param>
/// <param name="ExpAvgSq">Second moment, shape of the parameter.</param>
/// <param name="Compensation">Kahan buffer, or null when the optimizer does not use Kahan summation.</param>
public sealed record AnyPrecisionAdamWState(long Step, Tensor ExpAvg, Tensor ExpAvgSq, Tensor? Compensation);
