using System.Text.RegularExpressions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Optimization;

/// <summary>AdamW hyperparameters (HF / PyTorch defaults: β (0.9, 0.999), ε 1e-8).</summary>
/// <param name="LearningRate">Peak learning rate (TAPO 1e-6, SFT 5e-6).</param>
/// <param name="WeightDecay">Decoupled weight decay (TAPO 1e-2, SFT 0.1).</param>
/// <param name="Beta1">β1.</param>
/// <param name="Beta2">β2.</param>
/// <param name="Epsilon">ε.</param>
/// <param name="ExcludeNormsAndBiasesFromDecay">
/// HF Trainer (used by Stage-1 SFT through LLaMA-Factory) does not decay biases and norm weights; EasyR1 (Stage-2 TAPO)
/// decays every parameter. See <see cref="ParameterGroups.IsNoDecayName"/>.
/// </param>
public sealed record AdamWSettings(
    double LearningRate, double WeightDecay, double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8,
    bool ExcludeNormsAndBiasesFromDecay = false);

/// <summary>Splitting a model's trainable parameters into decay / no-decay groups (HF <c>get_decay_parameter_names</c>).</summary>
public static partial class ParameterGroups
{
    // HF transformers Trainer.get_decay_parameter_names: forbidden_name_patterns.
    [GeneratedRegex(@"bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.)", RegexOptions.IgnoreCase)]
    private static partial Regex NoDecayPattern();

    /// <summary>
    /// True for parameter names HF Trainer excludes from weight decay: containing <c>bias</c>, <c>layernorm</c>,
    /// <c>rmsnorm</c>, a <c>norm</c> path segment or a <c>_norm</c> suffix.
    /// </summary>
    /// <example>True: <c>model.layers.0.input_layernorm.weight</c>, <c>model.norm.weight</c>, <c>q_proj.bias</c>. False:
    /// <c>q_proj.weight</c>, and <c>visual.blocks.0.norm1.weight</c> (<c>norm1</c> is not a whole <c>norm</c> segment — as in HF).</example>
    public static bool IsNoDecayName(string name) => NoDecayPattern().IsMatch(name);

    /// <summary>Trainable parameters (requires_grad) split into (decay, noDecay) by <paramref name="settings"/>.</summary>
    public static (List<Parameter> Decay, List<Parameter> NoDecay) Split(nn.Module module, AdamWSettings settings)
    {
        var decay = new List<Parameter>();
        var noDecay = new List<Parameter>();
        foreach (var (name, p) in module.named_parameters())
        {
            if (!p.requires_grad) continue;
            (settings.ExcludeNormsAndBiasesFromDecay && IsNoDecayName(name) ? noDecay : decay).Add(p);
        }
        return (decay, noDecay);
    }
}
