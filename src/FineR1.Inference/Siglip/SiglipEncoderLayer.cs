using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Inference.Siglip;

/// <summary>HF <c>SiglipEncoderLayer</c>: pre-norm attention and MLP blocks, each with a residual connection.</summary>
public sealed class SiglipEncoderLayer : nn.Module<Tensor, Tensor?, Tensor>
{
    /// <summary>Norm before attention.</summary>
    public LayerNorm layer_norm1;
    /// <summary>Self-attention.</summary>
    public SiglipAttention self_attn;
    /// <summary>Norm before the MLP.</summary>
    public LayerNorm layer_norm2;
    /// <summary>Feed-forward block.</summary>
    public SiglipMLP mlp;

    /// <summary>Creates the layer for <paramref name="config"/>.</summary>
    public SiglipEncoderLayer(SiglipTextConfig config) : base(nameof(SiglipEncoderLayer))
    {
        layer_norm1 = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        self_attn = new SiglipAttention(config);
        layer_norm2 = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        mlp = new SiglipMLP(config);
        RegisterComponents();
    }

    /// <summary><paramref name="hidden"/> <c>[B, T, hidden]</c> → <c>[B, T, hidden]</c>.</summary>
    public override Tensor forward(Tensor hidden, Tensor? additiveMask)
    {
        using var scope = NewDisposeScope();
        var h = hidden + self_attn.forward(layer_norm1.forward(hidden), additiveMask);
        h = h + mlp.forward(layer_norm2.forward(h));
        return h.MoveToOuterDisposeScope();
    }
}
