namespace FineR1.Core.Text.Rewards;

/// <summary>
/// A rule reward over decoded responses (special tokens skipped). Implement it to train with your own reward;
/// <see cref="FineR1ClassificationReward"/> is the released Fine-R1 one.
/// </summary>
public interface IRewardFunction
{
    /// <summary>Scores one <paramref name="response"/> against <paramref name="groundTruth"/>.</summary>
    RewardScore Score(string response, string groundTruth);

    /// <summary>Scores a batch (the reference's <c>reward_type=batch</c>); by default one <see cref="Score"/> per item.</summary>
    IReadOnlyList<RewardScore> ScoreBatch(IReadOnlyList<(string Response, string GroundTruth)> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var scores = new RewardScore[items.Count];
        for (var i = 0; i < scores.Length; i++) scores[i] = Score(items[i].Response, items[i].GroundTruth);
        return scores;
    }
}
