namespace FineR1.Inference.Evaluation;

/// <summary>Embeds texts into L2-normalised vectors (the SigLIP text tower in the paper's metric).</summary>
public interface ITextEmbedder
{
    /// <summary>One unit-length vector per text, in order.</summary>
    IReadOnlyList<float[]> Embed(IReadOnlyList<string> texts);
}

/// <summary>
/// Relative semantic similarity of open-world predictions (docs/method.md §6.4) over an <see cref="ITextEmbedder"/>, caching
/// the embeddings of repeated texts (ground truths and anchors repeat across a file).
/// </summary>
public sealed class SemanticSimilarityScorer
{
    private readonly ITextEmbedder _embedder;
    private readonly Dictionary<string, float[]> _cache = new(StringComparer.Ordinal);

    /// <summary>Creates the scorer.</summary>
    public SemanticSimilarityScorer(ITextEmbedder embedder) => _embedder = embedder;

    /// <summary>
    /// <c>SS_rel</c> of one prediction: <paramref name="prediction"/> is the open-world base text (answer or whole
    /// output), <paramref name="superCategory"/> the anchor (<see cref="FineR1.Core.Text.Rewards.EvaluationScoring.SuperCategoryFromPath"/>).
    /// </summary>
    public double Score(string prediction, string groundTruth, string superCategory)
    {
        Prefetch([prediction, groundTruth, superCategory]);
        var gt = _cache[groundTruth];
        return Metrics.RelativeSimilarity(Cosine(_cache[prediction], gt), Cosine(_cache[superCategory], gt));
    }

    /// <summary>Embeds the texts not yet cached in one batch.</summary>
    public void Prefetch(IEnumerable<string> texts)
    {
        var missing = texts.Where(t => !_cache.ContainsKey(t)).Distinct(StringComparer.Ordinal).ToList();
        if (missing.Count == 0) return;
        var vectors = _embedder.Embed(missing);
        if (vectors.Count != missing.Count)
            throw new InvalidOperationException($"the embedder returned {vectors.Count} vectors for {missing.Count} texts.");
        for (int i = 0; i < missing.Count; i++) _cache[missing[i]] = vectors[i];
    }

    /// <summary>Dot product of two unit vectors (cosine similarity), accumulated in double.</summary>
    public static double Cosine(float[] a, float[] b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"vectors of different sizes ({a.Length} and {b.Length}).");
        double dot = 0;
        for (int i = 0; i < a.Length; i++) dot += (double)a[i] * b[i];
        return dot;
    }
}
