using FineR1.Core.Configuration;
using FineR1.Core.Modeling.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Text;

/// <summary>
/// Grouped-query self-attention of the decoder (HF <c>Qwen2_5_VLAttention</c>): q/k/v projections with bias, o_proj
/// without, M-RoPE on q and k, optional KV cache, then <see cref="Attention"/> (scaled dot-product attention, scale <c>head_dim^-0.5</c>).
/// </summary>
/// <remarks>The projections are typed <c>nn.Module&lt;Tensor, Tensor&gt;</c> (an <c>nn.Linear</c> when built) so that LoRA
/// (<see cref="FineR1.Core.Modeling.Lora.LoraLinear"/>) can wrap them in place.</remarks>
public sealed class Qwen2_5_VLAttention : nn.Module<Tensor, DecoderContext, Tensor>
{
    private readonly int _layerIdx;
    private readonly long _numHeads, _numKeyValueHeads, _headDim;

    /// <summary>Query projection <c>[heads × head_dim, hidden]</c> + bias.</summary>
    public nn.Module<Tensor, Tensor> q_proj;
    /// <summary>Key projection <c>[kv_heads × head_dim, hidden]</c> + bias.</summary>
    public nn.Module<Tensor, Tensor> k_proj;
    /// <summary>Value projection <c>[kv_heads × head_dim, hidden]</c> + bias.</summary>
    public nn.Module<Tensor, Tensor> v_proj;
    /// <summary>Output projection <c>[hidden, heads × head_dim]</c>, no bias.</summary>
    public nn.Module<Tensor, Tensor> o_proj;

    /// <summary>The kernel (the attention seam; default libtorch SDPA): see <see cref="AttentionImplementations"/> and
    /// <see cref="Qwen2_5_VLForConditionalGeneration.SetAttentionImplementation"/>.</summary>
    public AttentionFunction Attention { get; set; } = AttentionImplementations.ScaledDotProduct;

    /// <summary>Creates the attention of decoder layer <paramref name="layerIdx"/> (its slot in the KV cache).</summary>
    public Qwen2_5_VLAttention(Qwen2_5_VLTextConfig config, int layerIdx, Device? device = null, ScalarType? dtype = null)
        : base(nameof(Qwen2_5_VLAttention))
    {
        _layerIdx = layerIdx;
        _numHeads = config.NumAttentionHeads;
        _numKeyValueHeads = config.NumKeyValueHeads;
        _headDim = config.HeadDim;
        long hidden = config.HiddenSize;
        q_proj = nn.Linear(hidden, _numHeads * _headDim, hasBias: true, device: device, dtype: dtype);
        k_proj = nn.Linear(hidden, _numKeyValueHeads * _headDim, hasBias: true, device: device, dtype: dtype);
        v_proj = nn.Linear(hidden, _numKeyValueHeads * _headDim, hasBias: true, device: device, dtype: dtype);
        o_proj = nn.Linear(_numHeads * _headDim, hidden, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>Attends <paramref name="hidden"/> (<c>[B, T, hidden]</c>) and returns <c>[B, T, hidden]</c>.</summary>
    public override Tensor forward(Tensor hidden, DecoderContext context)
    {
        using var scope = NewDisposeScope();
        long batch = hidden.shape[0], steps = hidden.shape[1];
        var q = q_proj.forward(hidden).view(batch, steps, _numHeads, _headDim).transpose(1, 2);          // [B, H, T, hd]
        var k = k_proj.forward(hidden).view(batch, steps, _numKeyValueHeads, _headDim).transpose(1, 2);  // [B, KV, T, hd]
        var v = v_proj.forward(hidden).view(batch, steps, _numKeyValueHeads, _headDim).transpose(1, 2);  // [B, KV, T, hd]

        q = MultimodalRotary.Apply(q, context.Cos, context.Sin);
        k = MultimodalRotary.Apply(k, context.Cos, context.Sin);

        if (context.Cache is { } cache) (k, v) = cache.Update(_layerIdx, k, v);                         // [B, KV, S, hd]

        var attn = Attention(q, k, v, context.Mask, context.IsCausal);                                  // [B, H, T, hd]
        var merged = attn.transpose(1, 2).reshape(batch, steps, _numHeads * _headDim);                   // [B, T, H*hd]
        return o_proj.forward(merged).MoveToOuterDisposeScope();
    }
}
