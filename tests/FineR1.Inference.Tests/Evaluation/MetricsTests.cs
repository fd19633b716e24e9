using FineR1.Inference.Evaluation;

namespace FineR1.Inference.Tests.Evaluation;

public class MetricsTests
{
    [Theory]
    [InlineData("<think>x</think> <answer>Black Footed Albatross</answer>", "Black Footed Albatross", true)]
    [InlineData("<answer> black_footed albatross </answer>", "Black_Footed_Albatross", true)]          // '_' → ' ' on both sides, case-insensitive
    [InlineData("<answer>Laysan Albatross or Black Footed Albatross</answer>", "Black Footed Albatross", true)] // containment
    [InlineData("Black Footed Albatross", "Black Footed Albatross", false)]                           // no <answer> tags → wrong
    [InlineData("<answer>Sooty Albatross</answer>", "Black Footed Albatross", false)]
    [InlineData("<answer>Albatross</answer>", "Black Footed Albatross", false)]                     // partial name is not enough
    public void Closed_world_correctness_is_containment_of_the_ground_truth_in_the_answer(string output, string gt, bool expected) =>
        Assert.Equal(expected, Metrics.ClosedWorldCorrect(output, gt));

    [Fact]
    public void The_answer_regex_is_greedy_and_dotall_like_python()
    {
        Assert.Equal("A</answer> <answer>B", AnswerExtractor.Extract("<answer>A</answer> <answer>B</answer>"));
        Assert.Equal("line1\nline2", AnswerExtractor.Extract("<answer>\n line1\nline2\t</answer>"));
        Assert.Null(AnswerExtractor.Extract("<answer>never closed"));
        Assert.Equal("", AnswerExtractor.Extract("<answer> </answer>"));
    }

    [Theory]
    // Car rule: the last two words (body type, year) are dropped from the ground truth.
    [InlineData("<answer>A Ferrari 458 Italia Coupe</answer>", "Ferrari 458 Italia Convertible 2012", true, true)]
    [InlineData("<answer>A Ferrari 458 Italia Coupe</answer>", "Ferrari 458 Italia Convertible 2012", false, false)]
    [InlineData("<answer>Ferrari 458</answer>", "Ferrari 458 Italia Convertible 2012", true, false)]
    [InlineData("<answer>anything</answer>", "Audi  TT", true, true)]                 // ≤ 2 words → "" is always contained
    [InlineData("no tags: it is a chevrolet corvette.", "Chevrolet Corvette Convertible 2012", true, true)] // whole output when no <answer>
    // Other domains: gt.lower().replace("_"," ") in base.lower() — '_' is not replaced in the prediction.
    [InlineData("<answer>black footed albatross</answer>", "Black_Footed_Albatross", false, true)]
    [InlineData("<answer>Black_Footed Albatross</answer>", "Black Footed Albatross", false, false)]
    [InlineData("It is a Black Footed Albatross.", "Black Footed Albatross", false, true)]
    public void Open_world_text_inclusion_follows_the_reference(string output, string gt, bool car, bool expected) =>
        Assert.Equal(expected, Metrics.TextInclusionCorrect(output, gt, car));

    [Theory]
    [InlineData(0.9, 0.5, 0.8)]    // (0.9 − 0.5) / (1 − 0.5)
    [InlineData(0.3, 0.5, 0.0)]    // worse than the anchor → clipped to 0
    [InlineData(1.0, 0.2, 1.0)]
    [InlineData(0.7, 1.0, 0.0)]    // anchor identical to the ground truth
    [InlineData(0.5, -0.5, 2.0 / 3.0)]
    public void Relative_similarity_is_paper_equation_5(double simPred, double simSuper, double expected) =>
        Assert.Equal(expected, Metrics.RelativeSimilarity(simPred, simSuper), 12);

    [Theory]
    [InlineData("fgvc_aircraft/data/images/0116175.jpg", "aircraft")]
    [InlineData("bird_200/images/001.Black_footed_Albatross/x.jpg", "object")]   // released bird paths have no "birds"
    [InlineData("/data/CUB_200_2011/birds/x.jpg", "bird")]
    [InlineData("stanford-cars/cars_test/00001.jpg", "car")]
    [InlineData("dogs_120/Images/n02085936-Maltese_dog/x.jpg", "object")]
    [InlineData("flower102/jpg/image_00001.jpg", "flower")]
    [InlineData("oxford-pet/images/x.jpg", "object")]
    [InlineData("/mnt/aircraft/stanford-cars/x.jpg", "aircraft")]                   // first rule wins
    [InlineData("/mnt/Birds/x.jpg", "object")]                                     // case-sensitive
    public void Super_category_anchor_comes_from_the_image_path(string path, string expected) =>
        Assert.Equal(expected, SuperCategory.ForImagePath(path));

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
