using FineR1.Core.Configuration;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Vision;

/// <summary>
/// Gated MLP of a vision block (HF <c>Qwen2_5_VLMLP</c> with <c>bias=True</c>):
/// <c>down_proj(act(gate_proj(x)) * up_proj(x))</c>, with <c>act</c> = SiLU (<c>vision_config.hidden_act</c>).
/// </summary>
public sealed class Qwen2_5_VLMLP : nn.Module<Tensor, Tensor>
{
    /// <summary>Gate projection <c>[intermediate, hidden]</c> + bias.</summary>
    public Linear gate_proj;
    /// <summary>Up projection <c>[intermediate, hidden]</c> + bias.</summary>
    public Linear up_proj;
    /// <summary>Down projection <c>[hidden, intermediate]</c> + bias.</summary>
    public Linear down_proj;

    /// <summary>Creates the MLP from the vision configuration.</summary>
    /// <exception cref="ConfigurationException"><c>hidden_act</c> is not a supported activation.</exception>
    public Qwen2_5_VLMLP(Qwen2_5_VLVisionConfig config, bool bias = true, Device? device = null, ScalarType? dtype = null)
        : base(nameof(Qwen2_5_VLMLP))
    {
        // Qwen2_5_VLConfig.Validate accepts only silu; a config built in code is checked here too.
        if (config.HiddenAct != "silu")
            throw new ConfigurationException($"vision_config.hidden_act '{config.HiddenAct}' is not supported (silu only).");
        gate_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, bias, device, dtype);
        up_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, bias, device, dtype);
        down_proj = nn.Linear(config.IntermediateSize, config.HiddenSize, bias, device, dtype);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var gated = nn.functional.silu(gate_proj.forward(hidden)) * up_proj.forward(hidden);   // [S, intermediate]
        return down_proj.forward(gated).MoveToOuterDisposeScope();               // [S, hidden]
    }
}
