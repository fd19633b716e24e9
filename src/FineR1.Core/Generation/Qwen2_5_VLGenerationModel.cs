using FineR1.Core.Modeling;
using FineR1.Core.Modeling.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Generation;

/// <summary>
/// <see cref="IGenerationModel"/> over <see cref="Qwen2_5_VLForConditionalGeneration"/>: M-RoPE positions and
/// <c>rope_deltas</c> from the left-padded prompt (HF <c>get_rope_index</c>, once per batch), a <see cref="KvCache"/>
/// allocated once for prompt + new tokens, images through the vision tower in prefill only, and every forward under
/// <c>no_grad</c> with logits for the last position only.
/// </summary>
/// <example>
/// <code>
/// var generator = new Qwen2_5_VLGenerationModel(model);
/// using var inputs = GenerationInputs.LeftPad(prompts, options.PadTokenId, generator.Device);
/// var result = SequenceGenerator.Generate(generator, inputs, options);
/// </code>
/// </example>
public sealed class Qwen2_5_VLGenerationModel : IGenerationModel
{
    private readonly Qwen2_5_VLForConditionalGeneration _model;
    private readonly Func<Tensor, Tensor, Tensor>? _encodeImages;

    /// <summary>Wraps <paramref name="model"/> (weights loaded, on its device); images go through its own vision tower
    /// (<c>model.visual</c>).</summary>
    public Qwen2_5_VLGenerationModel(Qwen2_5_VLForConditionalGeneration model)
        : this(model, model?.model.visual) { }

    /// <summary>Wraps <paramref name="model"/> (weights loaded, on its device) and the vision tower that turns pixel
    /// values into the image features the model takes (null for text-only use).</summary>
    public Qwen2_5_VLGenerationModel(Qwen2_5_VLForConditionalGeneration model, Qwen2_5_VisionTransformerPretrainedModel? visual)
        : this(model, visual is null ? null : visual.forward) { }

    /// <summary>Wraps <paramref name="model"/> with any image encoder
    /// <c>(pixel values [patches, 1176], grid [images, 3]) → features [image_tokens, hidden]</c> (null for text-only use).</summary>
    public Qwen2_5_VLGenerationModel(Qwen2_5_VLForConditionalGeneration model, Func<Tensor, Tensor, Tensor>? encodeImages)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _encodeImages = encodeImages;
        var weight = model.lm_head.weight!;
        Device = weight.device;
        DType = weight.dtype;
    }

    /// <inheritdoc />
    public Device Device { get; }

    /// <summary>dtype of the weights (and of the KV cache).</summary>
    public ScalarType DType { get; }

    /// <inheritdoc />
    public long VocabSize => _model.Config.Text.VocabSize;

    /// <inheritdoc />
    public IGenerationSession Start(GenerationInputs inputs, int maxNewTokens)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxNewTokens);
        if (inputs.PixelValues is not null && _encodeImages is null)
            throw new ArgumentException("the prompts carry images but this generation model was built without a vision tower.", nameof(inputs));
        return new Session(this, inputs, maxNewTokens);
    }

    private sealed class Session : IGenerationSession
    {
        private readonly Qwen2_5_VLGenerationModel _owner;
        private readonly GenerationInputs _inputs;
        private readonly KvCache _cache;
        private readonly Tensor _mask;        // [B, T + N] prompt mask, then ones (HF appends a 1 per step)
        private readonly Tensor _positions;   // [3, B, T] prefill M-RoPE positions
        private readonly Tensor _ropeDeltas;  // [B, 1] decode offsets
        private bool _prefilled;

        public Session(Qwen2_5_VLGenerationModel owner, GenerationInputs inputs, int maxNewTokens)
        {
            _owner = owner;
            _inputs = inputs;
            var config = owner._model.Config;
            var device = owner.Device;
            int rows = inputs.BatchSize, length = inputs.PromptLength;
            using var scope = NewDisposeScope();
            // Host-side, once per batch: the mask decides the positions of left-padded rows.
            using var idsCpu = inputs.InputIds.cpu();
            using var maskCpu = inputs.AttentionMask.to(ScalarType.Int64, CPU);
            using var gridCpu = inputs.ImageGridThw?.to(ScalarType.Int64, CPU);
            var (positions, deltas) = RopeIndex.GetRopeIndex(config, idsCpu, gridCpu, maskCpu);
            _positions = positions.to(device).DetachFromDisposeScope();
            _ropeDeltas = deltas.to(device).DetachFromDisposeScope();
            _mask = ones(rows, length + maxNewTokens, ScalarType.Int64, device).DetachFromDisposeScope();
            _mask.narrow(1, 0, length).copy_(inputs.AttentionMask);
            _cache = KvCache.Create(config.Text, rows, length + maxNewTokens, owner.DType, device);
        }

        public Tensor Prefill()
        {
            if (_prefilled) throw new InvalidOperationException("Prefill runs once per session.");
            _prefilled = true;
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var model = _owner._model;
            var device = _owner.Device;
            Tensor? imageEmbeds = null, grid = null;
            if (_inputs.PixelValues is not null)
            {
                grid = _inputs.ImageGridThw!.to(device);
                imageEmbeds = _owner._encodeImages!(_inputs.PixelValues.to(_owner.DType, device), grid);
            }
            var output = model.forward(inputIds: _inputs.InputIds.to(device), positionIds: _positions,
                attentionMask: _mask.narrow(1, 0, _inputs.PromptLength), cache: _cache, imageGridThw: grid,
                imageEmbeds: imageEmbeds, logitsToKeep: 1);
            return output.Logits.select(1, -1).MoveToOuterDisposeScope();                   // [B, vocab]
        }

        public Tensor Step(Tensor tokens)
        {
            if (!_prefilled) throw new InvalidOperationException("Step before Prefill.");
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            long past = _cache.Length;
            var positions = RopeIndex.DecodePositions(_ropeDeltas, past);                      // [3, B, 1]
            var output = _owner._model.forward(inputIds: tokens.unsqueeze(1), positionIds: positions,
                attentionMask: _mask.narrow(1, 0, past + 1), cache: _cache, logitsToKeep: 1);
            return output.Logits.select(1, -1).MoveToOuterDisposeScope();                   // [B, vocab]
        }

        public void Dispose()
        {
            _cache.Dispose();
            _mask.Dispose();
            _positions.Dispose();
            _ropeDeltas.Dispose();
        }
    }
}
