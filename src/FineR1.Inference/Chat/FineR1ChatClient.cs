using System.Runtime.CompilerServices;
using FineR1.Core.Generation;
using FineR1.Core.Imaging;
using FineR1.Inference.Classification;
using Microsoft.Extensions.AI;

namespace FineR1.Inference.Chat;

/// <summary>
/// <see cref="IChatClient"/> (Microsoft.Extensions.AI) over a Fine-R1 classifier, so code written against the common
/// .NET AI abstraction (as for ML.GenAI, LLamaSharp or ONNX Runtime GenAI) can ask Fine-R1 what is in an image.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Input: the last user message's text is the question and its image (a <see cref="DataContent"/> with an
/// <c>image/*</c> media type) the image; earlier messages are not used (Fine-R1 answers one image, one question).</item>
/// <item>Closed world: pass the candidates as <c>ChatOptions.AdditionalProperties["candidates"]</c> (a list of
/// strings); without them the question is answered in the open world.</item>
/// <item>Output: one assistant message holding the chain of thought as <see cref="TextReasoningContent"/> and the
/// answer (the text inside <c>&lt;answer&gt;</c>) as <see cref="TextContent"/>. Streaming yields the same split,
/// token by token.</item>
/// <item>Decoding follows the classifier's options (<see cref="ClassifierOptions"/>); <c>ChatOptions.MaxOutputTokens</c>
/// and sampling options are not applied per call.</item>
/// </list>
/// </remarks>
public sealed class FineR1ChatClient : IChatClient
{
    /// <summary>The <c>ChatOptions.AdditionalProperties</c> key of the closed-world candidates.</summary>
    public const string CandidatesKey = "candidates";

    private readonly IFineGrainedClassifier _classifier;
    private readonly ChatClientMetadata _metadata;

    /// <summary>Wraps a classifier.</summary>
    /// <param name="classifier">The classifier that answers.</param>
    /// <param name="modelId">Reported in <see cref="ChatClientMetadata"/> and responses (e.g. "Fine-R1-3B").</param>
    public FineR1ChatClient(IFineGrainedClassifier classifier, string? modelId = null)
    {
        _classifier = classifier ?? throw new ArgumentNullException(nameof(classifier));
        _metadata = new ChatClientMetadata("FineR1", null, modelId);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">No user message with an image.</exception>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var request = ToRequest(messages, options);
        var result = await _classifier.ClassifyAsync(request, cancellationToken).ConfigureAwait(false);
        var message = new ChatMessage(ChatRole.Assistant,
            [new TextReasoningContent(result.Reasoning.Think), new TextContent(result.Answer ?? "")]);
        var response = new ChatResponse(message)
        {
            ModelId = _metadata.DefaultModelId,
            FinishReason = result.FinishReason == FinishReason.Stop ? ChatFinishReason.Stop : ChatFinishReason.Length,
            Usage = new UsageDetails { OutputTokenCount = result.TokenIds.Count },
        };
        if (result.Candidates is { } scores)
            response.AdditionalProperties = new() { ["confidences"] = scores.ToDictionary(s => s.Name, s => s.Confidence) };
        return response;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = ToRequest(messages, options);
        var splitter = new ReasoningStreamSplitter();
        bool stopped = false;
        await foreach (var token in _classifier.StreamAsync(request, cancellationToken).ConfigureAwait(false))
        {
            stopped |= token.IsStop;
            var (reasoning, answer) = splitter.Append(token.Text);
            if (reasoning.Length > 0) yield return Update(new TextReasoningContent(reasoning));
            if (answer.Length > 0) yield return Update(new TextContent(answer));
        }
        var (lastReasoning, lastAnswer) = splitter.Flush();
        if (lastReasoning.Length > 0) yield return Update(new TextReasoningContent(lastReasoning));
        if (lastAnswer.Length > 0) yield return Update(new TextContent(lastAnswer));
        var end = Update(null);
        end.FinishReason = stopped ? ChatFinishReason.Stop : ChatFinishReason.Length;
        yield return end;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return _metadata;
        if (serviceType.IsInstanceOfType(this)) return this;
        if (serviceType.IsInstanceOfType(_classifier)) return _classifier;
        return null;
    }

    /// <summary>Nothing to release: the classifier and its model belong to the caller.</summary>
    public void Dispose() { }

    private ChatResponseUpdate Update(AIContent? content) =>
        new(ChatRole.Assistant, content is null ? [] : [content]) { ModelId = _metadata.DefaultModelId };

    private static ClassificationRequest ToRequest(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var user = messages.LastOrDefault(m => m.Role == ChatRole.User)
            ?? throw new ArgumentException("no user message: ask a question about an image in a user message.", nameof(messages));
        var image = user.Contents.OfType<DataContent>().FirstOrDefault(d => d.HasTopLevelMediaType("image"))
            ?? throw new ArgumentException("the last user message has no image (a DataContent with an image/* media type).", nameof(messages));
        var question = string.Concat(user.Contents.OfType<TextContent>().Select(t => t.Text)).Trim();
        IReadOnlyList<string>? candidates = null;
        if (options?.AdditionalProperties?.TryGetValue(CandidatesKey, out var value) == true)
            candidates = value switch
            {
                IEnumerable<string> list => list.ToList(),
                System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.Array } json => json.EnumerateArray().Select(e => e.GetString() ?? "").ToList(),
                _ => throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{CandidatesKey}\"] must be a list of strings."),
            };
        return new ClassificationRequest(ImageInput.FromBytes(image.Data.ToArray(), image.Name ?? "<chat image>"),
            question.Length == 0 ? null : question, candidates);
    }
}
