using FineR1.Experiments.Synthetic;

namespace FineR1.Experiments.Tests.Synthetic;

/// <summary>One quick world generated once for the read-only tests of a class.</summary>
public sealed class SynthWorldFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public FgvrSynthWorld World { get; }

    public SynthWorldFixture() => World = FgvrSynth.Generate(FgvrSynthOptions.Quick, _dir.Path);

    public void Dispose() => _dir.Dispose();
}
