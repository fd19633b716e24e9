using FineR1.Core.Checkpoints;
using FineR1.Core.Modeling;
using FineR1.Training.Checkpointing;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Optimization;

/// <summary>dtype of AdamW's momentum, variance and Kahan buffers, relative to the weights they update.</summary>
public enum OptimizerStatePrecision
{
    /// <summary>The weights' dtype: bf16 weights get bf16 states (the reference TAPO's <c>AnyPrecisionAdamW</c>,
    /// 10 bytes per parameter), float32 weights float32 states (exactly <c>torch.optim.AdamW</c>).</summary>
    WeightDType,
    /// <summary>float32 states whatever the weights (with bf16 weights: 16 bytes per parameter; the float32 Kahan buffer
    /// then holds exactly what an fp32 master copy would add, the single-device equivalent of DeepSpeed's bf16 training).</summary>
    Float32,
}

/// <summary>
/// The one optimizer every FineR1 trainer uses (SFT, TAPO, the demo's language-model pretraining):
/// <see cref="AnyPrecisionAdamW"/> over the trainable parameters, each tensor once, in a weight-decay group and, when
/// <see cref="AdamWSettings.ExcludeNormsAndBiasesFromDecay"/>, a zero-decay group for biases and norm weights.
/// Kahan-compensated updates are on exactly when the weights are 16-bit: at TAPO's lr 1e-6 a plain bf16 update is below
/// half an ulp of nearly every weight and would be rounded away (docs/training-precision.md). With float32 weights and
/// float32 states this is <c>torch.optim.AdamW</c> (tested to 1e-5 against TorchSharp's).
/// </summary>
/// <example><code>
/// using var optimizer = TrainingOptimizer.ForModel(model, new AdamWSettings(1e-6, 1e-2), OptimizerStatePrecision.WeightDType);
/// loss.backward();
/// GradientClipping.ClipAndStep(optimizer.Parameters, optimizer.Step, maxNorm: 1.0);
/// </code></example>
public sealed class TrainingOptimizer : IDisposable
{
    private readonly AnyPrecisionAdamW _decay;
    private readonly AnyPrecisionAdamW? _noDecay;
    private readonly List<string> _decayNames, _noDecayNames;

    private TrainingOptimizer(List<(string Name, Parameter Parameter)> decay, List<(string Name, Parameter Parameter)> noDecay,
        AdamWSettings settings, ScalarType stateDType, bool kahan)
    {
        _decayNames = decay.Select(t => t.Name).ToList();
        _noDecayNames = noDecay.Select(t => t.Name).ToList();
        _decay = new AnyPrecisionAdamW(decay.Select(t => t.Parameter), settings, stateDType, kahan);
        _noDecay = noDecay.Count == 0 ? null
            : new AnyPrecisionAdamW(noDecay.Select(t => t.Parameter), settings with { WeightDecay = 0 }, stateDType, kahan);
        Parameters = decay.Concat(noDecay).Select(t => t.Parameter).ToList();
        Names = [.. _decayNames, .. _noDecayNames];
        StateDType = stateDType;
        KahanSummation = kahan;
        LearningRate = settings.LearningRate;
    }

    /// <summary>
    /// The optimizer over <paramref name="trainable"/> (name, parameter) pairs, e.g. <see cref="IVisionLanguageModel.UniqueParameters"/>
    /// filtered by <c>requires_grad</c>. Names must be unique: a tensor listed twice (tied embeddings under two names)
    /// would get two states and two updates per step.
    /// </summary>
    /// <exception cref="ArgumentException">No parameters, a repeated name, or parameters of different dtypes.</exception>
    public static TrainingOptimizer Create(IEnumerable<(string Name, Parameter Parameter)> trainable, AdamWSettings settings,
        OptimizerStatePrecision states)
    {
        ArgumentNullException.ThrowIfNull(trainable);
        ArgumentNullException.ThrowIfNull(settings);
        var list = trainable.ToList();
        if (list.Count == 0) throw new ArgumentException("no trainable parameters.", nameof(trainable));
        var repeated = list.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new ArgumentException($"parameter '{repeated.Key}' is listed twice.", nameof(trainable));
        var dtypes = list.Select(t => t.Parameter.dtype).Distinct().ToList();
        if (dtypes.Count > 1)
            throw new ArgumentException($"trainable parameters have several dtypes ({string.Join(", ", dtypes)}); train them in one dtype.", nameof(trainable));
        var (stateDType, kahan) = StatePrecision(dtypes[0], states);
        bool noDecay(string name) => settings.ExcludeNormsAndBiasesFromDecay && ParameterGroups.IsNoDecayName(name);
        return new TrainingOptimizer(list.Where(t => !noDecay(t.Name)).ToList(), list.Where(t => noDecay(t.Name)).ToList(),
            settings, stateDType, kahan);
    }

    /// <summary>The state dtype <paramref name="states"/> means for weights of <paramref name="weightDType"/>, and whether
    /// updates are Kahan-compensated (exactly when the weights are 16-bit). Shared with the ZeRO-2 path.</summary>
    internal static (ScalarType StateDType, bool Kahan) StatePrecision(ScalarType weightDType, OptimizerStatePrecision states) =>
        (states switch
        {
            OptimizerStatePrecision.WeightDType => weightDType,
            OptimizerStatePrecision.Float32 => ScalarType.Float32,
            _ => throw new ArgumentOutOfRangeException(nameof(states), states, "unknown optimizer state precision."),
        }, weightDType is ScalarType.BFloat16 or ScalarType.Float16);

    /// <summary><see cref="Create"/> over the parameters of <paramref name="model"/> that require grad, a tied output
    /// head once (as the embedding, <see cref="IVisionLanguageModel.UniqueParameters"/>).</summary>
    public static TrainingOptimizer ForModel(IVisionLanguageModel model, AdamWSettings settings, OptimizerStatePrecision states)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Create(model.UniqueParameters().Where(t => t.Parameter.requires_grad), settings, states);
    }

    /// <summary>Every parameter the optimizer updates (decay group first), each tensor once.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The parameters' names, in <see cref="Parameters"/> order (also the keys of the saved state).</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>dtype of the momentum, variance and compensation buffers.</summary>
    public ScalarType StateDType { get; }

    /// <summary>Whether updates are Kahan-compensated (exactly when the weights are 16-bit).</summary>
    public bool KahanSummation { get; }

    /// <summary>Learning rate of the next <see cref="Step"/> (set by the trainer's schedule).</summary>
    public double LearningRate
    {
        get;
        set
        {
            field = value;
            _decay.LearningRate = value;
            if (_noDecay is not null) _noDecay.LearningRate = value;
        }
    }

    /// <summary>One AdamW step on every parameter that has a gradient.</summary>
    public void Step()
    {
        _decay.Step();
        _noDecay?.Step();
    }

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrad()
    {
        _decay.ZeroGrad();
        _noDecay?.ZeroGrad();
    }

    /// <summary>The state as named tensors for <c>optimizer.safetensors</c> (live buffers: write them before stepping).</summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> ExportState() =>
        _noDecay is null ? OptimizerStates.Export(_decay, _decayNames)
            : [.. OptimizerStates.Export(_decay, _decayNames), .. OptimizerStates.Export(_noDecay, _noDecayNames)];

    /// <summary>Restores what <see cref="ExportState"/> wrote.</summary>
    /// <exception cref="TrainingCheckpointException">A parameter's state is missing or has another shape.</exception>
    public void ImportState(SafetensorsFile file)
    {
        OptimizerStates.Import(_decay, _decayNames, file);
        if (_noDecay is not null) OptimizerStates.Import(_noDecay, _noDecayNames, file);
    }

    /// <summary>Frees the optimizer state.</summary>
    public void Dispose()
    {
        _decay.Dispose();
        _noDecay?.Dispose();
    }
}
