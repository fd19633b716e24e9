using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Inference.Siglip;

/// <summary>HF <c>SiglipAttention</c> (eager): multi-head attention with biased q/k/v/out projections, no causal mask.</summary>
public sealed class SiglipAttention : nn.Module<Tensor, Tensor?, Tensor>
{
    /// <summary><c>[hidden, hidden]</c> + bias</summary>
    public Linear q_proj, k_proj, v_proj, out_proj;

    private readonly int _heads, _headDim;
    private readonly double _scale;

    /// <summary>Creates the attention for <paramref name="config"/>.</summary>
    public SiglipAttention(SiglipTextConfig config) : base(nameof(SiglipAttention))
    {
        _heads = config.NumAttentionHeads;
        _headDim = config.HeadDim;
        _scale = Math.Pow(_headDim, -0.5);
        q_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        k_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        v_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        out_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    /// <summary>
    /// <paramref name="hidden"/> <c>[B, T, hidden]</c>; <paramref name="additiveMask"/> <c>[B, 1, T, T]</c> (0 or a large
    /// negative number) or null for full attention. Returns <c>[B, T, hidden]</c>.
    /// </summary>
    public override Tensor forward(Tensor hidden, Tensor? additiveMask)
    {
        using var scope = NewDisposeScope();
        long b = hidden.shape[0], t = hidden.shape[1];
        Tensor Heads(Tensor x) => x.view(b, t, _heads, _headDim).transpose(1, 2);   // [B, heads, T, head_dim]
        var q = Heads(q_proj.forward(hidden));
        var k = Heads(k_proj.forward(hidden));
        var v = Heads(v_proj.forward(hidden));
        var scores = matmul(q, k.transpose(2, 3)) * _scale;                           // [B, heads, T, T]
        if (additiveMask is not null) scores = scores + additiveMask;
        // HF: softmax in float32, then back to the query dtype.
        var weights = nn.functional.softmax(scores, -1, ScalarType.Float32).to(q.dtype);
        var context = matmul(weights, v)                                               // [B, heads, T, head_dim]
            .transpose(1, 2).contiguous().view(b, t, _heads * _headDim);               // [B, T, hidden]
        return out_proj.forward(context).MoveToOuterDisposeScope();
    }
}
