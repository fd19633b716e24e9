using FineR1.Core.Generation;
using FineR1.Core.Imaging;
using FineR1.Core.Text.Prompts;
using FineR1.Core.Text.Rewards;
using FineR1.Inference.Classification;
using FineR1.Inference.Evaluation;
using FineR1.Tests;
using static TorchSharp.torch;

namespace FineR1.Inference.Tests.Classification;

public sealed class FineGrainedClassifierTests(TinyQwen tiny) : IClassFixture<TinyQwen>
{
    private static readonly string[] Birds = ["Black Footed Albatross", "Heermann Gull", "Sooty Albatross", "Laysan Albatross"];

    private FineGrainedClassifier Classifier(Action<ClassifierOptions>? configure = null)
    {
        var options = new ClassifierOptions { MaxNewTokens = 8 };
        configure?.Invoke(options);
        return new FineGrainedClassifier(tiny.Bundle, options);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Closed_world_classification_returns_text_tokens_reasoning_and_timings()
    {
        var result = await Classifier().ClassifyAsync(new ClassificationRequest(TinyQwen.Image1, "What bird is this?", Birds), Ct);

        Assert.InRange(result.TokenIds.Count, 1, 8);
        Assert.Equal(tiny.Bundle.Tokenizer.Decode(result.TokenIds.Select(t => (int)t), skipSpecialTokens: true), result.RawText);
        Assert.Equal(result.RawText, result.Text);                         // unconstrained: the model's own text
        Assert.Equal(AnswerParsing.ExtractEvaluationAnswer(result.RawText), result.Answer);
        Assert.Null(result.Candidates);
        Assert.NotNull(result.Reasoning);
        Assert.True(result.Timings.Prefill > TimeSpan.Zero);
        Assert.True(result.Timings.Preprocess > TimeSpan.Zero);
        Assert.True(result.Timings.Total >= result.Timings.Prefill + result.Timings.Decode);
        Assert.Equal(TimeSpan.Zero, result.Timings.CandidateScoring);   // nothing asked
    }

    [Fact]
    public async Task The_prompt_is_the_evaluation_chat_with_the_image_first_and_its_pad_count()
    {
        using var prompt = tiny.Bundle.Prompts.Build(TinyQwen.Image1, FineR1Prompts.ClosedWorld("What bird is this?", Birds));
        var grid = prompt.Images.Grids[0];
        var ids = prompt.Prompt.TokenIds;
        Assert.Equal(grid.T * grid.H * grid.W / 4, ids.Count(i => i == 151655));
        var text = tiny.Bundle.Tokenizer.Decode(ids.Select(i => (int)i));
        Assert.StartsWith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|>", text);
        Assert.EndsWith("<|vision_end|>Given the question: What bird is this?, based on the options provided in ['Black Footed Albatross', 'Heermann Gull', 'Sooty Albatross', 'Laysan Albatross'], output the thinking process in <think> </think> and final choice in <answer> </answer> tags. The response format should be: <think>...</think> <answer>choice</answer>.<|im_end|>\n<|im_start|>assistant\n", text);
    }

    [Theory]
    [InlineData("What bird is this?")]
    [InlineData("Which species is shown?")]
    public async Task Constrained_mode_answers_only_candidates_and_confidences_sum_to_one(string question)
    {
        var classifier = Classifier(o => { o.ConstrainToCandidates = true; });
        foreach (var image in new[] { TinyQwen.Image0, TinyQwen.Image1 })
        {
            var result = await classifier.ClassifyAsync(new ClassificationRequest(image, question, Birds), Ct);
            Assert.Contains(result.Answer, Birds);
            Assert.EndsWith("<answer>" + result.Answer + "</answer>", result.Text);
            Assert.Equal(result.Answer, AnswerParsing.ExtractEvaluationAnswer(result.Text));
            Assert.Equal(Birds, result.Candidates!.Select(c => c.Name));
            Assert.Equal(1.0, result.Candidates!.Sum(c => c.Confidence), 9);
            Assert.All(result.Candidates!, c => Assert.InRange(c.Confidence, 0.0, 1.0));
            Assert.Equal(result.Candidates!.MaxBy(c => c.Confidence)!.Name, result.Answer);
            Assert.True(result.Timings.CandidateScoring > TimeSpan.Zero);
        }
    }

    [Fact]
    public async Task Candidate_log_likelihoods_match_unbatched_forwards_of_each_full_answer()
    {
        var request = new ClassificationRequest(TinyQwen.Image1, "What bird is this?", Birds);
        var result = await Classifier(o => o.ComputeConfidences = true).ClassifyAsync(request, Ct);
        Assert.Equal(result.RawText, result.Text);                       // confidences alone do not change the answer

        // Independent reference: one row, no padding, positions computed by the model, every response token scored.
        var prefix = CandidateScorer.AnswerPrefix(result.RawText);
        using var prompt = tiny.Bundle.Prompts.Build(TinyQwen.Image1, FineR1Prompts.ClosedWorld("What bird is this?", Birds));
        var direct = Birds.Select(c => FullLogLikelihood(prompt.Prompt.TokenIds, prompt.Images, prefix + ">" + c + "</answer>")).ToArray();
        // A tolerance, not "3 decimal places": rounding both sides fails whenever two values 1e-4 apart straddle a rounding
        // boundary. 2e-3 absolute on log-likelihoods of ~85 (float32 sums over ~100 tokens, batched and padded vs one
        // unpadded row) is 2.4e-5 relative.
        for (int i = 1; i < Birds.Length; i++)
        {
            double expectedDelta = direct[i] - direct[0];
            double actualDelta = result.Candidates![i].LogLikelihood - result.Candidates![0].LogLikelihood;
            Assert.True(Math.Abs(expectedDelta - actualDelta) <= 2e-3, $"candidate {i}: {actualDelta} vs {expectedDelta}");
        }
        var expected = CandidateScorer.Softmax(direct);
        // Follows from the log-likelihood tolerance: |Δp| ≤ p · 2e-3 ≤ 5e-4.
        for (int i = 0; i < Birds.Length; i++)
            Assert.True(Math.Abs(expected[i] - result.Candidates![i].Confidence) <= 5e-4, $"confidence {i}: {result.Candidates[i].Confidence} vs {expected[i]}");
    }

    private double FullLogLikelihood(IReadOnlyList<long> promptIds, ProcessedImages images, string response)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var responseIds = tiny.Bundle.Tokenizer.Encode(response).Select(i => (long)i).ToArray();
        var ids = promptIds.Concat(responseIds).ToArray();
        var input = tensor(ids, [1, ids.Length], ScalarType.Int64);
        var logits = tiny.Bundle.Model.forward(inputIds: input, pixelValues: images.PixelValues, imageGridThw: images.ImageGridThw).Logits;
        var logProbs = logits[0].log_softmax(-1);                                       // [T, vocab]
        double sum = 0;
        for (int k = 0; k < responseIds.Length; k++)
            sum += logProbs[promptIds.Count + k - 1, responseIds[k]].item<float>();
        return sum;
    }

    [Fact]
    public async Task Open_world_has_no_candidate_scores_and_uses_the_open_world_prompt()
    {
        var result = await Classifier(o => o.ComputeConfidences = true).ClassifyAsync(new ClassificationRequest(TinyQwen.Image0), Ct);
        Assert.Null(result.Candidates);
        Assert.False(result.Request.IsClosedWorld);
        Assert.Equal(result.RawText, result.Text);
    }

    [Fact]
    public async Task Streaming_yields_the_tokens_and_text_of_the_greedy_answer()
    {
        var classifier = Classifier();
        var request = new ClassificationRequest(TinyQwen.Image1, "What bird is this?", Birds);
        var expected = await classifier.ClassifyAsync(request, Ct);
        var streamed = new List<StreamedToken>();
        await foreach (var token in classifier.StreamAsync(request, Ct)) streamed.Add(token);
        Assert.Equal(expected.TokenIds, streamed.Select(t => t.TokenId));
        Assert.Equal(expected.RawText, string.Concat(streamed.Select(t => t.Text)));
    }

    [Fact]
    public async Task Cancellation_stops_classification_and_streaming_and_the_classifier_stays_usable()
    {
        var classifier = Classifier(o => o.MaxNewTokens = 64);
        var request = new ClassificationRequest(TinyQwen.Image1, "What bird is this?", Birds);
        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => classifier.ClassifyAsync(request, cancelled.Token));
        }
        using (var cts = new CancellationTokenSource())
        {
            int seen = 0;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (var _ in classifier.StreamAsync(request, cts.Token))
                    if (++seen == 2) cts.Cancel();
            });
            Assert.Equal(2, seen);                                     // no buffered token after the cancel
        }
        var after = await classifier.ClassifyAsync(request with { }, Ct);
        Assert.NotEmpty(after.TokenIds);
    }

    [Fact]
    public async Task Batches_yield_one_result_per_request_in_order_equal_to_single_requests()
    {
        var classifier = Classifier(o => o.BatchSize = 2);
        ClassificationRequest[] requests =
        [
            new(TinyQwen.Image0, "What bird is this?", Birds),
            new(TinyQwen.Image1, "Which species is shown in this rather long question?", Birds),
            new(TinyQwen.Image1),
        ];
        var results = new List<ClassificationResult>();
        await foreach (var r in classifier.ClassifyBatchAsync(requests, Ct)) results.Add(r);
        Assert.Equal(requests, results.Select(r => r.Request));
        for (int i = 0; i < requests.Length; i++)
            Assert.Equal((await classifier.ClassifyAsync(requests[i], Ct)).TokenIds, results[i].TokenIds);
    }

    [Fact]
    public async Task The_classifier_is_the_evaluation_harness_predictor()
    {
        IFineGrainedPredictor predictor = Classifier();
        var prompt = FineR1Prompts.OpenWorld("What bird is this?");
        var outputs = await predictor.PredictAsync([new PredictionRequest(TinyQwen.Image0, prompt), new PredictionRequest(TinyQwen.Image1, prompt)], Ct);
        Assert.Equal(2, outputs.Count);
        Assert.Equal((await Classifier().ClassifyAsync(new ClassificationRequest(TinyQwen.Image1, "What bird is this?"), Ct)).RawText, outputs[1]);
    }

    [Fact]
    public async Task Bad_requests_throw_typed_exceptions_naming_the_problem()
    {
        var classifier = Classifier();
        var missing = Path.Combine(Path.GetTempPath(), "finer1-no-such-image.png");
        var e = await Assert.ThrowsAsync<ClassificationRequestException>(() => classifier.ClassifyAsync(new ClassificationRequest(missing), Ct));
        Assert.Equal(missing, e.ImagePath);
        Assert.Contains("not found", e.Message);
        Assert.Contains(missing, e.Message);

        e = await Assert.ThrowsAsync<ClassificationRequestException>(() => classifier.ClassifyAsync(new ClassificationRequest(TinyQwen.Image0, null, []), Ct));
        Assert.Contains("candidate list is empty", e.Message);
        e = await Assert.ThrowsAsync<ClassificationRequestException>(() => classifier.ClassifyAsync(new ClassificationRequest(TinyQwen.Image0, null, ["a", "a"]), Ct));
        Assert.Contains("'a' is listed twice", e.Message);
        e = await Assert.ThrowsAsync<ClassificationRequestException>(() => classifier.ClassifyAsync(new ClassificationRequest(TinyQwen.Image0, null, ["a", " "]), Ct));
        Assert.Contains("candidate is empty", e.Message);

        using var dir = TestPaths.NewTempDir();
        var corrupt = dir.File("not-an-image.png");
        File.WriteAllText(corrupt, "this is text");
        e = await Assert.ThrowsAsync<ClassificationRequestException>(() => classifier.ClassifyAsync(new ClassificationRequest(corrupt), Ct));
        Assert.IsType<ImageProcessingException>(e.InnerException);
        Assert.Contains(corrupt, e.Message);

        Assert.Throws<ArgumentOutOfRangeException>(() => new FineGrainedClassifier(tiny.Bundle, new ClassifierOptions { BatchSize = 0 }));
        Assert.ThrowsAny<ArgumentException>(() => new FineGrainedClassifier(tiny.Bundle, new ClassifierOptions { MaxNewTokens = 0 }));
    }
}
