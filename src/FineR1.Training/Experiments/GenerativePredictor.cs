using FineR1.Core.Generation;
using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Inference.Evaluation;
using FineR1.Training.Pretraining;
using static TorchSharp.torch;

namespace FineR1.Training.Experiments;

/// <summary>
/// The evaluation harness's predictor over a Qwen2.5-VL model: chat = an optional system message (null = Qwen's default
/// system message) and one user turn (image first, then the prompt), greedy decoding with <see cref="SequenceGenerator"/>, decoded without special tokens.
/// </summary>
public sealed class GenerativePredictor : IFineGrainedPredictor
{
    private readonly Qwen2_5_VLForConditionalGeneration _model;
    private readonly LmExampleEncoder _encoder;
    private readonly Qwen2VLImageProcessor _processor;
    private readonly GenerationOptions _options;

    /// <summary>Creates a predictor.</summary>
    /// <param name="model">The model (put in eval mode by the caller).</param>
    /// <param name="encoder">Chat encoder whose image grid matches <paramref name="processor"/>'s output.</param>
    /// <param name="processor">Image processor.</param>
    /// <param name="maxNewTokens">Generation budget per answer.</param>
    /// <param name="vocabulary">When set, the LM head runs over these ids only (others are never generated).</param>
    /// <param name="systemPrompt">System message, or null for the chat template's default.</param>
    public GenerativePredictor(Qwen2_5_VLForConditionalGeneration model, LmExampleEncoder encoder, Qwen2VLImageProcessor processor,
        int maxNewTokens, OutputVocabulary? vocabulary = null, string? systemPrompt = null)
    {
        _systemPrompt = systemPrompt;
        _model = model;
        _encoder = encoder;
        _processor = processor;
        _vocabulary = vocabulary;
        var tok = encoder.Tokenizer;
        _options = vocabulary is null
            ? new GenerationOptions { MaxNewTokens = maxNewTokens }
            : new GenerationOptions
            {
                MaxNewTokens = maxNewTokens, PadTokenId = vocabulary.IndexOf(tok.EndOfTextId),
                StopTokenIds = [vocabulary.IndexOf(tok.ImEndId), vocabulary.IndexOf(tok.EndOfTextId)],
            };
    }

    private readonly OutputVocabulary? _vocabulary;
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
            var processed = _processor.Process(r.ImagePath);
            var g = processed.Grids[0];
            prompts.Add(new GenerationPrompt(_encoder.Prompt(_systemPrompt, true, r.Prompt).Select(i => (long)i).ToArray(),
                [new PromptImage(processed.PixelValues, [g.T, g.H, g.W])]));
        }
        var device = _model.lm_head.weight!.device;
        using var inputs = GenerationInputs.LeftPad(prompts, _options.PadTokenId, device);
        var head = _model.lm_head;
        GenerationResult result;
        try
        {
            if (_vocabulary is not null)
            {
                // The LM head over the world's ids only: generated ids are positions in _vocabulary.Ids.
                var rows = head.weight!.index_select(0, tensor(_vocabulary.Ids.Select(i => (long)i).ToArray()).to(device));
                var subset = nn.Linear(rows.shape[1], rows.shape[0], hasBias: false, device: device, dtype: rows.dtype);
                subset.weight = new TorchSharp.Modules.Parameter(rows, requires_grad: false);
                _model.lm_head = subset;
            }
            IGenerationModel generator = new Qwen2_5_VLGenerationModel(_model);
            if (_vocabulary is not null)
                generator = new SubsetVocabularyModel(generator, tensor(_vocabulary.Ids.Select(i => (long)i).ToArray()).to(device));
            result = SequenceGenerator.Generate(generator, inputs, _options, cancellationToken: cancellationToken);
        }
        finally
        {
            if (!ReferenceEquals(_model.lm_head, head)) _model.lm_head.Dispose();
            _model.lm_head = head;
        }
        var outputs = result.Sequences.Select(s =>
        {
            GeneratedTokens += s.TokenIds.Length;
            var ids = s.TokenIds.Select(t => _vocabulary is null ? (int)t : _vocabulary.Ids[(int)t]);
            return _encoder.Tokenizer.Decode(ids, skipSpecialTokens: true);
        }).ToList();
        return Task.FromResult<IReadOnlyList<string>>(outputs);
    }

    /// <summary>
    /// Generation over the output vocabulary: logits are over its rows, so a generated token is a position in
    /// <c>ids</c>; it is mapped back to its real token id before it is fed to the model as the next input (feeding the
    /// position itself would embed an unrelated token).
    /// </summary>
    /// <example>ids = [13, 27, 151645]: the generator picks 1 → the model's next input id is 27.</example>
    private sealed class SubsetVocabularyModel(IGenerationModel inner, Tensor ids) : IGenerationModel
    {
        public Device Device => inner.Device;

        public long VocabSize => ids.shape[0];

        public IGenerationSession Start(GenerationInputs inputs, int maxNewTokens) => new Session(inner.Start(inputs, maxNewTokens), ids);

        private sealed class Session(IGenerationSession session, Tensor ids) : IGenerationSession
        {
            public Tensor Prefill() => session.Prefill();

            public Tensor Step(Tensor tokens)
            {
                using var real = ids.index_select(0, tokens.to(ScalarType.Int64, ids.device));   // [B] real token ids
                return session.Step(real);
            }

            public void Dispose() => session.Dispose();
        }
    }
}
