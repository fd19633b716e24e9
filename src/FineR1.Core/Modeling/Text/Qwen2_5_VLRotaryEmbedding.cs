using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Text;

/// <summary>
/// Rotary angles of the decoder for 3-D (temporal, height, width) positions (HF <c>Qwen2_5_VLRotaryEmbedding</c>,
/// default rope type). <c>inv_freq</c> is a non-persistent buffer, as in HF, so it never appears in the state dict.
/// </summary>
/// <remarks>
/// The angles are computed in float32 and only the resulting cos/sin are cast to the activations' dtype, like HF
/// (which disables autocast for this step).
/// </remarks>
public sealed class Qwen2_5_VLRotaryEmbedding : nn.Module<Tensor, Tensor, (Tensor Cos, Tensor Sin)>
{
    private readonly Tensor inv_freq; // [head_dim / 2], float32

    /// <summary>Creates the embedding for heads of <paramref name="headDim"/> with base <paramref name="theta"/>.</summary>
    public Qwen2_5_VLRotaryEmbedding(int headDim, double theta, Device? device = null)
        : base(nameof(Qwen2_5_VLRotaryEmbedding))
    {
        // inv_freq[i] = 1 / theta^(2i / head_dim), the exponent computed in float32 as HF does.
        using var exponent = arange(0, headDim, 2, dtype: ScalarType.Int64).to(ScalarType.Float32) / headDim;
        using var denominator = pow(theta, exponent);
        inv_freq = (1.0f / denominator).to(device ?? CPU);
        register_buffer(nameof(inv_freq), inv_freq, persistent: false);
    }

    /// <summary>The inverse frequencies <c>[head_dim / 2]</c> (float32), for the static decode step.</summary>
    internal Tensor InvFreq => inv_freq;

    /// <summary>
    /// cos and sin of the rotary angles, each <c>[3, B, T, head_dim]</c> in the dtype of <paramref name="x"/>.
    /// </summary>
    /// <param name="x">Any activation tensor: only its dtype is used.</param>
    /// <param name="positionIds">M-RoPE positions <c>[3, B, T]</c> (int64).</param>
    public override (Tensor Cos, Tensor Sin) forward(Tensor x, Tensor positionIds)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var invFreq = inv_freq.device == positionIds.device ? inv_freq : inv_freq.to(positionIds.device);
        var freqs = positionIds.to(ScalarType.Float32).unsqueeze(-1) * invFreq;   // [3, B, T, head_dim/2]
        var emb = cat([freqs, freqs], -1);                                          // [3, B, T, head_dim]
        var cos = emb.cos().to(x.dtype).MoveToOuterDisposeScope();
        var sin = emb.sin().to(x.dtype).MoveToOuterDisposeScope();
        return (cos, sin);
    }
}
