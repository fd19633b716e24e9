namespace FineR1.Training.Tapo;

/// <summary>Which of a training triplet's images (docs/method.md §5.1, paper §4.3).</summary>
public enum TripletImage
{
    /// <summary>The anchor x.</summary>
    Anchor,

    /// <summary>The positive x_pos: same sub-category as the anchor.</summary>
    Positive,

    /// <summary>The negative x_neg: a different, visually similar sub-category.</summary>
    Negative,
}

/// <summary>One rollout row of a TAPO batch and the images its quantities use (docs/method.md §5.8 table).</summary>
/// <param name="PromptIndex">Index of the prompt (triplet) in the draw.</param>
/// <param name="GroupId">Group uid shared by all 2n rows of the prompt (advantage normalisation, paper Eq. 1).</param>
/// <param name="GeneratedFrom">Image the response is sampled from (anchor for the first n rows, positive for the next n).</param>
/// <param name="SampleIndex">0..n−1 within its image.</param>
/// <param name="LogProbImage">Image <c>old_log_probs</c> and <c>log_probs</c> are conditioned on.</param>
public sealed record RolloutRow(int PromptIndex, string GroupId, TripletImage GeneratedFrom, int SampleIndex, TripletImage LogProbImage)
{
    /// <summary>Image of <c>aug_log_probs</c>: always the negative.</summary>
    public TripletImage AugLogProbImage => TripletImage.Negative;

    /// <summary>Image whose prompt token ids and mRoPE positions the row uses: always the anchor (docs/method.md §5.8).</summary>
    public TripletImage PromptImage => TripletImage.Anchor;
}

/// <summary>
/// Intra-class augmentation (docs/method.md §5.3, paper §4.3 Eq. 1; NoisyRollout mixing): each prompt is generated from its anchor
/// and its positive image, n samples each, and all 2n rollouts share the prompt's group uid.
/// </summary>
public static class IntraClassGroups
{
    /// <summary>
    /// The generation inputs, interleaved as the reference does: <c>(p0, anchor), (p0, positive), (p1, anchor), …</c>.
    /// </summary>
    /// <example>2 prompts → (0, Anchor), (0, Positive), (1, Anchor), (1, Positive).</example>
    public static IReadOnlyList<(int PromptIndex, TripletImage Image)> GenerationInputs(int promptCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(promptCount);
        var inputs = new List<(int, TripletImage)>(2 * promptCount);
        for (int p = 0; p < promptCount; p++)
        {
            inputs.Add((p, TripletImage.Anchor));
            inputs.Add((p, TripletImage.Positive));
        }
        return inputs;
    }

    /// <summary>
    /// The rows of one draw in the reference order: p0-anchor ×n, p0-positive ×n, p1-anchor ×n, … (2n rows per prompt,
    /// all with the prompt's uid). <paramref name="conditioning"/> picks the positive rows' log-prob image (docs/method.md §9 item 1).
    /// </summary>
    /// <param name="groupIds">One uid per prompt (must be distinct).</param>
    /// <param name="n">Rollouts per image (Fine-R1: 5).</param>
    /// <param name="conditioning">Code default: the generation image; paper: the anchor.</param>
    /// <example>uids ["a"], n = 2, code default → (0,"a",Anchor,0,Anchor), (0,"a",Anchor,1,Anchor), (0,"a",Positive,0,Positive), (0,"a",Positive,1,Positive).</example>
    /// <exception cref="ArgumentException">Duplicate uids or n &lt; 1.</exception>
    public static IReadOnlyList<RolloutRow> ComposeRows(IReadOnlyList<string> groupIds, int n, PositiveRolloutConditioning conditioning = PositiveRolloutConditioning.GenerationImage)
    {
        ArgumentNullException.ThrowIfNull(groupIds);
        if (n < 1) throw new ArgumentException($"n must be ≥ 1, got {n}.", nameof(n));
        if (groupIds.Distinct(StringComparer.Ordinal).Count() != groupIds.Count)
            throw new ArgumentException("Group uids must be distinct per prompt.", nameof(groupIds));
        var rows = new List<RolloutRow>(groupIds.Count * 2 * n);
        for (int p = 0; p < groupIds.Count; p++)
        {
            foreach (var source in (ReadOnlySpan<TripletImage>)[TripletImage.Anchor, TripletImage.Positive])
            {
                var logProbImage = conditioning == PositiveRolloutConditioning.Anchor ? TripletImage.Anchor : source;
                for (int s = 0; s < n; s++) rows.Add(new RolloutRow(p, groupIds[p], source, s, logProbImage));
            }
        }
        return rows;
    }
}
