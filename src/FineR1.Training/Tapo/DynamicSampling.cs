namespace FineR1.Training.Tapo;

/// <summary>
/// DAPO dynamic sampling (docs/method.md §5.3; paper Eq. 4 constraint <c>0 &lt; |{correct}| &lt; n1 + n2</c>): groups whose rollouts
/// are all correct or all wrong carry no advantage signal and are dropped.
/// </summary>
public static class DynamicSampling
{
    /// <summary>
    /// Indices of the rows to keep: rows of groups whose mean accuracy is strictly inside (<paramref name="low"/>,
    /// <paramref name="high"/>). Reference quirk (docs/method.md §5.3): if every group of the draw is dropped, the whole draw is kept.
    /// </summary>
    /// <param name="groupIds">uid of each row.</param>
    /// <param name="accuracies">Accuracy reward (0 or 1) of each row.</param>
    /// <param name="low">Exclusive lower bound of the group mean (Fine-R1: 0.01).</param>
    /// <param name="high">Exclusive upper bound (Fine-R1: 0.99).</param>
    /// <example>uids [a,a,b,b], accuracies [1,0,1,1] → group a (mean 0.5) kept, b (1.0) dropped → rows [0, 1].</example>
    public static IReadOnlyList<int> KeptRows(IReadOnlyList<string> groupIds, IReadOnlyList<double> accuracies, double low = 0.01, double high = 0.99)
    {
        ArgumentNullException.ThrowIfNull(groupIds);
        ArgumentNullException.ThrowIfNull(accuracies);
        if (groupIds.Count != accuracies.Count)
            throw new ArgumentException($"{groupIds.Count} group ids but {accuracies.Count} accuracies; one per row expected.");
        var keptGroups = KeptGroups(groupIds, accuracies, low, high);
        if (keptGroups.Count == 0) return Enumerable.Range(0, groupIds.Count).ToArray();
        return Enumerable.Range(0, groupIds.Count).Where(i => keptGroups.Contains(groupIds[i])).ToArray();
    }

    /// <summary>The uids whose mean accuracy lies strictly inside (low, high), in first-appearance order.</summary>
    public static IReadOnlyList<string> KeptGroupIds(IReadOnlyList<string> groupIds, IReadOnlyList<double> accuracies, double low = 0.01, double high = 0.99)
    {
        var kept = KeptGroups(groupIds, accuracies, low, high);
        return DapoAdvantage.GroupRows(groupIds).Select(g => g.Key).Where(kept.Contains).ToArray();
    }

    private static HashSet<string> KeptGroups(IReadOnlyList<string> groupIds, IReadOnlyList<double> accuracies, double low, double high)
    {
        var kept = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (id, rows) in DapoAdvantage.GroupRows(groupIds))
        {
            double mean = rows.Average(i => accuracies[(int)i]);
            if (mean > low && mean < high) kept.Add(id);
        }
        return kept;
    }
}

/// <summary>
/// Accumulates dynamic-sampling draws until a training batch of <c>targetGroups</c> groups is complete (docs/method.md §5.3 loop):
/// each draw is filtered with <see cref="DynamicSampling.KeptRows"/>, appended, and the batch is cut to the first
/// <c>targetGroups</c> groups.
/// </summary>
/// <typeparam name="TRow">Whatever the caller stores per rollout row.</typeparam>
/// <param name="targetGroups">Groups per training step (<see cref="TapoRolloutOptions.RolloutBatchSize"/>).</param>
/// <param name="maxTries">Draw limit; −1 = unlimited (code), paper 20.</param>
/// <param name="low">Filter lower bound.</param>
/// <param name="high">Filter upper bound.</param>
public sealed class DynamicBatchAccumulator<TRow>(int targetGroups, int maxTries = -1, double low = 0.01, double high = 0.99)
{
    private readonly int _targetGroups = targetGroups > 0 ? targetGroups
        : throw new ArgumentOutOfRangeException(nameof(targetGroups), targetGroups, "The batch needs at least one group.");
    private readonly List<(string GroupId, TRow Row)> _rows = [];
    private readonly HashSet<string> _groups = new(StringComparer.Ordinal);

    /// <summary>Draws added so far.</summary>
    public int Tries { get; private set; }

    /// <summary>Distinct groups kept so far.</summary>
    public int GroupCount => _groups.Count;

    /// <summary>True once <see cref="GroupCount"/> ≥ the target.</summary>
    public bool IsComplete => _groups.Count >= _targetGroups;

    /// <summary>Filters one draw and keeps its surviving rows. Returns <see cref="IsComplete"/>.</summary>
    /// <exception cref="InvalidOperationException">The draw limit is reached without a complete batch (reference:
    /// "Generated too many. Please check your data.").</exception>
    public bool Add(IReadOnlyList<TRow> rows, IReadOnlyList<string> groupIds, IReadOnlyList<double> accuracies)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count != groupIds.Count) throw new ArgumentException($"{rows.Count} rows but {groupIds.Count} group ids.");
        Tries++;
        foreach (int i in DynamicSampling.KeptRows(groupIds, accuracies, low, high))
        {
            _rows.Add((groupIds[i], rows[i]));
            _groups.Add(groupIds[i]);
        }
        if (!IsComplete && maxTries > 0 && Tries >= maxTries)
            throw new InvalidOperationException(
                $"Dynamic sampling made {Tries} draws (limit {maxTries}) but kept only {GroupCount} of {_targetGroups} groups; too few groups are neither all-correct nor all-wrong.");
        return IsComplete;
    }

    /// <summary>The rows of the first <c>targetGroups</c> kept groups, in the order they were added.</summary>
    /// <exception cref="InvalidOperationException">The batch is not complete yet.</exception>
    public IReadOnlyList<(string GroupId, TRow Row)> TakeBatch()
    {
        if (!IsComplete) throw new InvalidOperationException($"Only {GroupCount} of {_targetGroups} groups collected.");
        var first = new HashSet<string>(StringComparer.Ordinal);
        var batch = new List<(string, TRow)>();
        foreach (var r in _rows)
        {
            if (!first.Contains(r.GroupId))
            {
                if (first.Count == _targetGroups) continue;
                first.Add(r.GroupId);
            }
            batch.Add(r);
        }
        return batch;
    }
}
