using FineR1.Inference.Evaluation;

namespace FineR1.Inference.Tests.Evaluation;

public class MetricsTests
{
    [Theory]
    [InlineData(0.9, 0.5, 0.8)]    // (0.9 − 0.5) / (1 − 0.5)
    [InlineData(0.3, 0.5, 0.0)]    // worse than the anchor → clipped to 0
    [InlineData(1.0, 0.2, 1.0)]
    [InlineData(0.7, 1.0, 0.0)]    // anchor identical to the ground truth
    [InlineData(0.5, -0.5, 2.0 / 3.0)]
    public void Relative_similarity_is_paper_equation_5(double simPred, double simSuper, double expected) =>
        Assert.Equal(expected, Metrics.RelativeSimilarity(simPred, simSuper), 12);

    [Fact]
    public void Semantic_similarity_scorer_uses_cosines_to_the_ground_truth_and_caches()
    {
        var embedder = new FakeEmbedder(new()
        {
            ["gt"] = [1, 0, 0],
            ["pred"] = [0.8f, 0.6f, 0],     // cos(pred, gt) = 0.8
            ["object"] = [0, 1, 0],         // cos = 0   → SS = 0.8
            ["bird"] = [0.6f, 0.8f, 0],     // cos = 0.6 → SS = (0.8 − 0.6) / 0.4 = 0.5
        });
        var scorer = new SemanticSimilarityScorer(embedder);
        Assert.Equal(0.8, scorer.Score("pred", "gt", "object"), 6);
        Assert.Equal(0.5, scorer.Score("pred", "gt", "bird"), 6);
        Assert.Equal(4, embedder.Embedded.Count);   // each text embedded once
    }
}
