using FineR1.Core.Configuration;
using FineR1.Core.Modeling.Common;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Vision;

/// <summary>
/// Pre-norm vision transformer block (HF <c>Qwen2_5_VLVisionBlock</c>):
/// <c>x + attn(norm1(x))</c>, then <c>x + mlp(norm2(x))</c>.
/// </summary>
public sealed class Qwen2_5_VLVisionBlock : nn.Module<Tensor, VisionAttentionChunks, Tensor, Tensor, Tensor>
{
    /// <summary>RMSNorm before attention.</summary>
    public Qwen2RMSNorm norm1;
    /// <summary>RMSNorm before the MLP.</summary>
    public Qwen2RMSNorm norm2;
    /// <summary>Windowed or full self-attention.</summary>
    public Qwen2_5_VLVisionAttention attn;
    /// <summary>Gated MLP with biases.</summary>
    public Qwen2_5_VLMLP mlp;

    /// <summary>Creates the block from the vision configuration.</summary>
    public Qwen2_5_VLVisionBlock(Qwen2_5_VLVisionConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(Qwen2_5_VLVisionBlock))
    {
        norm1 = new Qwen2RMSNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        norm2 = new Qwen2RMSNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        attn = new Qwen2_5_VLVisionAttention(config, device, dtype);
        mlp = new Qwen2_5_VLMLP(config, bias: true, device, dtype);
        RegisterComponents();
    }

    /// <summary>Runs the block on <c>[S, hidden]</c>; see <see cref="Qwen2_5_VLVisionAttention.forward"/>.</summary>
    public override Tensor forward(Tensor hidden, VisionAttentionChunks chunks, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var h = hidden + attn.forward(norm1.forward(hidden), chunks, cos, sin);
        h = h + mlp.forward(norm2.forward(h));
        return h.MoveToOuterDisposeScope();
    }
}
