using FineR1.Core.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Generation;

public class SequenceGeneratorTests
{
    private static GenerationInputs Prompts(params long[][] prompts) =>
        GenerationInputs.LeftPad([.. prompts.Select(p => new GenerationPrompt(p))], padTokenId: 0);

    private static readonly GenerationOptions Greedy = new() { MaxNewTokens = 10, StopTokenIds = [2], PadTokenId = 0 };

    [Fact]
    public void Rows_finish_at_their_first_stop_token_and_are_padded_afterwards()
    {
        var model = FakeGenerationModel.Scripted(20, [[5, 6, 2, 11, 11], [7, 8, 9, 10, 2]]);
        using var inputs = Prompts([3, 4], [3]);
        var result = SequenceGenerator.Generate(model, inputs, Greedy);

        Assert.Equal([5L, 6, 2], result.Sequences[0].TokenIds);
        Assert.Equal([7L, 8, 9, 10, 2], result.Sequences[1].TokenIds);
        Assert.All(result.Sequences, s => Assert.Equal(FinishReason.Stop, s.FinishReason));
        Assert.Equal(5, result.Steps);                               // ends as soon as every row is finished
        Assert.Equal(1, model.Prefills);
        // One token per step through the cache; a row's stop token is fed, then pads (HF behaviour).
        Assert.Equal([[5L, 7], [6, 8], [2, 9], [0, 10]], model.FedTokens);
        Assert.Equal(10, model.LastMaxNewTokens);
        Assert.Equal(1, model.SessionsDisposed);

        var (ids, mask) = result.ToTensors(padTokenId: 0);
        using (ids) using (mask)
        {
            Assert.Equal([5L, 6, 2, 0, 0, 7, 8, 9, 10, 2], ids.data<long>().ToArray());
            Assert.Equal([1L, 1, 1, 0, 0, 1, 1, 1, 1, 1], mask.data<long>().ToArray());   // the stop token is in the mask
        }
    }

    [Fact]
    public void Rows_without_a_stop_token_end_at_the_length_limit()
    {
        var model = FakeGenerationModel.Scripted(20, [[5, 6, 7, 8], [2]]);
        using var inputs = Prompts([3], [4]);
        var result = SequenceGenerator.Generate(model, inputs, Greedy with { MaxNewTokens = 3 });

        Assert.Equal([5L, 6, 7], result.Sequences[0].TokenIds);
        Assert.Equal(FinishReason.Length, result.Sequences[0].FinishReason);
        Assert.Equal([2L], result.Sequences[1].TokenIds);
        Assert.Equal(FinishReason.Stop, result.Sequences[1].FinishReason);
        Assert.Equal(3, result.Steps);
        Assert.Equal(2, model.FedTokens.Count);                       // the last token is never fed back
        Assert.True(result.PrefillTime > TimeSpan.Zero);
        Assert.True(result.DecodeTime > TimeSpan.Zero);
    }

    [Fact]
    public void Banned_tokens_are_never_generated()
    {
        // The model wants 5 with logit 10 and 6 with logit 9; 5 is banned.
        var model = new FakeGenerationModel(20, (_, _) => { var l = new float[20]; l[5] = 10; l[6] = 9; return l; });
        using var inputs = Prompts([3]);
        var result = SequenceGenerator.Generate(model, inputs, Greedy with { MaxNewTokens = 3, BannedTokenIds = [5] });
        Assert.Equal([6L, 6, 6], result.Sequences[0].TokenIds);
    }

    [Fact]
    public void Repetition_penalty_sees_the_prompt_and_the_generated_tokens()
    {
        // Logits: 3 → 10, 4 → 9, 7 → 6. Penalty 2 (once per seen token): a seen 3 drops to 5, a seen 4 to 4.5, a seen 7 to 3.
        // Row 0: 3; then 4 (9 > 5); then 7 (6 > 5 > 4.5). Row 1 has seen 3: 4; then 7; then 3 (5 > 4.5 > 3).
        var model = new FakeGenerationModel(20, (_, _) => { var l = new float[20]; l[3] = 10; l[4] = 9; l[7] = 6; return l; });
        using var inputs = Prompts([1, 2], [3, 1]);                   // row 1's prompt already holds 3
        var result = SequenceGenerator.Generate(model, inputs, Greedy with { MaxNewTokens = 3, RepetitionPenalty = 2 });
        Assert.Equal([3L, 4, 7], result.Sequences[0].TokenIds);
        Assert.Equal([4L, 7, 3], result.Sequences[1].TokenIds);
    }

    [Fact]
    public void Streaming_reports_every_token_of_every_running_row_in_step_order()
    {
        var model = FakeGenerationModel.Scripted(20, [[5, 2], [7, 8, 2]]);
        using var inputs = Prompts([3], [4]);
        var seen = new List<GeneratedToken>();
        SequenceGenerator.Generate(model, inputs, Greedy, seen.Add);
        Assert.Equal(
        [
            new(0, 0, 5, false), new(1, 0, 7, false),
            new(0, 1, 2, true), new(1, 1, 8, false),
            new(1, 2, 2, true),
        ], seen);
    }

    [Fact]
    public async Task StreamAsync_yields_the_same_tokens_as_Generate()
    {
        var model = FakeGenerationModel.Scripted(20, [[5, 6, 2], [7, 2]]);
        using var inputs = Prompts([3], [4]);
        var streamed = new List<GeneratedToken>();
        await foreach (var token in SequenceGenerator.StreamAsync(model, inputs, Greedy, TestContext.Current.CancellationToken))
            streamed.Add(token);
        var collected = new List<GeneratedToken>();
        SequenceGenerator.Generate(model, inputs, Greedy, collected.Add);
        Assert.Equal(collected, streamed);
    }

    [Fact]
    public void Cancellation_stops_between_steps_and_releases_the_session()
    {
        var model = FakeGenerationModel.Scripted(20, [[5, 6, 7, 8, 9]]);
        using var inputs = Prompts([3]);
        using var cts = new CancellationTokenSource();
        var seen = new List<GeneratedToken>();
        Assert.Throws<OperationCanceledException>(() => SequenceGenerator.Generate(model, inputs, Greedy,
            token => { seen.Add(token); if (token.Step == 1) cts.Cancel(); }, cts.Token));
        Assert.Equal(2, seen.Count);
        Assert.Equal(1, model.FedTokens.Count);
        Assert.Equal(1, model.SessionsDisposed);
    }

    [Fact]
    public void Options_that_do_not_fit_the_vocabulary_throw_before_the_model_runs()
    {
        var model = FakeGenerationModel.Scripted(20, [[5]]);
        using var inputs = Prompts([3]);
        var e = Assert.Throws<ArgumentException>(() => SequenceGenerator.Generate(model, inputs, Greedy with { BannedTokenIds = [151655] }));
        Assert.Contains("151655", e.Message);
        Assert.Null(model.LastMaxNewTokens);
    }

    [Fact]
    public void Same_seed_gives_the_same_samples_and_another_seed_different_ones()
    {
        var model = FakeGenerationModel.Uniform(64);
        using var inputs = Prompts([3], [4], [5]);
        var options = new GenerationOptions { MaxNewTokens = 24, DoSample = true, Seed = 11, StopTokenIds = [], PadTokenId = 0 };
        long[][] Run(GenerationOptions o) => [.. SequenceGenerator.Generate(model, inputs, o).Sequences.Select(s => s.TokenIds)];

        var first = Run(options);
        Assert.Equal(first, Run(options));
        var other = Run(options with { Seed = 12 });
        Assert.NotEqual(first, other);                              // 72 uniform draws over 64 ids: a clash is ~64^-72
        Assert.True(first.SelectMany(t => t).Distinct().Count() > 20, "uniform sampling should spread over the vocabulary");
    }

    [Fact]
    public void A_long_loop_keeps_the_number_of_live_native_tensors_constant()
    {
        var model = FakeGenerationModel.Uniform(64);
        using var inputs = Prompts([3, 4, 5], [6]);
        var options = new GenerationOptions
        {
            MaxNewTokens = 300, DoSample = true, TopK = 20, TopP = 0.9, Temperature = 0.7, RepetitionPenalty = 1.1,
            BannedTokenIds = [9], StopTokenIds = [], PadTokenId = 0,
        };
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var liveAtStep = new Dictionary<int, long>();
        var result = SequenceGenerator.Generate(model, inputs, options,
            token => { if (token.Row == 0) liveAtStep[token.Step] = DisposeScopeManager.Statistics.ThreadTotalLiveCount; });
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        Assert.Equal(300, result.Steps);
        Assert.Equal(liveAtStep[10], liveAtStep[290]);
        Assert.Equal(before, after);
        Assert.DoesNotContain(9L, result.Sequences.SelectMany(s => s.TokenIds));
    }
}
