using FineR1.Core.Configuration;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Text;

/// <summary>
/// Attention of the one new position of every row against the whole static KV cache.
/// </summary>
/// <param name="query">Queries grouped by their key/value head, <c>[B, kv_heads, groups, head_dim]</c> (query head
/// <c>h</c> is group <c>h % groups</c> of kv head <c>h / groups</c>, as HF's <c>repeat_kv</c> pairs them).</param>
/// <param name="keys">The layer's whole key buffer <c>[B, kv_heads, capacity, head_dim]</c>.</param>
/// <param name="values">The layer's whole value buffer, same shape.</param>
/// <param name="mask">Additive <c>[B, 1, 1, capacity]</c> in the activations' dtype: 0 where the row may attend, the
/// dtype's lowest value elsewhere.</param>
/// <returns><c>[B, kv_heads, groups, head_dim]</c>.</returns>
public delegate Tensor DecodeAttention(Tensor query, Tensor keys, Tensor values, Tensor mask);

/// <summary>
/// The lean decode step of the Qwen2.5-VL text decoder: one new token per row against a preallocated cache, with
/// shapes that never change between steps and no host read, so that the whole step can be captured as one CUDA graph
/// (see docs/decode-path.md). It computes what <see cref="Qwen2_5_VLTextModel.forward"/> computes for one cached token,
/// with fewer operations:
/// <list type="bullet">
/// <item>q/k/v and gate/up projections as one matrix product each (weights concatenated once; <see cref="RefreshWeights"/>
/// copies them again, e.g. after an optimizer step: the model's own parameters keep their HF names and stay the
/// source of truth);</item>
/// <item>rotary cos/sin once per step for all layers (a decode position is a text position: the three M-RoPE axes are
/// equal, so the section merge is the identity), applied to q and k together;</item>
/// <item>the new key/value written with <c>index_copy_</c> at a device-side slot, attention over the whole cache
/// capacity with a device-built mask, and grouped-query attention without repeating the cache;</item>
/// <item>in-place residual additions.</item>
/// </list>
/// </summary>
public sealed class StaticDecodeStep : IDisposable
{
    private readonly Qwen2_5_VLForConditionalGeneration _model;
    private readonly Qwen2_5_VLTextConfig _config;
    private readonly Fused[] _fused;
    private readonly long _heads, _kvHeads, _headDim;
    private readonly Tensor _invFreq;     // [head_dim / 2] float32 on the model's device

    /// <summary>The attention kernel (default: <see cref="ScaledDotProduct"/>). A fused decode-attention kernel can be
    /// plugged in here; it must launch device work only.</summary>
    public DecodeAttention Attention { get; set; } = ScaledDotProduct;

    /// <summary>Prepares the step for <paramref name="model"/> (weights loaded; fused copies are made now).</summary>
    public StaticDecodeStep(Qwen2_5_VLForConditionalGeneration model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _config = model.Config.Text;
        _heads = _config.NumAttentionHeads;
        _kvHeads = _config.NumKeyValueHeads;
        _headDim = _config.HeadDim;
        _fused = model.model.language_model.layers.Select(Fused.Create).ToArray();
        var text = model.model.language_model;
        _invFreq = text.rotary_emb.InvFreq.to(text.embed_tokens.weight.device, copy: true).DetachFromDisposeScope();
        RefreshWeights();
    }

    /// <summary>Copies the current projection weights into the fused buffers (in place, so captured graphs stay valid).
    /// Call after the model's weights changed; generation sessions call it at their start.</summary>
    public void RefreshWeights()
    {
        using var noGrad = no_grad();
        var layers = _model.model.language_model.layers;
        for (int i = 0; i < _fused.Length; i++) _fused[i].Refresh(layers[i]);
    }

    /// <summary>Allocates the fixed-shape buffers of one batch bucket.</summary>
    public StaticDecodeBuffers CreateBuffers(long rows, long capacity)
    {
        var weight = _model.model.language_model.embed_tokens.weight;
        return new StaticDecodeBuffers(_config, rows, capacity, weight.dtype, weight.device);
    }

    /// <summary>
    /// One decode step: reads <see cref="StaticDecodeBuffers.InputIds"/> (the token of every row), writes its keys and
    /// values at slot <see cref="StaticDecodeBuffers.Position"/> of the cache and returns the logits <c>[B, vocab]</c>.
    /// Does not advance the cache's host-side length (the caller does).
    /// </summary>
    public Tensor Forward(StaticDecodeBuffers buffers)
    {
        ArgumentNullException.ThrowIfNull(buffers);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var text = _model.model.language_model;
        long rows = buffers.Rows, capacity = buffers.Capacity;
        var embedding = text.embed_tokens.weight;
        var hidden = embedding[buffers.InputIds].unsqueeze(1);                                     // [B, 1, hidden]
        var (cos, sinSigned) = RotaryAngles(buffers, _invFreq, embedding.dtype);   // [B, 1, head_dim] each
        // Slot j is visible when it holds a prompt token (not padding) or an already generated one (j ≤ position).
        // Additive form, built once per step instead of inside every layer's attention: 0 where visible, the dtype's
        // lowest value elsewhere (its exp underflows to exactly 0, as with a boolean mask).
        var visible = buffers.KeyValid.bitwise_and(buffers.SlotIndex.le(buffers.Position));         // [B, S]
        var mask = visible.to(embedding.dtype).sub_(1).mul_(-LowestValue(embedding.dtype)).view(rows, 1, 1, capacity);
        for (int i = 0; i < _fused.Length; i++) Layer(i, text.layers[i], hidden, cos, sinSigned, mask, buffers);
        var logits = _model.lm_head.forward(text.norm.forward(hidden)).view(rows, -1);            // [B, vocab]
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// cos and the sign-folded sin of the step's rotary angles. HF rotates by <c>x·cos + rotate_half(x)·sin</c> with
    /// <c>rotate_half(x) = [−x₂, x₁]</c>; here <c>rotate_half(x)·sin = [x₂, x₁]·[−sin₁, sin₂]</c>, one kernel
    /// fewer per layer (no negation) and bit-identical (only signs move).
    /// </summary>
    private static (Tensor Cos, Tensor SinSigned) RotaryAngles(StaticDecodeBuffers buffers, Tensor invFreq, ScalarType dtype)
    {
        // position = cache slot + rope delta, as RopeIndex.DecodePositions computes it; [B, 1]
        var positions = (buffers.Position + buffers.RopeDeltas).to(ScalarType.Float32);
        var freqs = positions.unsqueeze(-1) * invFreq;                                            // [B, 1, hd/2]
        var angles = cat([freqs, freqs], -1);                                                     // [B, 1, hd]
        long half = freqs.shape[^1];
        var sin = angles.sin();
        var sinSigned = cat([sin.narrow(-1, 0, half).neg(), sin.narrow(-1, half, half)], -1);
        return (angles.cos().to(dtype), sinSigned.to(dtype));
    }

    private void Layer(int index, Qwen2_5_VLDecoderLayer layer, Tensor hidden, Tensor cos, Tensor sinSigned, Tensor mask,
        StaticDecodeBuffers buffers)
    {
        using var scope = NewDisposeScope();
        long rows = hidden.shape[0], groups = _heads / _kvHeads, half = _headDim / 2;
        var attention = layer.self_attn;
        var x = layer.input_layernorm.forward(hidden);                                           // [B, 1, hidden]
        var qkv = _fused[index].ProjectQkv(attention, x).view(rows, _heads + 2 * _kvHeads, _headDim); // [B, H+2KV, hd]
        var qk = qkv.narrow(1, 0, _heads + _kvHeads);                                              // [B, H+KV, hd]
        var swapped = cat([qk.narrow(-1, half, half), qk.narrow(-1, 0, half)], -1);                  // [x₂, x₁]
        var rotated = qk * cos + swapped * sinSigned;                                              // M-RoPE on q and k at once
        var query = rotated.narrow(1, 0, _heads).reshape(rows, _kvHeads, groups, _headDim);       // [B, KV, G, hd]
        var keys = buffers.Cache.KeyBuffer(index);                                                 // [B, KV, S, hd]
        var values = buffers.Cache.ValueBuffer(index);
        keys.index_copy_(2, buffers.Position, rotated.narrow(1, _heads, _kvHeads).unsqueeze(2));
        values.index_copy_(2, buffers.Position, qkv.narrow(1, _heads + _kvHeads, _kvHeads).unsqueeze(2));
        var attended = Attention(query, keys, values, mask);                                       // [B, KV, G, hd]
        hidden.add_(attention.o_proj.forward(attended.reshape(rows, 1, _heads * _headDim)));
        x = layer.post_attention_layernorm.forward(hidden);
        hidden.add_(layer.mlp.down_proj.forward(_fused[index].GatedActivation(layer.mlp, x)));
    }

    private static double LowestValue(ScalarType dtype) => dtype switch
    {
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float16 => -65504.0,
        ScalarType.Float64 => double.MinValue,
        _ => float.MinValue,
    };

    /// <summary>Default <see cref="Attention"/>: libtorch's scaled dot-product attention (scale head_dim^-0.5).</summary>
    public static Tensor ScaledDotProduct(Tensor query, Tensor keys, Tensor values, Tensor mask) =>
        nn.functional.scaled_dot_product_attention(query, keys, values, mask);

    /// <summary>Frees the fused weight copies.</summary>
    public void Dispose()
    {
        foreach (var f in _fused) f.Dispose();
        _invFreq.Dispose();
    }

    /// <summary>Concatenated projection weights of one layer; null where a projection is not a plain <c>Linear</c>
    /// (e.g. wrapped by LoRA): then the modules are called one by one.</summary>
    private sealed class Fused : IDisposable
    {
        private Tensor? _qkvWeight, _qkvBias, _gateUpWeight;   // [(H+2KV)·hd, hidden], [(H+2KV)·hd], [2·I, hidden]

        public static Fused Create(Qwen2_5_VLDecoderLayer layer)
        {
            var f = new Fused();
            var a = layer.self_attn;
            if (a.q_proj is Linear q && a.k_proj is Linear k && a.v_proj is Linear v && q.bias is not null && k.bias is not null && v.bias is not null)
            {
                f._qkvWeight = empty([q.weight!.shape[0] + k.weight!.shape[0] + v.weight!.shape[0], q.weight.shape[1]],
                    q.weight.dtype, q.weight.device).DetachFromDisposeScope();
                f._qkvBias = empty(f._qkvWeight.shape[0], q.weight.dtype, q.weight.device).DetachFromDisposeScope();
            }
            if (layer.mlp.gate_proj is Linear g && layer.mlp.up_proj is Linear u)
                f._gateUpWeight = empty([g.weight!.shape[0] + u.weight!.shape[0], g.weight.shape[1]], g.weight.dtype, g.weight.device)
                    .DetachFromDisposeScope();
            return f;
        }

        public void Refresh(Qwen2_5_VLDecoderLayer layer)
        {
            var a = layer.self_attn;
            if (_qkvWeight is not null)
            {
                Stack(_qkvWeight, ((Linear)a.q_proj).weight!, ((Linear)a.k_proj).weight!, ((Linear)a.v_proj).weight!);
                Stack(_qkvBias!, ((Linear)a.q_proj).bias!, ((Linear)a.k_proj).bias!, ((Linear)a.v_proj).bias!);
            }
            if (_gateUpWeight is not null) Stack(_gateUpWeight, ((Linear)layer.mlp.gate_proj).weight!, ((Linear)layer.mlp.up_proj).weight!);
        }

        private static void Stack(Tensor target, params Tensor[] parts)
        {
            long offset = 0;
            foreach (var p in parts)
            {
                using var slot = target.narrow(0, offset, p.shape[0]);
                slot.copy_(p);
                offset += p.shape[0];
            }
        }

        /// <summary>q, k and v of <paramref name="x"/> side by side, <c>[B, 1, (H+2KV)·hd]</c>.</summary>
        public Tensor ProjectQkv(Qwen2_5_VLAttention a, Tensor x) => _qkvWeight is not null
            ? nn.functional.linear(x, _qkvWeight, _qkvBias)
            : cat([a.q_proj.forward(x), a.k_proj.forward(x), a.v_proj.forward(x)], -1);

        /// <summary><c>silu(gate_proj(x)) · up_proj(x)</c>.</summary>
        public Tensor GatedActivation(Qwen2MLP mlp, Tensor x)
        {
            if (_gateUpWeight is null) return nn.functional.silu(mlp.gate_proj.forward(x)).mul_(mlp.up_proj.forward(x));
            long inner = _gateUpWeight.shape[0] / 2;
            var gateUp = nn.functional.linear(x, _gateUpWeight);                                  // [B, 1, 2·I]
            return nn.functional.silu(gateUp.narrow(-1, 0, inner)).mul_(gateUp.narrow(-1, inner, inner));
        }

        public void Dispose()
        {
            _qkvWeight?.Dispose();
            _qkvBias?.Dispose();
            _gateUpWeight?.Dispose();
        }
    }
}

/// <summary>
/// The fixed-shape state of the static decode step for one batch bucket (<see cref="Rows"/> × <see cref="Capacity"/>):
/// the KV cache and the step's inputs, all allocated once so a captured CUDA graph can read them at fixed addresses.
/// </summary>
public sealed class StaticDecodeBuffers : IDisposable
{
    /// <summary>Rows of the bucket.</summary>
    public long Rows { get; }
    /// <summary>Cache slots per row (prompt + new tokens must fit).</summary>
    public long Capacity { get; }
    /// <summary>The KV cache <c>[B, kv_heads, Capacity, head_dim]</c> per layer; prefill fills it through the model's forward.</summary>
    public KvCache Cache { get; }
    /// <summary>Token of every row for the next step, <c>[B]</c> int64.</summary>
    public Tensor InputIds { get; }
    /// <summary>Cache slot the next step writes (the same for all rows: left padding aligns them), <c>[1]</c> int64.</summary>
    public Tensor Position { get; }
    /// <summary>M-RoPE decode offsets from the prompt, <c>[B, 1]</c> int64.</summary>
    public Tensor RopeDeltas { get; }
    /// <summary>False on the prompt's left padding, true elsewhere, <c>[B, Capacity]</c> bool.</summary>
    public Tensor KeyValid { get; }
    /// <summary><c>0 … Capacity − 1</c> (int64), compared with <see cref="Position"/> to build the mask.</summary>
    public Tensor SlotIndex { get; }

    internal StaticDecodeBuffers(Qwen2_5_VLTextConfig config, long rows, long capacity, ScalarType dtype, Device device)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Rows = rows;
        Capacity = capacity;
        Cache = KvCache.Create(config, rows, capacity, dtype, device);
        InputIds = zeros(rows, ScalarType.Int64, device).DetachFromDisposeScope();
        Position = zeros(1, ScalarType.Int64, device).DetachFromDisposeScope();
        RopeDeltas = zeros([rows, 1], ScalarType.Int64, device).DetachFromDisposeScope();
        KeyValid = ones([rows, capacity], ScalarType.Bool, device).DetachFromDisposeScope();
        SlotIndex = arange(capacity, dtype: ScalarType.Int64, device: device).DetachFromDisposeScope();
    }

    /// <summary>Starts a new batch: empties the cache and takes the prompt's padding mask <c>[B, T]</c> and rope deltas
    /// <c>[B, 1]</c> (device copies, no host read).</summary>
    public void Begin(Tensor promptMask, Tensor ropeDeltas)
    {
        if (promptMask.shape[0] != Rows || promptMask.shape[1] > Capacity)
            throw new ArgumentException($"prompt mask [{string.Join(", ", promptMask.shape)}] does not fit buffers of {Rows} rows × {Capacity} slots.", nameof(promptMask));
        Cache.Reset();
        KeyValid.fill_(true);
        using (var prompt = KeyValid.narrow(1, 0, promptMask.shape[1])) prompt.copy_(promptMask);
        RopeDeltas.copy_(ropeDeltas);
    }

    /// <summary>Frees every buffer.</summary>
    public void Dispose()
    {
        Cache.Dispose();
        InputIds.Dispose();
        Position.Dispose();
        RopeDeltas.Dispose();
        KeyValid.Dispose();
        SlotIndex.Dispose();
    }
}
