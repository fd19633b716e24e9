using FineR1.Core.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Generation;

public class LogitsProcessorsTests
{
    private const float Inf = float.NegativeInfinity;

    private static Tensor Scores(params float[][] rows) =>
        tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);

    private static Tensor LogOf(params float[][] probabilities) =>
        Scores([.. probabilities.Select(r => r.Select(p => MathF.Log(p)).ToArray())]);

    private static float[] Row(Tensor t, int row) => t[row].data<float>().ToArray();

    private static void AssertRow(float[] expected, float[] actual, float tolerance = 1e-6f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (float.IsNegativeInfinity(expected[i])) Assert.True(float.IsNegativeInfinity(actual[i]), $"index {i}: expected -inf, got {actual[i]}");
            else Assert.True(MathF.Abs(expected[i] - actual[i]) <= tolerance, $"index {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_scores_of_seen_tokens()
    {
        using var scores = Scores([2, -2, 1, 0.5f]);
        using var seen = tensor(new long[] { 0, 1, 1 }, [1, 3]);
        using var result = LogitsProcessors.RepetitionPenalty(scores, seen, 2.0);
        AssertRow([1, -4, 1, 0.5f], Row(result, 0));
    }

    [Fact]
    public void Banned_tokens_become_minus_infinity_in_every_row()
    {
        using var scores = Scores([1, 2, 3], [4, 5, 6]);
        using var banned = tensor(new long[] { 1 });
        using var result = LogitsProcessors.BanTokens(scores, banned);
        AssertRow([1, Inf, 3], Row(result, 0));
        AssertRow([4, Inf, 6], Row(result, 1));
    }

    [Fact]
    public void Temperature_divides_the_logits()
    {
        using var scores = Scores([2, 4, -1]);
        using var result = LogitsProcessors.Temperature(scores, 2.0);
        AssertRow([1, 2, -0.5f], Row(result, 0));
    }

    [Theory]
    [InlineData(1, new float[] { Inf, 3, 3, Inf })]      // ties with the k-th score survive
    [InlineData(2, new float[] { Inf, 3, 3, Inf })]
    [InlineData(3, new float[] { Inf, 3, 3, 2 })]
    [InlineData(9, new float[] { 1, 3, 3, 2 })]          // k beyond the vocabulary keeps everything
    public void Top_k_keeps_scores_not_below_the_kth_largest(int k, float[] expected)
    {
        using var scores = Scores([1, 3, 3, 2]);
        using var result = LogitsProcessors.TopK(scores, k);
        AssertRow(expected, Row(result, 0));
    }

    [Fact]
    public void Top_p_removes_the_tail_whose_ascending_cumulative_probability_is_within_one_minus_p()
    {
        // Row 0 probabilities 0.3 0.1 0.4 0.2: ascending cumulative 0.1 (id 1), 0.3 (id 3), 0.6 (id 0), 1.0 (id 2).
        // Row 1 is uniform over 4: cumulative 0.25 0.5 0.75 1.
        using var scores = LogOf([0.3f, 0.1f, 0.4f, 0.2f], [0.25f, 0.25f, 0.25f, 0.25f]);
        float l3 = MathF.Log(0.3f), l4 = MathF.Log(0.4f), l2 = MathF.Log(0.2f), q = MathF.Log(0.25f);

        using (var p05 = LogitsProcessors.TopP(scores, 0.5))             // remove cumulative <= 0.5
        {
            AssertRow([l3, Inf, l4, Inf], Row(p05, 0));
            Assert.Equal(2, Row(p05, 1).Count(float.IsNegativeInfinity));  // 0.25 and 0.5 removed, two kept
        }
        using (var p075 = LogitsProcessors.TopP(scores, 0.75))           // remove cumulative <= 0.25
        {
            AssertRow([l3, Inf, l4, l2], Row(p075, 0));
            Assert.Equal(1, Row(p075, 1).Count(float.IsNegativeInfinity));
        }
        using (var p0 = LogitsProcessors.TopP(scores, 0.0))              // everything is <= 1, but one token is always kept
            AssertRow([Inf, Inf, l4, Inf], Row(p0, 0));
        using (var keep2 = LogitsProcessors.TopP(scores, 0.0, minTokensToKeep: 2))
            AssertRow([l3, Inf, l4, Inf], Row(keep2, 0));
        using (var p1 = LogitsProcessors.TopP(scores, 1.0))
        {
            AssertRow([l3, MathF.Log(0.1f), l4, l2], Row(p1, 0));
            AssertRow([q, q, q, q], Row(p1, 1));
        }
    }

    [Fact]
    public void Process_applies_temperature_before_top_p()
    {
        // logits ln(1..4): temperature 0.5 squares the odds to 1:4:9:16 (/30); ascending cumulative 0.033 0.167 0.467 1,
        // so top_p 0.5 keeps only id 3. Top-p before temperature would have kept ids 2 and 3.
        using var scores = LogOf([0.1f, 0.2f, 0.3f, 0.4f]);
        var options = new GenerationOptions { DoSample = true, Temperature = 0.5, TopP = 0.5 };
        using var result = LogitsProcessors.Process(scores, options);
        AssertRow([Inf, Inf, Inf, 2 * MathF.Log(0.4f)], Row(result, 0), 1e-5f);
    }

    [Fact]
    public void Process_applies_top_k_before_top_p()
    {
        // top_k 2 leaves 0.3 : 0.4 = 0.4286 : 0.5714; top_p 0.5 then removes 0.4286 (<= 0.5). Top-p first would keep both.
        using var scores = LogOf([0.1f, 0.2f, 0.3f, 0.4f]);
        var options = new GenerationOptions { DoSample = true, TopK = 2, TopP = 0.5 };
        using var result = LogitsProcessors.Process(scores, options);
        AssertRow([Inf, Inf, Inf, MathF.Log(0.4f)], Row(result, 0));
    }

    [Fact]
    public void Greedy_processing_bans_and_penalises_but_ignores_the_sampling_warpers()
    {
        using var scores = Scores([5, 4, 1, 2]);
        using var banned = tensor(new long[] { 0 });
        using var seen = tensor(new long[] { 1 }, [1, 1]);
        var options = new GenerationOptions { Temperature = 0.1, TopK = 1, TopP = 0.1, RepetitionPenalty = 4 };
        using var result = LogitsProcessors.Process(scores, options, seen, banned);
        AssertRow([Inf, 1, 1, 2], Row(result, 0));
        using var chosen = LogitsProcessors.SelectTokens(result, doSample: false, sampler: null);
        Assert.Equal([3L], chosen.data<long>().ToArray());
    }

    [Fact]
    public void Half_precision_logits_are_processed_in_float32()
    {
        using var scores = Scores([1, 2]).to(ScalarType.BFloat16);
        using var result = LogitsProcessors.Process(scores, new GenerationOptions());
        Assert.Equal(ScalarType.Float32, result.dtype);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Sampling_follows_the_processed_distribution(bool counterBased)
    {
        // 20,000 rows drawing from 0.1 0.2 0.3 0.4 after banning nothing; standard error <= 0.0035, tolerance 0.015.
        const int rows = 20_000;
        using var one = LogOf([0.1f, 0.2f, 0.3f, 0.4f]);
        using var scores = one.expand(rows, 4).contiguous();
        using var sampler = counterBased ? TokenSampler.CounterBased(7) : TokenSampler.Create(7, CPU);
        using var drawn = LogitsProcessors.SelectTokens(scores, doSample: true, sampler);
        var counts = new int[4];
        foreach (var id in drawn.data<long>()) counts[id]++;
        float[] expected = [0.1f, 0.2f, 0.3f, 0.4f];
        for (int i = 0; i < 4; i++)
            Assert.True(Math.Abs(counts[i] / (double)rows - expected[i]) < 0.015, $"token {i}: {counts[i]} of {rows}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Sampling_never_draws_removed_tokens(bool counterBased)
    {
        using var one = LogOf([0.1f, 0.2f, 0.3f, 0.4f]);
        using var scores = one.expand(5000, 4).contiguous();
        var options = new GenerationOptions { DoSample = true, TopP = 0.5 };  // keeps ids 2 and 3
        using var processed = LogitsProcessors.Process(scores, options);
        using var sampler = counterBased ? TokenSampler.CounterBased(3) : TokenSampler.Create(3, CPU);
        using var drawn = LogitsProcessors.SelectTokens(processed, doSample: true, sampler);
        var ids = drawn.data<long>().ToArray();
        Assert.All(ids, id => Assert.True(id is 2 or 3, $"drew removed token {id}"));
        Assert.Contains(2L, ids);
        Assert.Contains(3L, ids);
    }
}
