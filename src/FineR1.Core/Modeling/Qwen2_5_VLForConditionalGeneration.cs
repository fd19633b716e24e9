using FineR1.Core.Configuration;
using FineR1.Core.Generation;
using FineR1.Core.Imaging;
using FineR1.Core.Modeling.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling;

/// <summary>
/// Qwen2.5-VL with its language-model head (HF <c>Qwen2_5_VLForConditionalGeneration</c>). Parameter names follow
/// transformers 5.x: <c>model.visual.*</c>, <c>model.language_model.*</c>, <c>lm_head.weight</c>.
/// </summary>
/// <remarks>
/// With <c>tie_word_embeddings</c> (3B) <c>lm_head.weight</c> is the very <c>embed_tokens</c> parameter (one tensor,
/// listed under both names in the state dict, as in HF). Use <see cref="UniqueParameters"/> to hand parameters to an
/// optimizer so a tied tensor is not updated twice.
/// </remarks>
public sealed class Qwen2_5_VLForConditionalGeneration : nn.Module, IVisionLanguageModel
{
    /// <summary>Vision tower + decoder.</summary>
    public Qwen2_5_VLModel model;
    /// <summary>Output projection <c>[vocab, hidden]</c>, no bias.</summary>
    public Linear lm_head;

    /// <summary>The model's configuration.</summary>
    public Qwen2_5_VLConfig Config { get; }

    /// <summary>
    /// Creates the model with freshly initialised weights (load a checkpoint afterwards). <paramref name="device"/>
    /// may be <c>new Device("meta")</c> to list names and shapes without allocating memory.
    /// </summary>
    public Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(Qwen2_5_VLForConditionalGeneration))
    {
        Config = config;
        model = new Qwen2_5_VLModel(config, device, dtype);
        var text = config.Text;
        if (text.TieWordEmbeddings)
        {
            // Allocate nothing for the head: its weight is the embedding parameter itself.
            lm_head = nn.Linear(text.HiddenSize, text.VocabSize, hasBias: false, device: new Device(DeviceType.META), dtype: dtype);
            lm_head.weight = model.language_model.embed_tokens.weight!;
        }
        else
        {
            lm_head = nn.Linear(text.HiddenSize, text.VocabSize, hasBias: false, device: device, dtype: dtype);
        }
        RegisterComponents();
    }

    /// <summary>
    /// Forward pass returning logits (and the loss when <paramref name="labels"/> are given).
    /// </summary>
    /// <param name="inputIds">Token ids <c>[B, T]</c>.</param>
    /// <param name="inputsEmbeds">Or precomputed embeddings <c>[B, T, hidden]</c>.</param>
    /// <param name="positionIds">M-RoPE positions <c>[3, B, T]</c>; null = computed (see <see cref="Qwen2_5_VLModel.forward"/>).</param>
    /// <param name="attentionMask"><c>[B, past + T]</c>, 0 for left padding; null = none.</param>
    /// <param name="cache">Preallocated KV cache.</param>
    /// <param name="imageGridThw"><c>[images, 3]</c>.</param>
    /// <param name="imageEmbeds">Vision features <c>[image_tokens, hidden]</c> for all images in prompt order.</param>
    /// <param name="labels"><c>[B, T]</c> unshifted labels with -100 where unsupervised (see <see cref="LanguageModelLoss"/>).</param>
    /// <param name="logitsToKeep">0 = logits for all positions; k &gt; 0 = only the last k (generation uses 1).</param>
    /// <param name="pixelValues">Processor output <c>[patches, 1176]</c> of all images in prompt order (with
    /// <paramref name="imageGridThw"/>), encoded by the vision tower; alternative to <paramref name="imageEmbeds"/>.</param>
    public CausalLMOutput forward(Tensor? inputIds = null, Tensor? inputsEmbeds = null, Tensor? positionIds = null,
        Tensor? attentionMask = null, KvCache? cache = null, Tensor? imageGridThw = null, Tensor? imageEmbeds = null,
        Tensor? labels = null, long logitsToKeep = 0, Tensor? pixelValues = null)
    {
        using var scope = NewDisposeScope();
        var output = model.forward(inputIds, inputsEmbeds, positionIds, attentionMask, cache, imageGridThw, imageEmbeds, pixelValues);
        var hidden = output.LastHiddenState;                                             // [B, T, hidden]
        if (logitsToKeep > 0 && logitsToKeep < hidden.shape[1])
            hidden = hidden.narrow(1, hidden.shape[1] - logitsToKeep, logitsToKeep);
        var logits = lm_head.forward(hidden);                                            // [B, T', vocab]
        Tensor? loss = labels is null ? null : LanguageModelLoss.Compute(logits, labels);
        return new CausalLMOutput(logits.MoveToOuterDisposeScope(), loss?.MoveToOuterDisposeScope(),
            output.RopeDeltas?.MoveToOuterDisposeScope());
    }

    /// <summary>Named parameters with each tensor once (the tied <c>lm_head.weight</c> is skipped), HF's
    /// <c>named_parameters()</c> order.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> UniqueParameters()
    {
        // TorchSharp hands out a fresh wrapper per access, so identity cannot be compared; the tie is known by name.
        foreach (var (name, p) in named_parameters())
            if (!(Config.Text.TieWordEmbeddings && name == "lm_head.weight")) yield return (name, p);
    }

    /// <summary>
    /// Chooses the attention kernel of every decoder and vision attention module by name (HF <c>attn_implementation</c>):
    /// <see cref="AttentionImplementations.Sdpa"/> (default), <see cref="AttentionImplementations.Eager"/>, or a name
    /// given to <see cref="AttentionImplementations.Register"/>. The name in use is <see cref="AttentionImplementation"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No kernel has that name.</exception>
    public void SetAttentionImplementation(string name)
    {
        var function = AttentionImplementations.Get(name);
        foreach (var layer in model.language_model.layers) layer.self_attn.Attention = function;
        foreach (var block in model.visual.blocks) block.attn.Attention = function;
        AttentionImplementation = name;
    }

    /// <summary>Name of the attention kernel in use (<see cref="SetAttentionImplementation"/>).</summary>
    public string AttentionImplementation { get; private set; } = AttentionImplementations.Sdpa;

    // ---- IVisionLanguageModel: the family-neutral contract (HF names above stay the Qwen-specific surface) ----

    /// <summary>HF <c>model_type</c>: <c>qwen2_5_vl</c>.</summary>
    public string ModelType => "qwen2_5_vl";

    nn.Module IVisionLanguageModel.Module => this;

    /// <summary>The device of the weights.</summary>
    public Device Device => lm_head.weight!.device;

    /// <summary>dtype of the weights.</summary>
    public ScalarType DType => lm_head.weight!.dtype;

    long IVisionLanguageModel.VocabSize => Config.Text.VocabSize;

    int IVisionLanguageModel.ImageTokenId => Config.ImageTokenId;

    IPretrainedConfig IVisionLanguageModel.Config => Config;

    /// <summary>The Qwen2.5-VL checkpoint's image-processor defaults with this model's patch, merge and temporal patch sizes.</summary>
    Qwen2VLImageProcessorOptions IVisionLanguageModel.ImageProcessorOptions => new()
    {
        PatchSize = Config.Vision.PatchSize,
        MergeSize = Config.Vision.SpatialMergeSize,
        TemporalPatchSize = Config.Vision.TemporalPatchSize,
    };

    CausalLMOutput IVisionLanguageModel.Forward(VisionLanguageInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.PixelValues is not null && inputs.ImageFeatures is not null)
            throw new ArgumentException("give the images as pixel values or as features, not both.", nameof(inputs));
        return forward(inputIds: inputs.InputIds, attentionMask: inputs.AttentionMask, imageGridThw: inputs.ImageGridThw,
            pixelValues: inputs.PixelValues, imageEmbeds: inputs.ImageFeatures, logitsToKeep: inputs.LogitsToKeep);
    }

    Tensor IVisionLanguageModel.GetImageFeatures(Tensor pixelValues, Tensor imageGridThw) => model.GetImageFeatures(pixelValues, imageGridThw);

    /// <summary>
    /// <c>model.visual.merger.*</c> is the projector, the rest of <c>model.visual.*</c> the vision tower, everything else
    /// (decoder, embeddings, <c>lm_head</c>) the language model — the split LLaMA-Factory's <c>freeze_vision_tower</c> /
    /// <c>freeze_multi_modal_projector</c> use.
    /// </summary>
    public ModelPart PartOf(string parameterName)
    {
        ArgumentNullException.ThrowIfNull(parameterName);
        return parameterName.StartsWith("model.visual.merger.", StringComparison.Ordinal) ? ModelPart.Projector
            : parameterName.StartsWith("model.visual.", StringComparison.Ordinal) ? ModelPart.VisionTower
            : ModelPart.LanguageModel;
    }

    void IVisionLanguageModel.SetGradientCheckpointing(bool languageModel, bool visionTower)
    {
        model.language_model.GradientCheckpointing = languageModel;
        model.visual.GradientCheckpointing = visionTower;
    }

    /// <summary>A frozen copy of the current weights (same config, device and dtype; eval mode; no grad).</summary>
    public Qwen2_5_VLForConditionalGeneration CreateFrozenCopy()
    {
        // Built in place and filled with copy_ (Module.to on the tied head disposes the shared tensor in TorchSharp).
        var copy = new Qwen2_5_VLForConditionalGeneration(Config, Device, DType);
        var source = state_dict();
        using (no_grad())
            foreach (var (name, tensor) in copy.state_dict()) tensor.copy_(source[name]);
        foreach (var (_, p) in copy.named_parameters()) p.requires_grad = false;
        copy.SetAttentionImplementation(AttentionImplementation);
        copy.eval();
        return copy;
    }

    IVisionLanguageModel IVisionLanguageModel.CreateFrozenCopy() => CreateFrozenCopy();

    IGenerationModel IVisionLanguageModel.CreateGenerationModel() => new Qwen2_5_VLGenerationModel(this);
}
