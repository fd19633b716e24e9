using System.Text.Json;
using FineR1.Core.Text.Rewards;

namespace FineR1.Core.Tests.Text;

public class RewardTests
{
    [Fact]
    [Trait("Category", "Golden")]
    public void Reproduces_the_reference_reward_section_of_golden_json()
    {
        using var doc = JsonDocument.Parse(System.IO.File.ReadAllText(TestPaths.Fixture("tapo", "golden.json")));
        var reward = doc.RootElement.GetProperty("reward");
        var groundTruth = reward.GetProperty("ground_truth").GetString()!;
        var function = new FineR1ClassificationReward(reward.GetProperty("format_weight").GetDouble());
        var responses = reward.GetProperty("responses").EnumerateArray().Select(r => r.GetString()!).ToList();
        var expected = reward.GetProperty("scores").EnumerateArray()
            .Select(s => new RewardScore(s.GetProperty("overall").GetDouble(), s.GetProperty("format").GetDouble(), s.GetProperty("accuracy").GetDouble()))
            .ToList();
        Assert.Equal(8, responses.Count);

        var got = ((IRewardFunction)function).ScoreBatch(responses.Select(r => (r, groundTruth)).ToList());
        Assert.Equal(expected, got);   // exact doubles, e.g. 0.9 = (1 - 0.1)·1 + 0.1·0
    }

    [Theory]
    [InlineData("<think>a</think>\u001c<answer>b</answer>", 1.0)]        // Python's \s includes U+001C..U+001F
    [InlineData("<think>a</think>\u00a0\u3000<answer>b</answer>", 1.0)]
    [InlineData("<think>a\n</think>\n\n<answer>\nb\n</answer>", 1.0)]
    [InlineData(" <think>a</think><answer>b</answer>\n", 1.0)]            // whitespace next to '<' / '>' is removed first
    [InlineData("x<think>a</think><answer>b</answer>", 0.0)]               // fullmatch: nothing before
    [InlineData("<think>a</think><answer>b</answer>x", 0.0)]               // nor after
    [InlineData("<think>a</think>x<answer>b</answer>", 0.0)]
    public void Format_score_is_a_python_fullmatch_after_tag_whitespace_removal(string response, double format) =>
        Assert.Equal(format, new FineR1ClassificationReward().Score(response, "b").Format);

    [Theory]
    [InlineData("<answer>  Ferrari 458 Italia  </answer>", "ferrari 458", 1.0)]
    [InlineData("<answer>A</answer><answer>Crow</answer>", "crow", 0.0)]   // the first answer only
    [InlineData("<answer>AC / DC</answer>", "AC/DC", 1.0)]                 // spaces around '/' are removed in the answer too
    [InlineData("<answer>İstanbul</answer>", "i̇stanbul", 1.0)]            // Python lower(): İ → i + U+0307
    [InlineData("<answer>ΟΔΟΣ</answer>", "οδος", 1.0)]                     // final sigma
    [InlineData("no tags", "", 0.0)]
    public void Accuracy_is_case_insensitive_containment_in_the_first_answer(string response, string groundTruth, double accuracy) =>
        Assert.Equal(accuracy, new FineR1ClassificationReward().Score(response, groundTruth).Accuracy);

    [Fact]
    public void A_custom_reward_plugs_in_through_the_interface()
    {
        IRewardFunction custom = new ExactMatchReward();
        Assert.Equal(new RewardScore(1, 1, 1), custom.ScoreBatch([("crow", "Crow")])[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FineR1ClassificationReward(1.5));
    }

    private sealed class ExactMatchReward : IRewardFunction
    {
        public RewardScore Score(string response, string groundTruth) =>
            string.Equals(response, groundTruth, StringComparison.OrdinalIgnoreCase) ? new RewardScore(1, 1, 1) : default;
    }
}
