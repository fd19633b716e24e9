using FineR1.Core.Generation;
using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Processing;
using FineR1.Inference.Evaluation;
using FineR1.Experiments.Pretraining;
using static TorchSharp.torch;

namespace FineR1.Experiments;

/// <summary>
/// The evaluation harness's predictor over a vision-language model (<see cref="IVisionLanguageModel"/>): chat = an
/// optional system message (null = Qwen's default system message) and one user turn (image first, then the prompt),
/// pixels from <see cref="Qwen2_5_VLProcessor"/>, greedy decoding with <see cref="SequenceGenerator"/> over the model's
/// generation view, decoded without special tokens.
/// </summary>
public sealed class GenerativePredictor : IFineGrainedPredictor
{
    private readonly IVisionLanguageModel _model;
    private readonly LmExampleEncoder _encoder;
    private readonly Qwen2_5_VLProcessor _processor;
    private readonly GenerationOptions _options;

    /// <summary>Creates a predictor.</summary>
    /// <param name="model">The model (put in eval mode by the caller).</param>
    /// <param name="encoder">Chat encoder whose image grid matches <paramref name="processor"/>'s output.</param>
    /// <param name="processor">The processor whose image processor prepares the pixels.</param>
    /// <param name="maxNewTokens">Generation budget per answer.</param>
    /// <param name="systemPrompt">System message, or null for the chat template's default.</param>
    public GenerativePredictor(IVisionLanguageModel model, LmExampleEncoder encoder, Qwen2_5_VLProcessor processor,
        int maxNewTokens, string? systemPrompt = null)
    {
        _systemPrompt = systemPrompt;
        _model = model;
        _encoder = encoder;
        _processor = processor;
        var tok = encoder.Tokenizer;
        _options = new GenerationOptions { MaxNewTokens = maxNewTokens, PadTokenId = tok.EndOfTextId, StopTokenIds = [tok.ImEndId, tok.EndOfTextId] };
    }

    private readonly string? _systemPrompt;

    /// <summary>Generated tokens so far (all calls).</summary>
    public long GeneratedTokens { get; private set; }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> PredictAsync(IReadOnlyList<PredictionRequest> requests, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var prompts = new List<GenerationPrompt>();
        foreach (var r in requests)
        {
            var processed = _processor.ProcessImages([ImageInput.FromFile(r.ImagePath)]);
            prompts.Add(new GenerationPrompt(_encoder.Prompt(_systemPrompt, true, r.Prompt).Select(i => (long)i).ToArray(),
                [new PromptImage(processed.PixelValues, processed.Grids[0])]));
        }
        using var inputs = GenerationInputs.LeftPad(prompts, _options.PadTokenId, _model.Device);
        var result = SequenceGenerator.Generate(_model.CreateGenerationModel(), inputs, _options, cancellationToken: cancellationToken);
        var outputs = result.Sequences.Select(s =>
        {
            GeneratedTokens += s.TokenIds.Length;
            return _encoder.Tokenizer.Decode(s.TokenIds.Select(t => (int)t), skipSpecialTokens: true);
        }).ToList();
        return Task.FromResult<IReadOnlyList<string>>(outputs);
    }

}
