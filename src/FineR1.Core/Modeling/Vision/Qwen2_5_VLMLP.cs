using FineR1.Core.Configuration;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Vision;

/// <summary>
/// Gated MLP of a vision block (HF <c>Qwen2_5_VLMLP</c> with <c>bias=True</c>):
/// <c>down_proj(act(gate_proj(x)) * up_proj(x))</c>, the activation being <c>vision_config.hidden_act</c> (SiLU).
/// </summary>
public sealed class Qwen2_5_VLMLP : nn.Module<Tensor, Tensor>
{
    private readonly Func<Tensor, Tensor> _act;

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
        _act = Activation(config.HiddenAct);
        gate_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, bias, device, dtype);
        up_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, bias, device, dtype);
        down_proj = nn.Linear(config.IntermediateSize, config.HiddenSize, bias, device, dtype);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var gated = _act(gate_proj.forward(hidden)) * up_proj.forward(hidden);   // [S, intermediate]
        return down_proj.forward(gated).MoveToOuterDisposeScope();               // [S, hidden]
    }

    /// <summary>HF <c>ACT2FN</c> for the names Qwen vision configs use.</summary>
    internal static Func<Tensor, Tensor> Activation(string name) => name switch
    {
        "silu" or "swish" => x => nn.functional.silu(x),
        "gelu" => x => nn.functional.gelu(x),
        "gelu_pytorch_tanh" => x => nn.functional.gelu(x, GELU.Approximate.tanh),
        "quick_gelu" => x => x * nn.functional.sigmoid(1.702 * x),
        "relu" => x => nn.functional.relu(x),
        _ => throw new ConfigurationException($"vision_config.hidden_act '{name}' is not supported (silu, gelu, gelu_pytorch_tanh, quick_gelu, relu)."),
    };
}
