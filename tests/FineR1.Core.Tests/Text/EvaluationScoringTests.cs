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
}
