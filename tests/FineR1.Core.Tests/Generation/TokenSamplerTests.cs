using FineR1.Core.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Generation;

/// <summary>The counter-based sampler (CUDA's, checked here on the CPU; its distribution is checked in
/// LogitsProcessorsTests): reproducible from the seed alone, whatever else uses torch's random generators.</summary>
public class TokenSamplerTests
{
    private static Tensor UniformProbs(long rows, long vocab) => full(rows, vocab, 1.0f / vocab);

    private static long[][] Draw(ulong seed, int steps, Action? between = null)
    {
        using var sampler = TokenSampler.CounterBased(seed);
        using var probs = UniformProbs(8, 1000);
        var drawn = new long[steps][];
        for (int s = 0; s < steps; s++)
        {
            between?.Invoke();
            using var ids = sampler.Sample(probs);
            drawn[s] = ids.data<long>().ToArray();
        }
        return drawn;
    }

    [Fact]
    public void The_same_seed_gives_the_same_tokens_whatever_the_global_generators_do()
    {
        var quiet = Draw(11, 5);
        var disturbed = Draw(11, 5, () => { manual_seed(123); using var _ = randn(1000); });
        Assert.Equal(quiet, disturbed);
    }

    [Fact]
    public void Seeds_steps_and_rows_each_give_other_draws()
    {
        var a = Draw(1, 4);
        var b = Draw(2, 4);
        Assert.NotEqual(a, b);
        Assert.NotEqual(a[0], a[1]);                                 // the counter advances per step
        Assert.True(a[0].Distinct().Count() > 4, string.Join(",", a[0]));   // rows are not copies of each other
    }

    [Fact]
    public void Concurrent_samplers_with_one_seed_agree()
    {
        var expected = Draw(5, 6);
        var results = new long[4][][];
        Parallel.For(0, 4, i => results[i] = Draw(5, 6, () => { using var _ = rand(100); }));
        Assert.All(results, r => Assert.Equal(expected, r));
    }

    [Fact]
    public void A_token_with_zero_probability_is_never_drawn_and_a_certain_one_always()
    {
        using var sampler = TokenSampler.CounterBased(9);
        using var probs = zeros(5000, 3);
        probs[.., 1] = tensor(1.0f);
        using var ids = sampler.Sample(probs);
        Assert.All(ids.data<long>().ToArray(), id => Assert.Equal(1L, id));
    }
}
