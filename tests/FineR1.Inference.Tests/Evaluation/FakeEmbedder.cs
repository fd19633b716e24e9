using FineR1.Inference.Evaluation;

namespace FineR1.Inference.Tests.Evaluation;

/// <summary>Returns hand-chosen unit vectors; an unexpected text fails the test.</summary>
internal sealed class FakeEmbedder(Dictionary<string, float[]> vectors) : ITextEmbedder
{
    public List<string> Embedded { get; } = [];

    public IReadOnlyList<float[]> Embed(IReadOnlyList<string> texts)
    {
        Embedded.AddRange(texts);
        return texts.Select(t => vectors.TryGetValue(t, out var v) ? v : throw new KeyNotFoundException($"no vector for '{t}'")).ToList();
    }
}
