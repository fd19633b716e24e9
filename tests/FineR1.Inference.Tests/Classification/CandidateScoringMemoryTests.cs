using FineR1.Inference.Classification;
using FineR1.Tests;

namespace FineR1.Inference.Tests.Classification;

/// <summary>Runs alone: it measures the peak resident memory of the whole test process.</summary>
[CollectionDefinition(nameof(ProcessMemoryCollection), DisableParallelization = true)]
public sealed class ProcessMemoryCollection;

/// <summary>
/// Candidate scoring keeps memory bounded whatever the number of candidates: the peak resident set grows by less than
/// 1.5 GB for 200 and 1,000 candidates on the tiny model (its 151,936-row vocabulary makes each scored position 0.6 MB
/// of logits; unchunked, 200 candidates needed one 2 GB allocation).
/// </summary>
[Collection(nameof(ProcessMemoryCollection))]
public sealed class CandidateScoringMemoryTests(TinyQwen tiny) : IClassFixture<TinyQwen>
{
    private const long Limit = 1_500_000_000;

    private static string[] Names(int count) =>
        Enumerable.Range(0, count).Select(i => $"Species {i} {(char)('A' + i % 26)}{(char)('a' + i / 26 % 26)} warbler").ToArray();

    [Theory]
    [InlineData(200)]
    [InlineData(1000)]
    public void Peak_memory_growth_stays_under_1_5_GB(int candidates)
    {
        if (!ProcessMemory.CanResetPeak) Assert.Skip("needs Linux /proc/self/clear_refs to measure the peak resident set.");
        using var prompt = tiny.Bundle.Prompts.Build(TinyQwen.Image0, "Which species?");
        var names = Names(candidates);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = ProcessMemory.ResetPeak();
        var scores = CandidateScorer.LogLikelihoods(tiny.Bundle, prompt, "<think>x</think>\n\n<answer", names);
        long growth = ProcessMemory.PeakResidentBytes() - before;
        TestContext.Current.TestOutputHelper?.WriteLine($"{candidates} candidates: peak resident memory +{growth / 1e6:F0} MB");
        Assert.Equal(candidates, scores.Length);
        Assert.All(scores, s => Assert.True(double.IsFinite(s) && s < 0));
        Assert.True(growth < Limit, $"peak resident memory grew by {growth / 1e9:F2} GB for {candidates} candidates");
    }

    [Fact]
    public void Chunking_does_not_change_the_scores()
    {
        using var prompt = tiny.Bundle.Prompts.Build(TinyQwen.Image1, "Which species?");
        var names = Names(11);
        var one = CandidateScorer.LogLikelihoods(tiny.Bundle, prompt, "<think>y</think> <answer", names, rowsPerForward: 100);
        var chunked = CandidateScorer.LogLikelihoods(tiny.Bundle, prompt, "<think>y</think> <answer", names, rowsPerForward: 3);
        for (int i = 0; i < names.Length; i++) Assert.Equal(one[i], chunked[i], 1e-3);
    }
}

/// <summary>Peak resident set of this process (Linux: VmHWM, reset through /proc/self/clear_refs).</summary>
internal static class ProcessMemory
{
    public static bool CanResetPeak => File.Exists("/proc/self/clear_refs") && File.Exists("/proc/self/status");

    /// <summary>Resets the peak to the current resident set and returns it.</summary>
    public static long ResetPeak()
    {
        File.WriteAllText("/proc/self/clear_refs", "5");
        return Read("VmRSS:");
    }

    public static long PeakResidentBytes() => Read("VmHWM:");

    private static long Read(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0]) * 1024;
    }
}
