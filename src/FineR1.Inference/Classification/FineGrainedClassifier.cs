using System.Diagnostics;
using System.Runtime.CompilerServices;
using FineR1.Core.Generation;
using FineR1.Core.Imaging;
using FineR1.Core.Pipeline;
using FineR1.Core.Text.Prompts;
using FineR1.Core.Text.Rewards;
using FineR1.Inference.Evaluation;
using FineR1.Core.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FineR1.Inference.Classification;

/// <summary>
/// Fine-grained visual classification with a Fine-R1 (or any Qwen2.5-VL) model: closed world (the model picks among
/// candidates) or open world (free answer), with the reasoning split into its parts, token streaming, batches and
/// cancellation. Prompts and decoding follow the paper's evaluation (docs/method.md §3.3, §6.3). Optionally constrains the
/// answer to the candidates and gives each candidate a confidence (<see cref="ClassifierOptions.ConstrainToCandidates"/>,
/// <see cref="ClassifierOptions.ComputeConfidences"/>). Calls are serialised: one model, one request batch at a time.
/// </summary>
public sealed class FineGrainedClassifier : IFineGrainedClassifier, IFineGrainedPredictor
{
    private readonly FineR1Model _bundle;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ILogger _logger;

    /// <summary>The options in use.</summary>
    public ClassifierOptions Options { get; }

    /// <summary>Creates a classifier over a loaded model bundle.</summary>
    /// <exception cref="ArgumentException">Options out of range.</exception>
    /// <param name="model">The loaded model.</param>
    /// <param name="options">Decoding, prompts, batching; null: defaults.</param>
    /// <param name="logger">Receives one <see cref="FineR1LogEvents.ClassificationBatch"/> entry per generation batch.</param>
    public FineGrainedClassifier(FineR1Model model, ClassifierOptions? options = null, ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _bundle = model ?? throw new ArgumentNullException(nameof(model));
        Options = options ?? new ClassifierOptions();
        if (Options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "ClassifierOptions.BatchSize must be at least 1.");
        _ = Options.ToGenerationOptions(_bundle.GenerationConfig);   // validates the decoding values now, naming the bad one
    }

    /// <summary>DI constructor.</summary>
    public FineGrainedClassifier(FineR1Model model, IOptions<ClassifierOptions> options, ILogger<FineGrainedClassifier>? logger = null)
        : this(model, options.Value, logger) { }

    /// <summary>Classifies one image.</summary>
    /// <exception cref="ClassificationRequestException">Missing image, empty/duplicate/blank candidates.</exception>
    /// <exception cref="OperationCanceledException">Cancelled (checked before every generation step).</exception>
    public async Task<ClassificationResult> ClassifyAsync(ClassificationRequest request, CancellationToken cancellationToken = default)
    {
        var results = await RunBatchAsync([request], cancellationToken).ConfigureAwait(false);
        return results[0];
    }

    /// <summary>Classifies many images, <see cref="ClassifierOptions.BatchSize"/> per generation batch, yielding results in order.</summary>
    public async IAsyncEnumerable<ClassificationResult> ClassifyBatchAsync(IEnumerable<ClassificationRequest> requests,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        foreach (var chunk in requests.Chunk(Options.BatchSize))
            foreach (var result in await RunBatchAsync(chunk, cancellationToken).ConfigureAwait(false))
                yield return result;
    }

    /// <summary>
    /// Streams the generated tokens of one request as they are produced (constraint and confidences do not apply).
    /// Ending the enumeration early or cancelling stops generation.
    /// </summary>
    public async IAsyncEnumerable<StreamedToken> StreamAsync(ClassificationRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Validate(request);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var prompt = BuildPrompt(request.Image, PromptText(request));
            using var inputs = GenerationInputs.LeftPad([prompt.Prompt], GenerationOptions.QwenEndOfTextTokenId, _bundle.Device);
            var ids = new List<int>();
            string emitted = "";
            await foreach (var token in SequenceGenerator.StreamAsync(_bundle.GenerationModel, inputs, Options.ToGenerationOptions(_bundle.GenerationConfig), cancellationToken)
                               .ConfigureAwait(false))
            {
                ids.Add((int)token.TokenId);
                var text = _bundle.Tokenizer.Decode(ids, skipSpecialTokens: true);
                string delta = "";
                if (!text.EndsWith('\uFFFD') && text.StartsWith(emitted, StringComparison.Ordinal))
                {
                    delta = text[emitted.Length..];
                    emitted = text;
                }
                yield return new StreamedToken(token.TokenId, delta, token.IsStop);
                // Tokens already generated may be buffered: stop at once rather than draining them after a cancel.
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally { _gate.Release(); }
    }

    /// <summary>
    /// <see cref="IFineGrainedPredictor"/> for <see cref="EvaluationRunner"/>: the request's prompt is used as given; the
    /// result is <see cref="ClassificationResult.Text"/> (the raw output unless constrained — the harness then cannot see
    /// the candidates, so constraint and confidences are off here).
    /// </summary>
    public async Task<IReadOnlyList<string>> PredictAsync(IReadOnlyList<PredictionRequest> requests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var outputs = new List<string>(requests.Count);
        foreach (var chunk in requests.Chunk(Options.BatchSize))
        {
            var batch = chunk.Select(r => (new ClassificationRequest(r.ImagePath), r.Prompt)).ToList();
            foreach (var result in await RunAsync(batch, scoreCandidates: false, cancellationToken).ConfigureAwait(false))
                outputs.Add(result.Text);
        }
        return outputs;
    }

    private Task<IReadOnlyList<ClassificationResult>> RunBatchAsync(IReadOnlyList<ClassificationRequest> requests, CancellationToken ct)
    {
        foreach (var r in requests) Validate(r);
        return RunAsync(requests.Select(r => (r, PromptText(r))).ToList(), scoreCandidates: true, ct);
    }

    private async Task<IReadOnlyList<ClassificationResult>> RunAsync(IReadOnlyList<(ClassificationRequest Request, string Text)> batch,
        bool scoreCandidates, CancellationToken ct)
    {
        foreach (var (r, _) in batch)
            if (r.ImagePath is { } path && !File.Exists(path)) throw new ClassificationRequestException("image file not found.", path);
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try { return await Task.Run(() => Run(batch, scoreCandidates, ct), ct).ConfigureAwait(false); }
        finally { _gate.Release(); }
    }

    private List<ClassificationResult> Run(IReadOnlyList<(ClassificationRequest Request, string Text)> batch, bool scoreCandidates, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        var prompts = new List<VisionPrompt>();
        try
        {
            foreach (var (request, text) in batch) prompts.Add(BuildPrompt(request.Image, text));
            var preprocess = total.Elapsed;
            GenerationResult generated;
            using (var inputs = GenerationInputs.LeftPad(prompts.Select(p => p.Prompt).ToList(), GenerationOptions.QwenEndOfTextTokenId, _bundle.Device))
                generated = SequenceGenerator.Generate(_bundle.GenerationModel, inputs, Options.ToGenerationOptions(_bundle.GenerationConfig), cancellationToken: ct);

            var results = new List<ClassificationResult>(batch.Count);
            for (int i = 0; i < batch.Count; i++)
            {
                var request = batch[i].Request;
                var sequence = generated.Sequences[i];
                var raw = _bundle.Tokenizer.Decode(sequence.TokenIds.Select(t => (int)t), skipSpecialTokens: true);
                var modelAnswer = AnswerParsing.ExtractEvaluationAnswer(raw);
                var scoringTime = TimeSpan.Zero;
                IReadOnlyList<CandidateScore>? scores = null;
                string text = raw, answer = modelAnswer!;
                if (scoreCandidates && request.Candidates is { } candidates && (Options.ConstrainToCandidates || Options.ComputeConfidences))
                {
                    ct.ThrowIfCancellationRequested();
                    var scoring = Stopwatch.StartNew();
                    var prefix = CandidateScorer.AnswerPrefix(raw);
                    var logLikelihoods = CandidateScorer.LogLikelihoods(_bundle, prompts[i], prefix, candidates);
                    var confidences = CandidateScorer.Softmax(logLikelihoods);
                    scores = candidates.Select((c, k) => new CandidateScore(c, logLikelihoods[k], confidences[k])).ToList();
                    if (Options.ConstrainToCandidates)
                    {
                        answer = scores.MaxBy(s => s.LogLikelihood)!.Name;
                        text = prefix + ">" + answer + "</answer>";
                    }
                    scoringTime = scoring.Elapsed;
                }
                results.Add(new ClassificationResult
                {
                    Request = request, Answer = answer, ModelAnswer = modelAnswer, Reasoning = ReasoningParts.Parse(raw),
                    RawText = raw, Text = text, TokenIds = sequence.TokenIds, FinishReason = sequence.FinishReason, Candidates = scores,
                    BatchSize = batch.Count,
                    Timings = new ClassificationTimings(preprocess, generated.PrefillTime, generated.DecodeTime, scoringTime, total.Elapsed),
                });
            }
            _logger.LogDebug(FineR1LogEvents.ClassificationBatch,
                "Classified {Images} image(s): prefill {PrefillMs:F0} ms, decode {DecodeMs:F0} ms, total {TotalMs:F0} ms",
                batch.Count, generated.PrefillTime.TotalMilliseconds, generated.DecodeTime.TotalMilliseconds, total.Elapsed.TotalMilliseconds);
            return results;
        }
        finally
        {
            foreach (var p in prompts) p.Dispose();
        }
    }

    private VisionPrompt BuildPrompt(ImageInput image, string text)
    {
        VisionPrompt prompt;
        try { prompt = _bundle.Prompts.Build(image, text, Options.SystemPrompt); }
        catch (ImageProcessingException e) { throw new ClassificationRequestException($"cannot read the image: {e.Message}", image.Name, e); }
        var problem = LengthProblem(prompt.Prompt.TokenIds.Count, Options.MaxNewTokens, _bundle.Config.Text.MaxPositionEmbeddings);
        if (problem is null) return prompt;
        prompt.Dispose();
        throw new ClassificationRequestException(problem, image.Name);
    }

    /// <summary>
    /// The prompt plus the new tokens must fit the model's positions: the generation cache is allocated for that length
    /// up front, so a huge question or candidate list would otherwise be a huge allocation.
    /// </summary>
    private static string? LengthProblem(int promptTokens, int maxNewTokens, int maxPositions) =>
        (long)promptTokens + maxNewTokens <= maxPositions ? null
        : $"the prompt is {promptTokens:N0} tokens; with MaxNewTokens {maxNewTokens:N0} it exceeds the model's max_position_embeddings {maxPositions:N0} (shorten the question or the candidates).";

    private string PromptText(ClassificationRequest r) => PromptText(r, Options);

    private static string PromptText(ClassificationRequest r, ClassifierOptions options)
    {
        var question = r.Question ?? options.DefaultQuestion;
        return r.Candidates is null
            ? FineR1Prompts.OpenWorld(question, options.OpenWorldTemplate)
            : FineR1Prompts.ClosedWorld(question, r.Candidates, options.ClosedWorldTemplate);
    }

    /// <summary>
    /// <see cref="Validate(ClassificationRequest)"/> plus the prompt's length, before a model is loaded: the text of the
    /// prompt (image tokens not counted) plus <see cref="ClassifierOptions.MaxNewTokens"/> must fit
    /// <c>max_position_embeddings</c> of <paramref name="config"/>.
    /// </summary>
    /// <exception cref="ClassificationRequestException">The request cannot be run.</exception>
    public static void Validate(ClassificationRequest request, ClassifierOptions options, Core.Text.Tokenization.QwenTokenizer tokenizer, Core.Configuration.Qwen2_5_VLConfig config)
    {
        Validate(request);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(config);
        var tokens = tokenizer.Encode(PromptText(request, options), splitSpecialTokens: true).Length;
        if (LengthProblem(tokens, options.MaxNewTokens, config.Text.MaxPositionEmbeddings) is { } problem)
            throw new ClassificationRequestException(problem, request.ImagePath);
    }

    /// <summary>Checks a request as the classify calls do, without a model: image path given and present, candidates non-empty and distinct.</summary>
    /// <exception cref="ClassificationRequestException">The request cannot be run.</exception>
    public static void Validate(ClassificationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Image is null) throw new ClassificationRequestException("no image given.", null);
        if (request.ImagePath is { } path && !File.Exists(path)) throw new ClassificationRequestException("image file not found.", path);
        if (request.Candidates is { } c)
        {
            if (c.Count == 0) throw new ClassificationRequestException("the candidate list is empty (use null candidates for open world).", request.Image.Name);
            if (c.Any(string.IsNullOrWhiteSpace)) throw new ClassificationRequestException("a candidate is empty.", request.Image.Name);
            var duplicate = c.GroupBy(x => x, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null) throw new ClassificationRequestException($"the candidate '{duplicate.Key}' is listed twice.", request.Image.Name);
        }
    }
}
