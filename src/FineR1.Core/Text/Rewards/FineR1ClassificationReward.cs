namespace FineR1.Core.Text.Rewards;

/// <summary>
/// Fine-R1's TAPO reward (<c>TAPO/examples/reward_function/cls_thinking.py</c>): after
/// <see cref="AnswerParsing.NormalizeTagWhitespace"/>, format = 1 if the response is exactly think-then-answer,
/// accuracy = 1 if the first answer contains the ground truth (case-insensitive, Python <c>lower()</c>), and
/// overall = (1 − <see cref="FormatWeight"/>)·accuracy + <see cref="FormatWeight"/>·format.
/// </summary>
/// <example>
/// <c>Score("&lt;think&gt;x&lt;/think&gt; &lt;answer&gt;red-headed woodpecker&lt;/answer&gt;", "Red-headed Woodpecker")</c> →
/// (1.0, 1.0, 1.0); without the think block → (0.9, 0.0, 1.0).
/// </example>
public sealed class FineR1ClassificationReward : IRewardFunction
{
    /// <summary>Creates the reward; <paramref name="formatWeight"/> is w (0.1 in the released recipe).</summary>
    public FineR1ClassificationReward(double formatWeight = 0.1)
    {
        if (!(formatWeight is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(formatWeight), formatWeight, "must be in [0, 1]");
        FormatWeight = formatWeight;
    }

    /// <summary>w, the weight of the format score.</summary>
    public double FormatWeight { get; }

    /// <inheritdoc />
    public RewardScore Score(string response, string groundTruth)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(groundTruth);
        var normalized = AnswerParsing.NormalizeTagWhitespace(response);
        var format = AnswerParsing.HasThinkAnswerFormat(normalized) ? 1.0 : 0.0;
        var accuracy = AccuracyScore(normalized, groundTruth);
        return new RewardScore((1 - FormatWeight) * accuracy + FormatWeight * format, format, accuracy);
    }

    /// <summary>The accuracy part on an already normalized response: 1 if its first answer contains the ground truth.</summary>
    public static double AccuracyScore(string normalizedResponse, string groundTruth)
    {
        var answer = AnswerParsing.ExtractFirstAnswer(normalizedResponse);
        if (answer is null) return 0.0;
        return PythonString.Lower(answer).Contains(PythonString.Lower(groundTruth), StringComparison.Ordinal) ? 1.0 : 0.0;
    }
}
