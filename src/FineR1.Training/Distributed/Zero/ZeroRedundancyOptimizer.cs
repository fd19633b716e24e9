using FineR1.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Distributed.Zero;

/// <summary>Settings of <see cref="ZeroRedundancyOptimizer"/>.</summary>
/// <param name="AdamW">Learning rate, betas, ε and weight decay (applied to parameters for which the decay predicate is true).</param>
/// <param name="StateDType">dtype of the AdamW moments and Kahan buffer (float32 for SFT, bfloat16 for the TAPO reference recipe).</param>
/// <param name="KahanSummation">Compensated parameter updates (useful with bfloat16 weights).</param>
/// <param name="GradientReduction"><see cref="ReduceOp.Average"/> when every rank's loss is a mean over its own equal share of
/// the batch (classic data parallelism); <see cref="ReduceOp.Sum"/> when each rank already divided its loss by a global
/// count (SFT's supervised tokens of the step, TAPO's token count of the mini-batch), so the sum is the global gradient.</param>
public sealed record ZeroSettings(AdamWSettings AdamW, ScalarType StateDType = ScalarType.Float32, bool KahanSummation = false,
    ReduceOp GradientReduction = ReduceOp.Average);

/// <summary>
/// ZeRO stage 2 data parallelism on flat buffers (DeepSpeed's partitioning of optimizer states and gradients, without
/// hooks): every trainable parameter becomes a view into one flat parameter buffer and its gradient a view into one flat
/// gradient buffer (backward accumulates straight into it), both laid out by <see cref="FlatLayout"/>. <see cref="Step"/>
/// reduce-scatters the gradients so each rank holds its shard of the global gradient, clips by the global norm (an
/// all-reduce of the shards' squared norms), runs <see cref="AnyPrecisionAdamW"/> on its shard only (so its moments and
/// Kahan buffer exist for 1/N of the parameters), and all-gathers the updated shards back into every rank's parameters.
/// Gradient accumulation is free: backward keeps adding into the flat gradient until <see cref="Step"/>.
/// </summary>
/// <remarks>
/// The full gradient buffer stays allocated (like DDP's); what is sharded is the optimizer state and the reduced gradient.
/// With one rank this is exactly <see cref="AnyPrecisionAdamW"/> plus <see cref="GradientClipping"/>.
/// </remarks>
/// <example><code>
/// using var zero = new ZeroRedundancyOptimizer(model.UniqueParameters().Where(p => p.Parameter.requires_grad).ToList(),
///     communicator, new ZeroSettings(new AdamWSettings(1e-5, 0.1)));
/// foreach (var micro in myMicroBatches) (Loss(micro) / myMicroBatches.Count).backward();
/// var result = zero.Step(maxGradNorm: 1.0);   // every rank now holds the same updated weights
/// </code></example>
public sealed class ZeroRedundancyOptimizer : IDisposable
{
    private readonly ICommunicator _comm;
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Tensor _flatParameters, _flatGradients, _parameterShard, _gradientShard;
    private readonly List<(long Start, long Length, bool Decay, Parameter View, AnyPrecisionAdamW Optimizer)> _runs = [];

    /// <summary>Flattens <paramref name="parameters"/> (all on the communicator's device, one dtype) and, unless
    /// <paramref name="broadcastFromRank0"/> is false, makes every rank start from rank 0's weights.</summary>
    /// <param name="parameters">Trainable parameters with their state-dict names, each tensor once.</param>
    /// <param name="communicator">The data-parallel group.</param>
    /// <param name="settings">Optimizer settings.</param>
    /// <param name="decays">Which names get weight decay (default: all, as EasyR1; SFT: <c>n =&gt; !ParameterGroups.IsNoDecayName(n)</c>).</param>
    /// <param name="broadcastFromRank0">Copy rank 0's initial weights to every rank.</param>
    public ZeroRedundancyOptimizer(IReadOnlyList<(string Name, Parameter Parameter)> parameters, ICommunicator communicator,
        ZeroSettings settings, Func<string, bool>? decays = null, bool broadcastFromRank0 = true)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _comm = communicator ?? throw new ArgumentNullException(nameof(communicator));
        Settings = settings ?? throw new ArgumentNullException(nameof(settings));
        if (parameters.Count == 0) throw new ArgumentException("no parameters to optimize.", nameof(parameters));
        var dtype = parameters[0].Parameter.dtype;
        var device = parameters[0].Parameter.device;
        foreach (var (name, p) in parameters)
            if (p.dtype != dtype || p.device.type != device.type)
                throw new ArgumentException($"parameter '{name}' is {p.dtype} on {p.device}; all must be {dtype} on {device} (one flat buffer).", nameof(parameters));
        decays ??= _ => true;
        Layout = new FlatLayout(parameters.Select(p => (p.Name, p.Parameter.shape, decays(p.Name))).ToList(), communicator.WorldSize);
        var byName = parameters.ToDictionary(p => p.Name, p => p.Parameter);
        if (byName.Count != parameters.Count) throw new ArgumentException("a parameter name appears twice.", nameof(parameters));
        _parameters = Layout.Slots.Select(s => byName[s.Name]).ToList();

        using var noGrad = no_grad();
        _flatParameters = zeros(Layout.Padded, dtype, device);
        _flatGradients = zeros(Layout.Padded, dtype, device);
        for (int i = 0; i < _parameters.Count; i++)
        {
            var slot = Layout.Slots[i];
            var p = _parameters[i];
            var view = _flatParameters.narrow(0, slot.Offset, slot.Count).view(slot.Shape);
            view.copy_(p);
            p.set_(view);                                                         // the parameter now lives in the flat buffer
            p.grad = _flatGradients.narrow(0, slot.Offset, slot.Count).view(slot.Shape);
        }
        if (broadcastFromRank0) _comm.Broadcast(_flatParameters, 0);

        long shardStart = communicator.Rank * Layout.ShardSize;
        _parameterShard = _flatParameters.narrow(0, shardStart, Layout.ShardSize);
        _gradientShard = _flatGradients.narrow(0, shardStart, Layout.ShardSize);
        foreach (var (start, length, decay) in Layout.Runs(communicator.Rank))
        {
            var view = new Parameter(_parameterShard.narrow(0, start, length), requires_grad: true);
            if (TensorPointers.DataPointer(view) != TensorPointers.DataPointer(_parameterShard) + (nint)(start * TensorPointers.ElementSize(dtype)))
                throw new InvalidOperationException("TorchSharp copied the shard instead of viewing it; the optimizer would update a copy.");
            view.grad = _gradientShard.narrow(0, start, length);
            var adamW = settings.AdamW with { WeightDecay = decay ? settings.AdamW.WeightDecay : 0.0 };
            _runs.Add((start, length, decay, view, new AnyPrecisionAdamW([view], adamW, settings.StateDType, settings.KahanSummation)));
        }
        LearningRate = settings.AdamW.LearningRate;
    }

    /// <summary>The settings.</summary>
    public ZeroSettings Settings { get; }

    /// <summary>Where every parameter sits in the flat buffers and which shard this rank owns.</summary>
    public FlatLayout Layout { get; }

    /// <summary>The communicator.</summary>
    public ICommunicator Communicator => _comm;

    /// <summary>The parameters in flat-buffer order (their data and gradients are views into the flat buffers).</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Learning rate of the next <see cref="Step"/> (set by a schedule).</summary>
    public double LearningRate { get; set; }

    /// <summary>Optimizer steps taken (skipped non-finite steps not counted).</summary>
    public long StepCount { get; private set; }

    /// <summary>
    /// Ends an optimizer step on every rank: reduce-scatter of the accumulated gradients, global-norm clipping to
    /// <paramref name="maxGradNorm"/> (PyTorch's <c>clip_grad_norm_</c> formula; 0 = no clipping), the AdamW update of this
    /// rank's shard unless the norm is not finite, all-gather of the parameters, and zeroed gradients.
    /// </summary>
    /// <returns>The global gradient norm before clipping and whether the step was taken (same on every rank).</returns>
    public OptimizerStepResult Step(double maxGradNorm = 1.0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxGradNorm);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        RepairDetachedGradients();
        _comm.ReduceScatter(_flatGradients, _gradientShard, Settings.GradientReduction);
        double squared = _gradientShard.to_type(ScalarType.Float64).square().sum().ToDouble();
        double norm = Math.Sqrt(_comm.AllReduceScalar(squared));
        bool finite = double.IsFinite(norm);
        if (finite)
        {
            if (maxGradNorm > 0)
            {
                double coef = maxGradNorm / (norm + 1e-6);
                if (coef < 1.0) _gradientShard.mul_(coef);
            }
            foreach (var run in _runs)
            {
                run.Optimizer.LearningRate = LearningRate;
                run.Optimizer.Step();
            }
            _comm.AllGather(_parameterShard, _flatParameters);
            StepCount++;
        }
        _flatGradients.zero_();
        return new OptimizerStepResult(norm, finite);
    }

    /// <summary>Zeroes the accumulated gradients (e.g. after a skipped micro-batch).</summary>
    public void ZeroGrad()
    {
        using var noGrad = no_grad();
        _flatGradients.zero_();
    }

    /// <summary>
    /// If something replaced a parameter's gradient tensor (e.g. <c>grad = null</c> followed by backward), copies it into the
    /// flat buffer and restores the view, so the reduction still sees it.
    /// </summary>
    private void RepairDetachedGradients()
    {
        for (int i = 0; i < _parameters.Count; i++)
        {
            var slot = Layout.Slots[i];
            var expected = _flatGradients.narrow(0, slot.Offset, slot.Count);
            var g = _parameters[i].grad;
            if (g is not null && TensorPointers.DataPointer(g) == TensorPointers.DataPointer(expected)) continue;
            if (g is not null) expected.copy_(g.reshape(-1));
            _parameters[i].grad = expected.view(slot.Shape);
        }
    }

    /// <summary>This rank's optimizer state over its whole shard (runs concatenated; zeros before the first step).</summary>
    internal (long Step, Tensor ExpAvg, Tensor ExpAvgSq, Tensor? Compensation) ShardState()
    {
        var states = _runs.Select(r => r.Optimizer.ExportState(0)).ToList();
        Tensor Cat(Func<AnyPrecisionAdamWState, Tensor> pick) =>
            states.Count == 0 ? zeros(0, Settings.StateDType, _flatParameters.device) : cat(states.Select(pick).ToList(), 0);
        return (states.Count == 0 ? StepCount : states.Max(s => s.Step), Cat(s => s.ExpAvg), Cat(s => s.ExpAvgSq),
            Settings.KahanSummation ? Cat(s => s.Compensation!) : null);
    }

    /// <summary>Overwrites this rank's optimizer state with shard-length tensors.</summary>
    internal void ImportShardState(long step, Tensor expAvg, Tensor expAvgSq, Tensor? compensation)
    {
        foreach (var run in _runs)
            run.Optimizer.ImportState(0, new AnyPrecisionAdamWState(step, expAvg.narrow(0, run.Start, run.Length),
                expAvgSq.narrow(0, run.Start, run.Length), compensation?.narrow(0, run.Start, run.Length)));
        StepCount = step;
    }

    /// <summary>The full flat parameter buffer (read-only use: tests and checkpoints).</summary>
    internal Tensor FlatParameters => _flatParameters;

    /// <summary>Frees the optimizer state and the flat gradient buffer (parameters keep the flat parameter storage).</summary>
    public void Dispose()
    {
        foreach (var run in _runs)
        {
            run.Optimizer.Dispose();
            run.View.Dispose();
        }
        _runs.Clear();
        foreach (var p in _parameters) p.grad = null;
        _gradientShard.Dispose();
        _parameterShard.Dispose();
        _flatGradients.Dispose();
    }
}
