using System.Runtime.CompilerServices;
using FineR1.Inference.Chat;
using FineR1.Inference.Classification;
using FineR1.Inference.Tests.Classification;
using Microsoft.Extensions.AI;

namespace FineR1.Inference.Tests.Chat;

public sealed class FineR1ChatClientTests(TinyQwen tiny) : IClassFixture<TinyQwen>
{
    private static readonly string[] Birds = ["Black Footed Albatross", "Heermann Gull", "Sooty Albatross", "Laysan Albatross"];
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ChatMessage[] Ask(string question, string imagePath) =>
        [new(ChatRole.User, [new TextContent(question), new DataContent(File.ReadAllBytes(imagePath), "image/png")])];

    [Fact]
    public async Task A_chat_with_an_image_gets_the_classifiers_reasoning_and_answer()
    {
        var classifier = new FineGrainedClassifier(tiny.Bundle, new ClassifierOptions { MaxNewTokens = 8 });
        using IChatClient chat = new FineR1ChatClient(classifier, "tiny");
        var options = new ChatOptions { AdditionalProperties = new() { [FineR1ChatClient.CandidatesKey] = Birds } };

        var response = await chat.GetResponseAsync(Ask("What bird is this?", TinyQwen.Image1), options, Ct);
        var expected = await classifier.ClassifyAsync(new ClassificationRequest(TinyQwen.Image1, "What bird is this?", Birds), Ct);

        var message = Assert.Single(response.Messages);
        Assert.Equal(ChatRole.Assistant, message.Role);
        Assert.Equal(expected.Reasoning.Think, Assert.Single(message.Contents.OfType<TextReasoningContent>()).Text);
        Assert.Equal(expected.Answer ?? "", Assert.Single(message.Contents.OfType<TextContent>()).Text);
        Assert.Equal(expected.TokenIds.Count, response.Usage!.OutputTokenCount);
        Assert.Equal("tiny", chat.GetService<ChatClientMetadata>()!.DefaultModelId);
    }

    [Fact]
    public async Task Streaming_text_equals_the_generated_text_without_tags()
    {
        var classifier = new FineGrainedClassifier(tiny.Bundle, new ClassifierOptions { MaxNewTokens = 8 });
        using IChatClient chat = new FineR1ChatClient(classifier);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in chat.GetStreamingResponseAsync(Ask("What bird is this?", TinyQwen.Image0), null, Ct)) updates.Add(u);

        var expected = await classifier.ClassifyAsync(new ClassificationRequest(TinyQwen.Image0, "What bird is this?"), Ct);
        var splitter = new ReasoningStreamSplitter();
        var whole = splitter.Append(expected.RawText);
        var rest = splitter.Flush();
        Assert.Equal(whole.Reasoning + rest.Reasoning, string.Concat(updates.SelectMany(u => u.Contents).OfType<TextReasoningContent>().Select(c => c.Text)));
        Assert.Equal(whole.Answer + rest.Answer, string.Concat(updates.SelectMany(u => u.Contents).OfType<TextContent>().Select(c => c.Text)));
        Assert.NotNull(updates[^1].FinishReason);
    }

    [Fact]
    public async Task Streamed_tags_split_over_tokens_give_reasoning_then_answer()
    {
        using IChatClient chat = new FineR1ChatClient(new ScriptedClassifier("<think>red", " wings, black</th", "ink>\n\n<ans", "wer>Northern", " Cardinal</answer>"));
        var reasoning = new List<string>();
        var answer = new List<string>();
        await foreach (var u in chat.GetStreamingResponseAsync(Ask("Which bird?", TinyQwen.Image0), null, Ct))
        {
            reasoning.AddRange(u.Contents.OfType<TextReasoningContent>().Select(c => c.Text));
            answer.AddRange(u.Contents.OfType<TextContent>().Select(c => c.Text));
        }
        Assert.Equal("red wings, black", string.Concat(reasoning));
        Assert.Equal(["Northern", " Cardinal"], answer);
    }

    [Fact]
    public async Task A_chat_without_an_image_is_refused_with_a_clear_message()
    {
        using IChatClient chat = new FineR1ChatClient(new ScriptedClassifier());
        var e = await Assert.ThrowsAsync<ArgumentException>(() => chat.GetResponseAsync([new ChatMessage(ChatRole.User, "Which bird?")], null, Ct));
        Assert.Contains("image", e.Message);
    }

    /// <summary>A classifier that streams fixed pieces, to test the reasoning/answer split on real Fine-R1 tags.</summary>
    private sealed class ScriptedClassifier(params string[] pieces) : IFineGrainedClassifier
    {
        public Task<ClassificationResult> ClassifyAsync(ClassificationRequest request, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public IAsyncEnumerable<ClassificationResult> ClassifyBatchAsync(IEnumerable<ClassificationRequest> requests, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public async IAsyncEnumerable<StreamedToken> StreamAsync(ClassificationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            for (int i = 0; i < pieces.Length; i++)
            {
                await Task.Yield();
                yield return new StreamedToken(i, pieces[i], i == pieces.Length - 1);
            }
        }
    }
}
