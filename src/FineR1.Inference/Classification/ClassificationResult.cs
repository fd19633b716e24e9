using FineR1.Core.Generation;

namespace FineR1.Inference.Classification;

/// <summary>Where the time of one classification went. Batch-level phases are shared by the rows of a batch.</summary>
/// <param name="Preprocess">Image decoding, resizing and prompt tokenization.</param>
/// <param name="Prefill">Prompt forward (vision tower included) until the first token.</param>
/// <param name="Decode">All later generation steps.</param>
/// <param name="CandidateScoring">Candidate log-likelihoods (constrained answer / confidences); zero when not asked.</param>
/// <param name="Total">Wall time of the call for this request's batch.</param>
public sealed record ClassificationTimings(TimeSpan Preprocess, TimeSpan Prefill, TimeSpan Decode, TimeSpan CandidateScoring, TimeSpan Total);

/// <summary>One candidate's score after the reasoning.</summary>
/// <param name="Name">The candidate.</param>
/// <param name="LogLikelihood">Sum of the log-probabilities of its tokens and <c>&lt;/answer&gt;</c> given prompt and reasoning
/// (tokens shared by all candidates left out).</param>
/// <param name="Confidence">Softmax of the log-likelihoods over the candidates (they sum to 1).</param>
public sealed record CandidateScore(string Name, double LogLikelihood, double Confidence);

/// <summary>The answer to one <see cref="ClassificationRequest"/>.</summary>
public sealed record ClassificationResult
{
    /// <summary>The request answered.</summary>
    public required ClassificationRequest Request { get; init; }
    /// <summary>
    /// The answer: the constrained candidate when <see cref="ClassifierOptions.ConstrainToCandidates"/> is on, else the
    /// model's <c>&lt;answer&gt;</c> (null when it wrote none).
    /// </summary>
    public required string? Answer { get; init; }
    /// <summary>The model's own <c>&lt;answer&gt;</c> (evaluation parsing: greedy, stripped), null when absent.</summary>
    public required string? ModelAnswer { get; init; }
    /// <summary>The reasoning in <c>&lt;think&gt;</c>, split into its parts where they are recognisable.</summary>
    public required ReasoningParts Reasoning { get; init; }
    /// <summary>The generated text (special tokens skipped), as the model wrote it.</summary>
    public required string RawText { get; init; }
    /// <summary>
    /// The text to score: <see cref="RawText"/>, or, when constrained, the reasoning up to <c>&lt;answer&gt;</c> followed by
    /// the chosen candidate and <c>&lt;/answer&gt;</c>.
    /// </summary>
    public required string Text { get; init; }
    /// <summary>The generated token ids (up to and including the stop token).</summary>
    public required IReadOnlyList<long> TokenIds { get; init; }
    /// <summary>Why generation stopped.</summary>
    public required FinishReason FinishReason { get; init; }
    /// <summary>Per-candidate scores (closed world with constraint or confidences on), in request order; else null.</summary>
    public IReadOnlyList<CandidateScore>? Candidates { get; init; }
    /// <summary>How many requests shared this request's generation batch (its prefill and decode timings are the batch's).</summary>
    public int BatchSize { get; init; } = 1;
    /// <summary>Timings.</summary>
    public required ClassificationTimings Timings { get; init; }
}

/// <summary>A token produced while streaming.</summary>
/// <param name="TokenId">The token id.</param>
/// <param name="Text">The text this token completes (may be empty while a multi-byte character is incomplete; empty for
/// special tokens).</param>
/// <param name="IsStop">True for the stop token.</param>
public readonly record struct StreamedToken(long TokenId, string Text, bool IsStop);
