using FineR1.Core.Configuration;
using FineR1.Core.Modeling.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Text;

/// <summary>
/// One pre-norm decoder block (HF <c>Qwen2_5_VLDecoderLayer</c>):
/// <c>h = h + self_attn(input_layernorm(h)); h = h + mlp(post_attention_layernorm(h))</c>.
/// </summary>
public sealed class Qwen2_5_VLDecoderLayer : nn.Module<Tensor, DecoderContext, Tensor>
{
    /// <summary>Self-attention.</summary>
    public Qwen2_5_VLAttention self_attn;
    /// <summary>Feed-forward block.</summary>
    public Qwen2MLP mlp;
    /// <summary>Norm before attention.</summary>
    public Qwen2RMSNorm input_layernorm;
    /// <summary>Norm before the MLP.</summary>
    public Qwen2RMSNorm post_attention_layernorm;

    /// <summary>Creates layer <paramref name="layerIdx"/>.</summary>
    public Qwen2_5_VLDecoderLayer(Qwen2_5_VLTextConfig config, int layerIdx, Device? device = null, ScalarType? dtype = null)
        : base(nameof(Qwen2_5_VLDecoderLayer))
    {
        self_attn = new Qwen2_5_VLAttention(config, layerIdx, device, dtype);
        mlp = new Qwen2MLP(config.HiddenSize, config.IntermediateSize, device, dtype);
        input_layernorm = new Qwen2RMSNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        post_attention_layernorm = new Qwen2RMSNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor hidden, DecoderContext context) // [B, T, hidden]
    {
        using var scope = NewDisposeScope();
        var h = hidden + self_attn.forward(input_layernorm.forward(hidden), context);
        h = h + mlp.forward(post_attention_layernorm.forward(h));
        return h.MoveToOuterDisposeScope();
    }
}
