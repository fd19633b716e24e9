using static TorchSharp.torch;

namespace FineR1.Training.Tapo;

/// <summary>
/// DAPO/GRPO outcome advantage (docs/method.md §5.5, reference <c>compute_dapo_outcome_advantage</c>, identical in logic to
/// <c>compute_grpo_outcome_advantage</c>): every row's return is normalised within its group (same uid; in TAPO the
/// n anchor + n positive rollouts of one prompt, paper Eq. 1) and broadcast over its response tokens.
/// </summary>
public static class DapoAdvantage
{
    /// <summary>The reference's ε added to the group standard deviation.</summary>
    public const double DefaultEpsilon = 1e-6;

    /// <summary>
    /// <c>R_i = Σₜ rewards[i,t]</c>; <c>A_i = (R_i − mean_G) / (std_G + ε)</c> with the unbiased (N−1) standard deviation
    /// of the row's group G; returns <c>A_i · mask[i,t]</c>, shape <c>[rows, T]</c>. No gradient.
    /// </summary>
    /// <param name="tokenLevelRewards"><c>[rows, T]</c>; the reward sits on the last response token (docs/method.md §5.2).</param>
    /// <param name="responseMask"><c>[rows, T]</c>, 1 on response tokens.</param>
    /// <param name="groupIds">One uid per row; rows sharing a uid are normalised together.</param>
    /// <param name="epsilon">Added to the standard deviation (reference 1e-6).</param>
    /// <example>Group u1 with returns (1, 0, 1): mean 2/3, std √(1/3) → advantages (0.577, −1.155, 0.577).</example>
    /// <exception cref="ArgumentException">Shapes disagree, or a group has a single row (the reference asserts
    /// "GRPO needs rollout.n &gt; 1").</exception>
    public static Tensor ComputeOutcomeAdvantage(Tensor tokenLevelRewards, Tensor responseMask, IReadOnlyList<string> groupIds, double epsilon = DefaultEpsilon)
    {
        MaskedOps.RequireSameShape(tokenLevelRewards, responseMask, nameof(tokenLevelRewards), nameof(responseMask));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var scores = tokenLevelRewards.sum(-1); // [rows]
        return FromScores(scores, responseMask, groupIds, epsilon).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Same as <see cref="ComputeOutcomeAdvantage"/> from per-row returns <c>scores[rows]</c> (the <c>overall</c> rewards)
    /// instead of token-level rewards.
    /// </summary>
    public static Tensor ComputeOutcomeAdvantageFromScores(Tensor scores, Tensor responseMask, IReadOnlyList<string> groupIds, double epsilon = DefaultEpsilon)
    {
        if (scores.dim() != 1 || responseMask.dim() != 2 || scores.shape[0] != responseMask.shape[0])
            throw new ArgumentException(
                $"scores must be [rows] and responseMask [rows, T]; got [{string.Join(", ", scores.shape)}] and [{string.Join(", ", responseMask.shape)}].");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return FromScores(scores, responseMask, groupIds, epsilon).MoveToOuterDisposeScope();
    }

    private static Tensor FromScores(Tensor scores, Tensor responseMask, IReadOnlyList<string> groupIds, double epsilon)
    {
        long rows = scores.shape[0];
        if (groupIds.Count != rows)
            throw new ArgumentException($"{groupIds.Count} group ids for {rows} rows; every row needs exactly one.", nameof(groupIds));
        var s = MaskedOps.AsLossFloat(scores);
        var normalised = s.clone();
        foreach (var group in GroupRows(groupIds))
        {
            if (group.Value.Count < 2)
                throw new ArgumentException($"Group '{group.Key}' has a single row; group normalisation needs at least 2 (rollout n > 1).", nameof(groupIds));
            var index = tensor(group.Value.ToArray(), device: s.device);
            var g = s.index_select(0, index);
            var z = (g - g.mean()) / (g.std() + epsilon); // torch.std: unbiased (N − 1)
            normalised.index_copy_(0, index, z);
        }
        return normalised.unsqueeze(-1) * responseMask.to_type(s.dtype);
    }

    /// <summary>Row indices of each group id, in first-appearance order.</summary>
    internal static List<KeyValuePair<string, List<long>>> GroupRows(IReadOnlyList<string> groupIds)
    {
        var order = new List<KeyValuePair<string, List<long>>>();
        var byId = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        for (int i = 0; i < groupIds.Count; i++)
        {
            if (!byId.TryGetValue(groupIds[i], out var list))
            {
                list = [];
                byId[groupIds[i]] = list;
                order.Add(new(groupIds[i], list));
            }
            list.Add(i);
        }
        return order;
    }
}
