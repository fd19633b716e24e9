using FineR1.Core.Checkpoints;
using FineR1.Training.Checkpointing;
using FineR1.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Sft;

/// <summary>
/// The SFT optimizer: AdamW over the trainable parameters with HF Trainer's groups (no decay for biases and norm
/// weights). float32 weights use TorchSharp's AdamW (= <c>torch.optim.AdamW</c>); bf16 weights use
/// <see cref="AnyPrecisionAdamW"/> with float32 moments and a float32 Kahan buffer (docs/training-precision.md).
/// </summary>
internal sealed class SftOptimizer : IDisposable
{
    private readonly AdamW? _torch;
    private readonly AnyPrecisionAdamW? _decay, _noDecay;
    private readonly List<string> _torchNames = [];
    private readonly List<string> _decayNames = [], _noDecayNames = [];

    public IReadOnlyList<Parameter> Parameters { get; }

    public SftOptimizer(IReadOnlyList<(string Name, Parameter Parameter)> trainable, SftOptions o, bool bf16)
    {
        var decay = trainable.Where(t => !ParameterGroups.IsNoDecayName(t.Name)).ToList();
        var noDecay = trainable.Where(t => ParameterGroups.IsNoDecayName(t.Name)).ToList();
        Parameters = decay.Concat(noDecay).Select(t => t.Parameter).ToList();
        if (!bf16)
        {
            var groups = new List<AdamW.ParamGroup> { new(decay.Select(t => t.Parameter), o.LearningRate, o.Beta1, o.Beta2, o.AdamEpsilon, o.WeightDecay) };
            if (noDecay.Count > 0) groups.Add(new(noDecay.Select(t => t.Parameter), o.LearningRate, o.Beta1, o.Beta2, o.AdamEpsilon, 0.0));
            _torch = optim.AdamW(groups, o.LearningRate, o.Beta1, o.Beta2, o.AdamEpsilon, o.WeightDecay);
            _torchNames.AddRange(decay.Select(t => t.Name));
            if (noDecay.Count > 0) _torchNames.AddRange(noDecay.Select(t => t.Name));
        }
        else
        {
            _decay = new AnyPrecisionAdamW(decay.Select(t => t.Parameter), new AdamWSettings(o.LearningRate, o.WeightDecay, o.Beta1, o.Beta2, o.AdamEpsilon),
                ScalarType.Float32, kahanSummation: true);
            _noDecay = new AnyPrecisionAdamW(noDecay.Select(t => t.Parameter), new AdamWSettings(o.LearningRate, 0.0, o.Beta1, o.Beta2, o.AdamEpsilon),
                ScalarType.Float32, kahanSummation: true);
            _decayNames.AddRange(decay.Select(t => t.Name));
            _noDecayNames.AddRange(noDecay.Select(t => t.Name));
        }
    }

    public void SetLearningRate(double lr)
    {
        if (_torch is not null) foreach (var g in _torch.ParamGroups) g.LearningRate = lr;
        if (_decay is not null) _decay.LearningRate = lr;
        if (_noDecay is not null) _noDecay.LearningRate = lr;
    }

    public void Step()
    {
        _torch?.step();
        _decay?.Step();
        _noDecay?.Step();
    }

    public IReadOnlyList<KeyValuePair<string, Tensor>> ExportState()
    {
        if (_torch is not null) return OptimizerStates.Export(_torch, _torchNames);
        return [.. OptimizerStates.Export(_decay!, _decayNames), .. OptimizerStates.Export(_noDecay!, _noDecayNames)];
    }

    public void ImportState(SafetensorsFile file)
    {
        if (_torch is not null) { OptimizerStates.Import(_torch, _torchNames, file); return; }
        OptimizerStates.Import(_decay!, _decayNames, file);
        OptimizerStates.Import(_noDecay!, _noDecayNames, file);
    }

    public void Dispose()
    {
        _torch?.Dispose();
        _decay?.Dispose();
        _noDecay?.Dispose();
    }
}
