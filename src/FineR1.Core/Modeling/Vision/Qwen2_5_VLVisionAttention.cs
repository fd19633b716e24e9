using FineR1.Core.Configuration;
using FineR1.Core.Modeling.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Vision;

/// <summary>
/// Vision self-attention (HF <c>Qwen2_5_VLVisionAttention</c>): fused <c>qkv</c>, 2-D rotary embedding applied in
/// float32, bidirectional attention restricted to segments (windows or whole frames), output projection.
/// </summary>
public sealed class Qwen2_5_VLVisionAttention : nn.Module<Tensor, VisionAttentionChunks, Tensor, Tensor, Tensor>
{
    private readonly long _numHeads;
    private readonly long _headDim;

    /// <summary>Fused query/key/value projection <c>[3·hidden, hidden]</c> + bias.</summary>
    public Linear qkv;
    /// <summary>Output projection <c>[hidden, hidden]</c> + bias.</summary>
    public Linear proj;

    /// <summary>The kernel (the attention seam; default libtorch SDPA), called once per group of equal-length segments
    /// with no mask: see <see cref="AttentionImplementations"/>.</summary>
    public AttentionFunction Attention { get; set; } = AttentionImplementations.ScaledDotProduct;

    /// <summary>Creates the attention from the vision configuration.</summary>
    public Qwen2_5_VLVisionAttention(Qwen2_5_VLVisionConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(Qwen2_5_VLVisionAttention))
    {
        _numHeads = config.NumHeads;
        _headDim = config.HeadDim;
        qkv = nn.Linear(config.HiddenSize, 3L * config.HiddenSize, true, device, dtype);
        proj = nn.Linear(config.HiddenSize, config.HiddenSize, true, device, dtype);
        RegisterComponents();
    }

    /// <summary>Attends within each segment of <paramref name="chunks"/>.</summary>
    /// <param name="hidden"><c>[S, hidden]</c>, rows in windowed order.</param>
    /// <param name="chunks">Segments (windows or frames) over the same rows.</param>
    /// <param name="cos">float32 <c>[S, head_dim]</c>.</param>
    /// <param name="sin">float32 <c>[S, head_dim]</c>.</param>
    /// <returns><c>[S, hidden]</c>.</returns>
    public override Tensor forward(Tensor hidden, VisionAttentionChunks chunks, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long s = hidden.shape[0];
        var parts = qkv.forward(hidden).reshape(s, 3, _numHeads, _headDim).unbind(1);   // 3 × [S, H, hd]
        var (q, k) = ApplyRotaryPosEmbVision(parts[0], parts[1], cos, sin);
        var v = parts[2];

        if (chunks.Gather is not null)
        {
            q = q.index_select(0, chunks.Gather);
            k = k.index_select(0, chunks.Gather);
            v = v.index_select(0, chunks.Gather);
        }
        var outputs = new List<Tensor>(chunks.Groups.Count);
        long row = 0;
        foreach (var (count, length) in chunks.Groups)
        {
            long rows = count * length;
            Tensor Batch(Tensor x) => x.narrow(0, row, rows).view(count, length, _numHeads, _headDim).transpose(1, 2); // [n, H, L, hd]
            var o = Attention(Batch(q), Batch(k), Batch(v), null, false);                             // [n, H, L, hd]
            outputs.Add(o.transpose(1, 2).reshape(rows, _numHeads * _headDim));                        // [n·L, hidden]
            row += rows;
        }
        var attn = outputs.Count == 1 ? outputs[0] : cat(outputs, 0);                                  // [S, hidden]
        if (chunks.Scatter is not null) attn = attn.index_select(0, chunks.Scatter);
        return proj.forward(attn).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// HF <c>apply_rotary_pos_emb_vision</c>: rotates q and k in float32 (<c>x·cos + rotate_half(x)·sin</c>, cos/sin
    /// broadcast over heads) and casts back to their dtype.
    /// </summary>
    /// <param name="q"><c>[S, H, hd]</c>.</param>
    /// <param name="k"><c>[S, H, hd]</c>.</param>
    /// <param name="cos"><c>[S, hd]</c>.</param>
    /// <param name="sin"><c>[S, hd]</c>.</param>
    public static (Tensor Q, Tensor K) ApplyRotaryPosEmbVision(Tensor q, Tensor k, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var c = cos.unsqueeze(-2).to(ScalarType.Float32);   // [S, 1, hd]
        var sn = sin.unsqueeze(-2).to(ScalarType.Float32);
        var qf = q.to(ScalarType.Float32);
        var kf = k.to(ScalarType.Float32);
        var qe = (qf * c + Rotary.RotateHalf(qf) * sn).to(q.dtype);
        var ke = (kf * c + Rotary.RotateHalf(kf) * sn).to(k.dtype);
        return (qe.MoveToOuterDisposeScope(), ke.MoveToOuterDisposeScope());
    }
}
