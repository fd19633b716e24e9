using FineR1.Core.Configuration;
using FineR1.Core.Modeling.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Text;

/// <summary>
/// The Qwen2.5-VL text decoder (HF <c>Qwen2_5_VLTextModel</c>): token embedding, decoder layers with M-RoPE and a
/// final RMSNorm. Returns the last hidden state; <c>lm_head</c> lives in
/// <see cref="Qwen2_5_VLForConditionalGeneration"/>.
/// </summary>
public sealed class Qwen2_5_VLTextModel : nn.Module
{
    private readonly Qwen2_5_VLTextConfig _config;

    /// <summary>Token embedding <c>[vocab, hidden]</c>.</summary>
    public TokenEmbedding embed_tokens;
    /// <summary>Decoder layers (<c>layers.0</c> … <c>layers.N-1</c>).</summary>
    public ModuleList<Qwen2_5_VLDecoderLayer> layers;
    /// <summary>Final norm.</summary>
    public Qwen2RMSNorm norm;
    /// <summary>Rotary angles (no persistent state).</summary>
    public Qwen2_5_VLRotaryEmbedding rotary_emb;

    /// <summary>The decoder's configuration.</summary>
    public Qwen2_5_VLTextConfig Config => _config;

    /// <summary>
    /// Recompute each decoder layer in backward instead of keeping its activations (HF
    /// <c>gradient_checkpointing_enable()</c>). Applies only in training mode with grad enabled and without a KV cache;
    /// the forward output and every gradient are unchanged (the layers have no dropout). Off by default.
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>Creates the decoder; <paramref name="device"/> may be <c>meta</c> to get shapes without memory.</summary>
    public Qwen2_5_VLTextModel(Qwen2_5_VLTextConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(Qwen2_5_VLTextModel))
    {
        _config = config;
        embed_tokens = new TokenEmbedding(config.VocabSize, config.HiddenSize, device, dtype);
        layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers)
            .Select(i => new Qwen2_5_VLDecoderLayer(config, i, device, dtype)).ToArray());
        norm = new Qwen2RMSNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        rotary_emb = new Qwen2_5_VLRotaryEmbedding(config.HeadDim, config.RopeTheta, device);
        RegisterComponents();
    }

    /// <summary>
    /// Runs the decoder over <c>T</c> new tokens.
    /// </summary>
    /// <param name="inputIds">Token ids <c>[B, T]</c> (int64), or null when <paramref name="inputsEmbeds"/> is given.</param>
    /// <param name="inputsEmbeds">Input embeddings <c>[B, T, hidden]</c> (e.g. with image features scattered in).</param>
    /// <param name="positionIds">M-RoPE positions <c>[3, B, T]</c> (or 1-D positions <c>[B, T]</c>, used for all three
    /// axes); null = <c>past … past+T-1</c> for every row.</param>
    /// <param name="attentionMask">Padding mask <c>[B, past + T]</c>, 1 = token, 0 = padding; null = no padding. Without
    /// it and without cached tokens the causal SDPA path (<c>is_causal</c>) runs; with it an explicit mask is built.</param>
    /// <param name="cache">KV cache: this forward's keys/values are written at <see cref="KvCache.Length"/>, which then
    /// advances by <c>T</c>.</param>
    /// <returns>The last hidden state <c>[B, T, hidden]</c> after the final norm.</returns>
    /// <exception cref="ArgumentException">Neither or both of ids/embeddings given, or shapes disagree.</exception>
    public Tensor forward(Tensor? inputIds = null, Tensor? inputsEmbeds = null, Tensor? positionIds = null,
        Tensor? attentionMask = null, KvCache? cache = null)
    {
        if ((inputIds is null) == (inputsEmbeds is null))
            throw new ArgumentException("Pass exactly one of inputIds and inputsEmbeds.");
        using var scope = NewDisposeScope();
        var hidden = inputsEmbeds ?? embed_tokens.forward(inputIds!);                       // [B, T, hidden]
        long batch = hidden.shape[0], steps = hidden.shape[1];
        long past = cache?.Length ?? 0;

        positionIds = NormalisePositions(positionIds, batch, steps, past, hidden.device);   // [3, B, T]
        var (cos3, sin3) = rotary_emb.forward(hidden, positionIds);                          // [3, B, T, hd]
        var cos = MultimodalRotary.MergeSections(cos3, _config.MropeSection);                // [B, 1, T, hd]
        var sin = MultimodalRotary.MergeSections(sin3, _config.MropeSection);

        Tensor? mask = null;
        bool isCausal = false;
        if (attentionMask is not null) mask = AttentionMask.Build(attentionMask.to(hidden.device), past, steps);
        else if (past == 0) isCausal = steps > 1;
        else if (steps > 1) mask = AttentionMask.Causal(past, steps, hidden.device);
        var context = new DecoderContext(cos, sin, mask, isCausal, cache);

        bool checkpoint = GradientCheckpointing && training && cache is null && is_grad_enabled();
        foreach (var layer in layers) hidden = checkpoint ? CheckpointedLayer(layer, hidden, context) : layer.forward(hidden, context);
        cache?.Advance(steps);
        return norm.forward(hidden).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <paramref name="layer"/> through <see cref="GradientCheckpoint"/>. The context's tensors go in as inputs, not
    /// through the closure: the autograd node keeps them alive until backward, after this forward's dispose scope has
    /// freed its handles. Never called with a KV cache (a recompute would write the cache twice).
    /// </summary>
    private static Tensor CheckpointedLayer(Qwen2_5_VLDecoderLayer layer, Tensor hidden, DecoderContext context)
    {
        Tensor[] inputs = context.Mask is null ? [hidden, context.Cos, context.Sin] : [hidden, context.Cos, context.Sin, context.Mask];
        bool isCausal = context.IsCausal;
        return GradientCheckpoint.Apply(
            xs => layer.forward(xs[0], new DecoderContext(xs[1], xs[2], xs.Length > 3 ? xs[3] : null, isCausal, Cache: null)),
            inputs, layer.parameters().ToList());
    }

    private static Tensor NormalisePositions(Tensor? positionIds, long batch, long steps, long past, Device device)
    {
        if (positionIds is null)
            return arange(past, past + steps, dtype: ScalarType.Int64, device: device).view(1, 1, steps).expand(3, batch, steps);
        if (positionIds.ndim == 2) positionIds = positionIds.unsqueeze(0).expand(3, batch, steps);
        if (positionIds.ndim != 3 || positionIds.shape[0] != 3 || positionIds.shape[1] != batch || positionIds.shape[2] != steps)
            throw new ArgumentException(
                $"position_ids must be [3, {batch}, {steps}], got [{string.Join(", ", positionIds.shape)}].", nameof(positionIds));
        return positionIds.device == device ? positionIds : positionIds.to(device);
    }
}
