using FineR1.Core.Text.Rewards;

namespace FineR1.Core.Tests.Text;

public class EvaluationScoringTests
{
    [Theory]
    [InlineData("<think>x</think> <answer>Black_Footed Albatross</answer>", "Black_Footed_Albatross", true)]
    [InlineData("<answer>A</answer> then <answer>Sooty Albatross</answer>", "sooty albatross", true)]  // greedy: first <answer> to last </answer>
    [InlineData("<answer>  </answer>", "", false)]                                                      // empty answer never counts
    [InlineData("Sooty Albatross", "Sooty Albatross", false)]                                           // no tags: no answer
    [InlineData("<answer>Laysan</answer>", "Laysan Albatross", false)]
    public void Closed_world(string output, string groundTruth, bool correct) =>
        Assert.Equal(correct, EvaluationScoring.IsClosedWorldCorrect(output, groundTruth));

    [Theory]
    [InlineData("<answer>It is a Ferrari 458 Italia coupe</answer>", "Ferrari 458 Italia Convertible 2012", "car", true)]
    [InlineData("<answer>Ferrari 458</answer>", "Ferrari 458 Italia Convertible 2012", "car", false)]
    [InlineData("<answer>Anything</answer>", "Audi  2012", "car", true)]            // two words: empty model name, as in the reference
    [InlineData("no tags: a Painted Bunting", "Painted_Bunting", "object", true)]   // no answer → whole output
    [InlineData("<answer></answer> Painted Bunting", "Painted Bunting", "object", true)]
    [InlineData("<answer>Bunting</answer> Painted Bunting", "Painted Bunting", "object", false)]
    public void Open_world_text_inclusion(string output, string groundTruth, string superCategory, bool included) =>
        Assert.Equal(included, EvaluationScoring.IsOpenWorldTextIncluded(output, groundTruth, superCategory));

    [Theory]
    [InlineData("fgvc_aircraft/data/images/1.jpg", "aircraft")]
    [InlineData("bird_200/images/001.x/a.jpg", "object")]
    [InlineData("/data/cub_birds/a.jpg", "bird")]
    [InlineData("stanford-cars/cars_test/00001.jpg", "car")]
    [InlineData("flower102/jpg/image_1.jpg", "flower")]
    [InlineData("dogs_120/Images/x.jpg", "object")]
    public void Super_category_from_the_image_path(string path, string expected) =>
        Assert.Equal(expected, EvaluationScoring.SuperCategoryFromPath(path));

    // Cases carried over from FineR1.Inference's former Metrics/AnswerExtractor tests (one implementation now).
    [Theory]
    [InlineData("<think>x</think> <answer>Black Footed Albatross</answer>", "Black Footed Albatross", true)]
    [InlineData("<answer> black_footed albatross </answer>", "Black_Footed_Albatross", true)]          // '_' → ' ' on both sides, case-insensitive
    [InlineData("<answer>Laysan Albatross or Black Footed Albatross</answer>", "Black Footed Albatross", true)] // containment
    [InlineData("<answer>Sooty Albatross</answer>", "Black Footed Albatross", false)]
    [InlineData("<answer>Albatross</answer>", "Black Footed Albatross", false)]                     // partial name is not enough
    public void Closed_world_is_containment_of_the_ground_truth_in_the_answer(string output, string groundTruth, bool correct) =>
        Assert.Equal(correct, EvaluationScoring.IsClosedWorldCorrect(output, groundTruth));

    [Fact]
    public void The_evaluation_answer_regex_is_greedy_and_dotall_like_python()
    {
        Assert.Equal("A</answer> <answer>B", AnswerParsing.ExtractEvaluationAnswer("<answer>A</answer> <answer>B</answer>"));
        Assert.Equal("line1\nline2", AnswerParsing.ExtractEvaluationAnswer("<answer>\n line1\nline2\t</answer>"));
        Assert.Null(AnswerParsing.ExtractEvaluationAnswer("<answer>never closed"));
        Assert.Equal("", AnswerParsing.ExtractEvaluationAnswer("<answer> </answer>"));
    }

    [Theory]
    [InlineData("<answer>A Ferrari 458 Italia Coupe</answer>", "Ferrari 458 Italia Convertible 2012", true, true)]
    [InlineData("<answer>A Ferrari 458 Italia Coupe</answer>", "Ferrari 458 Italia Convertible 2012", false, false)]
    [InlineData("<answer>Ferrari 458</answer>", "Ferrari 458 Italia Convertible 2012", true, false)]
    [InlineData("<answer>anything</answer>", "Audi  TT", true, true)]                 // ≤ 2 words → "" is always contained
    [InlineData("no tags: it is a chevrolet corvette.", "Chevrolet Corvette Convertible 2012", true, true)] // whole output when no <answer>
    // Other domains: gt.lower().replace("_"," ") in base.lower() — '_' is not replaced in the prediction.
    [InlineData("<answer>black footed albatross</answer>", "Black_Footed_Albatross", false, true)]
    [InlineData("<answer>Black_Footed Albatross</answer>", "Black Footed Albatross", false, false)]
    [InlineData("It is a Black Footed Albatross.", "Black Footed Albatross", false, true)]
    public void Open_world_text_inclusion_with_the_car_rule_chosen_by_the_caller(string output, string groundTruth, bool carRule, bool included) =>
        Assert.Equal(included, EvaluationScoring.IsOpenWorldTextIncluded(output, groundTruth, carRule));

    [Theory]
    [InlineData("/data/CUB_200_2011/birds/x.jpg", "bird")]
    [InlineData("oxford-pet/images/x.jpg", "object")]
    [InlineData("/mnt/aircraft/stanford-cars/x.jpg", "aircraft")]                   // first rule wins
    [InlineData("/mnt/Birds/x.jpg", "object")]                                     // case-sensitive
    public void Super_category_rules_are_ordered_and_case_sensitive(string path, string expected) =>
        Assert.Equal(expected, EvaluationScoring.SuperCategoryFromPath(path));
}
