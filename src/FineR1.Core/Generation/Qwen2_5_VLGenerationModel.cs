using FineR1.Core.Configuration;
using FineR1.Core.Modeling;
using FineR1.Core.Modeling.Vision;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Generation;

/// <summary>
/// <see cref="IGenerationModel"/> over <see cref="Qwen2_5_VLForConditionalGeneration"/>: M-RoPE positions and
/// <c>rope_deltas</c> from the left-padded prompt (HF <c>get_rope_index</c>, once per batch), a <see cref="KvCache"/>
/// allocated once for prompt + new tokens, images through the vision tower in prefill only, and every forward under
/// <c>no_grad</c> with logits for the last position only. Decode steps run on the backend chosen by
/// <see cref="Backend"/> (see docs/decode-path.md): by default the static decode step, replayed as one CUDA graph per
/// batch bucket where the native CUDA library is available.
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

    /// <summary>How decode steps run (default <see cref="DecodeBackend.Auto"/>; see <see cref="DecodeBackend"/>).</summary>
    public DecodeBackend Backend { get; init; } = DecodeBackend.Auto;

    /// <summary>Receives one message when <see cref="DecodeBackend.Auto"/> cannot use CUDA graphs on a CUDA device.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>
    /// Frees what the static decode path keeps per model between calls — the fused projection weights, the idle batch
    /// buckets (KV caches, step buffers) and their CUDA graphs — e.g. before a memory-hungry training phase. The next
    /// generation allocates them again. Returns false when the model had none.
    /// </summary>
    public static bool ReleaseDecodeState(Qwen2_5_VLForConditionalGeneration model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return DecodeEngine.Release(model);
    }

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
        var backend = DecodeBackends.Resolve(Backend, Device, Logger);
        if (backend == DecodeBackend.Reference) return new Session(this, inputs, maxNewTokens);
        return new StaticDecodeSession(_model, _encodeImages, DType, Device, inputs, maxNewTokens, backend == DecodeBackend.CudaGraph, Logger);
    }

    /// <summary>M-RoPE positions <c>[3, B, T]</c> and decode offsets <c>[B, 1]</c> of the prompts, on
    /// <paramref name="device"/>, outside any dispose scope. Host-side, once per batch: the mask decides the positions of
    /// left-padded rows.</summary>
    internal static (Tensor Positions, Tensor RopeDeltas) PromptPositions(Qwen2_5_VLConfig config, GenerationInputs inputs, Device device)
    {
        using var scope = NewDisposeScope();
        using var idsCpu = inputs.InputIds.cpu();
        using var maskCpu = inputs.AttentionMask.to(ScalarType.Int64, CPU);
        using var gridCpu = inputs.ImageGridThw?.to(ScalarType.Int64, CPU);
        var (positions, deltas) = RopeIndex.GetRopeIndex(config, idsCpu, gridCpu, maskCpu);
        return (positions.to(device).DetachFromDisposeScope(), deltas.to(device).DetachFromDisposeScope());
    }

    /// <summary>The prompt forward (images through the vision tower) that fills <paramref name="cache"/> from slot 0;
    /// returns the last position's logits <c>[B, vocab]</c> in the caller's dispose scope.</summary>
    internal static Tensor RunPrefill(Qwen2_5_VLForConditionalGeneration model, Func<Tensor, Tensor, Tensor>? encodeImages,
        ScalarType dtype, Device device, GenerationInputs inputs, Tensor positions, Tensor promptMask, KvCache cache)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor? imageEmbeds = null, grid = null;
        if (inputs.PixelValues is not null)
        {
            grid = inputs.ImageGridThw!.to(device);
            imageEmbeds = encodeImages!(inputs.PixelValues.to(dtype, device), grid);
        }
        var output = model.forward(inputIds: inputs.InputIds.to(device), positionIds: positions, attentionMask: promptMask,
            cache: cache, imageGridThw: grid, imageEmbeds: imageEmbeds, logitsToKeep: 1);
        return output.Logits.select(1, -1).MoveToOuterDisposeScope();                       // [B, vocab]
    }

    /// <summary>The reference decode path: the model's own forward with a growing attention mask (dynamic shapes).</summary>
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
            (_positions, _ropeDeltas) = PromptPositions(config, inputs, device);
            _mask = ones(rows, length + maxNewTokens, ScalarType.Int64, device).DetachFromDisposeScope();
            _mask.narrow(1, 0, length).copy_(inputs.AttentionMask);
            _cache = KvCache.Create(config.Text, rows, length + maxNewTokens, owner.DType, device);
        }

        public Tensor Prefill()
        {
            if (_prefilled) throw new InvalidOperationException("Prefill runs once per session.");
            _prefilled = true;
            using var promptMask = _mask.narrow(1, 0, _inputs.PromptLength);
            return RunPrefill(_owner._model, _owner._encodeImages, _owner.DType, _owner.Device, _inputs, _positions, promptMask, _cache);
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
