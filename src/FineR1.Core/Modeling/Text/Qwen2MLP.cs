using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Text;

/// <summary>
/// SwiGLU feed-forward block of the decoder (HF <c>Qwen2MLP</c>): <c>down_proj(silu(gate_proj(x)) * up_proj(x))</c>,
/// all three projections without bias.
/// </summary>
/// <remarks>The projections are typed <c>nn.Module&lt;Tensor, Tensor&gt;</c> (an <c>nn.Linear</c> when built) so that LoRA
/// (<see cref="FineR1.Core.Modeling.Lora.LoraLinear"/>) can wrap them in place.</remarks>
public sealed class Qwen2MLP : nn.Module<Tensor, Tensor>
{
    /// <summary>Gate projection <c>[intermediate, hidden]</c>.</summary>
    public nn.Module<Tensor, Tensor> gate_proj;
    /// <summary>Up projection <c>[intermediate, hidden]</c>.</summary>
    public nn.Module<Tensor, Tensor> up_proj;
    /// <summary>Down projection <c>[hidden, intermediate]</c>.</summary>
    public nn.Module<Tensor, Tensor> down_proj;

    /// <summary>Creates the block for <paramref name="hiddenSize"/> → <paramref name="intermediateSize"/> → <paramref name="hiddenSize"/>.</summary>
    public Qwen2MLP(long hiddenSize, long intermediateSize, Device? device = null, ScalarType? dtype = null)
        : base(nameof(Qwen2MLP))
    {
        gate_proj = nn.Linear(hiddenSize, intermediateSize, hasBias: false, device: device, dtype: dtype);
        up_proj = nn.Linear(hiddenSize, intermediateSize, hasBias: false, device: device, dtype: dtype);
        down_proj = nn.Linear(intermediateSize, hiddenSize, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) // [..., hidden]
    {
        using var scope = NewDisposeScope();
        var gate = nn.functional.silu(gate_proj.forward(x));                  // [..., intermediate]
        return down_proj.forward(gate * up_proj.forward(x)).MoveToOuterDisposeScope();
    }
}
