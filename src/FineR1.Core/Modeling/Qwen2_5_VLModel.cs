using FineR1.Core.Configuration;
using FineR1.Core.Modeling.Text;
using FineR1.Core.Modeling.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling;

/// <summary>
/// Vision tower + text decoder (HF <c>Qwen2_5_VLModel</c>): image features replace the <c>&lt;|image_pad|&gt;</c>
/// embeddings, M-RoPE positions are derived from the prompt, and the decoder runs.
/// </summary>
public sealed class Qwen2_5_VLModel : nn.Module
{
    private readonly Qwen2_5_VLConfig _config;

    /// <summary>Vision tower (<c>model.visual.*</c>).</summary>
    public Qwen2_5_VisionTransformerPretrainedModel visual;
    /// <summary>Text decoder (<c>model.language_model.*</c>).</summary>
    public Qwen2_5_VLTextModel language_model;

    /// <summary>The model's configuration.</summary>
    public Qwen2_5_VLConfig Config => _config;

    /// <summary>
    /// Decode offsets <c>[B, 1]</c> of the last prefill that computed positions itself (HF caches them the same way);
    /// used for later cached steps that pass no positions.
    /// </summary>
    public Tensor? RopeDeltas { get; private set; }

    /// <summary>Creates the model; <paramref name="device"/> may be <c>meta</c> to get shapes without memory.</summary>
    public Qwen2_5_VLModel(Qwen2_5_VLConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(Qwen2_5_VLModel))
    {
        _config = config;
        visual = new Qwen2_5_VisionTransformerPretrainedModel(config.Vision, device, dtype);
        language_model = new Qwen2_5_VLTextModel(config.Text, device, dtype);
        RegisterComponents();
    }

    /// <summary>
    /// HF <c>get_image_features</c>: runs the vision tower over all images (<c>[patches, 1176]</c>, cast to the tower's
    /// dtype) and returns the merged features <c>[patches / 4, hidden]</c> in prompt order.
    /// </summary>
    public Tensor GetImageFeatures(Tensor pixelValues, Tensor imageGridThw)
    {
        using var scope = NewDisposeScope();
        var dtype = visual.patch_embed.proj.weight!.dtype;
        return visual.forward(pixelValues.to(dtype), imageGridThw).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Copies image features into the embeddings at the <c>image_token_id</c> slots, in order
    /// (HF <c>masked_scatter</c> of <c>get_placeholder_mask</c>).
    /// </summary>
    /// <param name="inputIds"><c>[B, T]</c>.</param>
    /// <param name="inputsEmbeds"><c>[B, T, hidden]</c>.</param>
    /// <param name="imageEmbeds"><c>[image_tokens, hidden]</c>: all images of the batch in prompt order.</param>
    /// <returns>New embeddings <c>[B, T, hidden]</c>.</returns>
    /// <exception cref="ArgumentException">The number of image tokens differs from the number of features (checked when
    /// <paramref name="inputIds"/> is on the CPU, which costs no device synchronisation).</exception>
    public Tensor ScatterImageEmbeddings(Tensor inputIds, Tensor inputsEmbeds, Tensor imageEmbeds)
    {
        using var scope = NewDisposeScope();
        var isImage = inputIds.eq(_config.ImageTokenId);                                    // [B, T]
        if (inputIds.device_type == DeviceType.CPU)
        {
            long tokens = isImage.sum().item<long>();
            if (tokens != imageEmbeds.shape[0])
                throw new ArgumentException(
                    $"Image features and image tokens do not match: tokens: {tokens}, features: {imageEmbeds.shape[0]}.");
        }
        var mask = isImage.to(inputsEmbeds.device).unsqueeze(-1).expand_as(inputsEmbeds);  // [B, T, hidden]
        return inputsEmbeds.masked_scatter(mask, imageEmbeds.to(inputsEmbeds.dtype, inputsEmbeds.device))
            .MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs the model over <c>T</c> new tokens.
    /// </summary>
    /// <param name="inputIds">Token ids <c>[B, T]</c> (required when images are given).</param>
    /// <param name="inputsEmbeds">Precomputed input embeddings <c>[B, T, hidden]</c> instead of ids.</param>
    /// <param name="positionIds">M-RoPE positions <c>[3, B, T]</c>. Null: at prefill (empty or no cache) they are
    /// computed with <see cref="RopeIndex.GetRopeIndex(Qwen2_5_VLConfig, Tensor, Tensor?, Tensor?)"/> (a host-side step)
    /// and <see cref="RopeDeltas"/> is stored; at later cached steps they are <c>cache.Length + i + RopeDeltas</c>.
    /// Callers that run several batches at once (or want no host step) pass positions explicitly.</param>
    /// <param name="attentionMask"><c>[B, past + T]</c>, 0 for (left) padding; null = no padding.</param>
    /// <param name="cache">Preallocated KV cache, advanced by <c>T</c>.</param>
    /// <param name="imageGridThw"><c>[images, 3]</c> patch grids (needed for positions when images are present).</param>
    /// <param name="imageEmbeds">Precomputed vision features <c>[image_tokens, hidden]</c> for all images in prompt
    /// order (instead of <paramref name="pixelValues"/>).</param>
    /// <param name="pixelValues">Processor output <c>[patches, 1176]</c> of all images in prompt order; encoded by
    /// <see cref="visual"/> with <paramref name="imageGridThw"/>.</param>
    public Qwen2_5_VLModelOutput forward(Tensor? inputIds = null, Tensor? inputsEmbeds = null, Tensor? positionIds = null,
        Tensor? attentionMask = null, KvCache? cache = null, Tensor? imageGridThw = null, Tensor? imageEmbeds = null,
        Tensor? pixelValues = null)
    {
        if ((inputIds is null) == (inputsEmbeds is null))
            throw new ArgumentException("Pass exactly one of inputIds and inputsEmbeds.");
        using var scope = NewDisposeScope();
        var embeds = inputsEmbeds ?? language_model.embed_tokens.forward(inputIds!);        // [B, T, hidden]
        if (pixelValues is not null)
        {
            if (imageEmbeds is not null) throw new ArgumentException("Pass pixelValues or imageEmbeds, not both.");
            if (imageGridThw is null) throw new ArgumentException("pixelValues need imageGridThw.");
            imageEmbeds = GetImageFeatures(pixelValues, imageGridThw);                     // [image_tokens, hidden]
        }
        if (imageEmbeds is not null)
        {
            if (inputIds is null) throw new ArgumentException("Image features need inputIds to locate the image tokens.");
            embeds = ScatterImageEmbeddings(inputIds, embeds, imageEmbeds);
        }

        Tensor? newDeltas = null;
        long past = cache?.Length ?? 0;
        if (positionIds is null && inputIds is not null)
        {
            if (past == 0)
            {
                (positionIds, newDeltas) = RopeIndex.GetRopeIndex(_config, inputIds, imageGridThw, attentionMask);
                positionIds = positionIds.to(embeds.device);
                SetRopeDeltas(newDeltas);
            }
            else
            {
                var deltas = RopeDeltas?.to(embeds.device) ?? zeros([embeds.shape[0], 1], ScalarType.Int64, embeds.device);
                positionIds = RopeIndex.DecodePositions(deltas, past, embeds.shape[1]);
            }
        }

        var hidden = language_model.forward(inputsEmbeds: embeds, positionIds: positionIds, attentionMask: attentionMask, cache: cache);
        return new Qwen2_5_VLModelOutput(hidden.MoveToOuterDisposeScope(), newDeltas?.MoveToOuterDisposeScope());
    }

    private void SetRopeDeltas(Tensor deltas)
    {
        RopeDeltas?.Dispose();
        RopeDeltas = deltas.clone().DetachFromDisposeScope();
    }
}
