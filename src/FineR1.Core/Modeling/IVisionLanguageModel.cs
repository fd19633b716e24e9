using FineR1.Core.Configuration;
using FineR1.Core.Generation;
using FineR1.Core.Imaging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling;

/// <summary>
/// What training, generation and inference need from a vision-language model family (the role of Microsoft.ML.GenAI's
/// shared model interface): one forward over token ids and images (positions derived inside, as HF does when
/// <c>position_ids</c> is None), the vision tower on its own, parameters grouped by part for freezing recipes, gradient
/// checkpointing, a frozen copy (TAPO's reference policy), a KV-cached generation view, the HF config a checkpoint
/// writes and the image-processor settings that fit the vision tower. LoRA needs nothing more: it wraps the decoder's
/// linear layers of <see cref="Module"/> (<c>model.Module.ApplyLora(options)</c>).
/// <see cref="Qwen2_5_VLForConditionalGeneration"/> implements it; a second family (Qwen2-VL, Qwen3-VL) implements it
/// too and the trainers, the generator and the classifier take it unchanged (docs/architecture.md, "Adding a model
/// family").
/// </summary>
/// <example><code>
/// IVisionLanguageModel model = new Qwen2_5_VLForConditionalGeneration(config, torch.CUDA, ScalarType.BFloat16);
/// using var scope = torch.NewDisposeScope();
/// var logits = model.Forward(new VisionLanguageInputs(ids, attentionMask, pixelValues, imageGridThw)).Logits;   // [B, T, vocab]
/// </code></example>
public interface IVisionLanguageModel : IDisposable
{
    /// <summary>HF <c>model_type</c> of the family, e.g. <c>qwen2_5_vl</c>.</summary>
    string ModelType { get; }

    /// <summary>The model as a TorchSharp module (state dict, <c>train()</c>/<c>eval()</c>, parameters).</summary>
    nn.Module Module { get; }

    /// <summary>The device of the weights.</summary>
    Device Device { get; }

    /// <summary>dtype of the weights (bf16 on a GPU, float32 on a CPU for training).</summary>
    ScalarType DType { get; }

    /// <summary>Logits per position.</summary>
    long VocabSize { get; }

    /// <summary>Token id that marks one image feature in the ids (<c>&lt;|image_pad|&gt;</c> for Qwen).</summary>
    int ImageTokenId { get; }

    /// <summary>The HF configuration (HF <c>model.config</c>); training checkpoints write it as <c>config.json</c>, so
    /// they load as model folders of this family.</summary>
    IPretrainedConfig Config { get; }

    /// <summary>
    /// Image-processor settings that fit the vision tower: the family's <c>preprocessor_config.json</c> defaults (patch,
    /// merge and temporal patch sizes, normalisation, pixel limits). A trainer that builds its own processor (SFT) sets
    /// its pixel limits on top with <c>with { … }</c>. Qwen2-VL, Qwen2.5-VL and Qwen3-VL all use HF's
    /// <c>Qwen2VLImageProcessor</c>, with other patch sizes and normalisation.
    /// </summary>
    Qwen2VLImageProcessorOptions ImageProcessorOptions { get; }

    /// <summary>
    /// Full forward without a cache: positions are derived from the ids, the image grids and the attention mask as HF
    /// does when <c>position_ids</c> is None (M-RoPE for Qwen2.5-VL), images are encoded by the model's own vision tower.
    /// </summary>
    CausalLMOutput Forward(VisionLanguageInputs inputs);

    /// <summary>The vision tower and merger alone: features <c>[image_tokens, hidden]</c> of the images in order.</summary>
    Tensor GetImageFeatures(Tensor pixelValues, Tensor imageGridThw);

    /// <summary>Named parameters with each tensor once (a tied output head is listed under the embedding only), HF
    /// <c>named_parameters()</c> order; hand these to an optimizer.</summary>
    IEnumerable<(string Name, Parameter Parameter)> UniqueParameters();

    /// <summary>The part a parameter (by its HF name) belongs to, for freezing recipes.</summary>
    ModelPart PartOf(string parameterName);

    /// <summary>Recompute activations in backward for the decoder layers and, with <paramref name="visionTower"/>, the
    /// vision blocks (HF <c>gradient_checkpointing_enable()</c>); false/false turns it off.</summary>
    void SetGradientCheckpointing(bool languageModel, bool visionTower);

    /// <summary>A copy of the current weights, on the same device and dtype, in eval mode, with no parameter requiring
    /// grad (TAPO's reference policy).</summary>
    IVisionLanguageModel CreateFrozenCopy();

    /// <summary>A KV-cached generation view over this model (images through its own vision tower).</summary>
    IGenerationModel CreateGenerationModel();
}

/// <summary>Inputs of <see cref="IVisionLanguageModel.Forward"/> (tensors owned by the caller).</summary>
/// <param name="InputIds">Token ids <c>[B, T]</c>, image blocks already expanded to their feature counts.</param>
/// <param name="AttentionMask"><c>[B, T]</c>, 1 for real tokens, 0 for padding; null = no padding.</param>
/// <param name="PixelValues">Processor output <c>[patches, patch_dim]</c> of all images in order; null = text only.</param>
/// <param name="ImageGridThw"><c>[images, 3]</c> grids of those images.</param>
/// <param name="LogitsToKeep">0 = logits for every position; k &gt; 0 = only the last k.</param>
/// <param name="ImageFeatures">Instead of <paramref name="PixelValues"/>: features from <see cref="IVisionLanguageModel.GetImageFeatures"/>
/// <c>[image_tokens, hidden]</c> of all images in order (encode an image once, score many continuations).</param>
public sealed record VisionLanguageInputs(Tensor InputIds, Tensor? AttentionMask = null, Tensor? PixelValues = null,
    Tensor? ImageGridThw = null, long LogitsToKeep = 0, Tensor? ImageFeatures = null);

/// <summary>Part of a vision-language model a parameter belongs to.</summary>
public enum ModelPart
{
    /// <summary>The vision encoder's blocks and patch embedding (HF <c>model.visual.*</c> except the merger).</summary>
    VisionTower,

    /// <summary>The projector from vision features into the decoder's width (Qwen's <c>model.visual.merger.*</c>).</summary>
    Projector,

    /// <summary>The decoder, its embeddings and the output head.</summary>
    LanguageModel,
}
