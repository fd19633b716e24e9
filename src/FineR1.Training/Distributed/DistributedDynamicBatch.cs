using FineR1.Training.Tapo;

namespace FineR1.Training.Distributed;

/// <summary>One row of a rank's share of a data-parallel TAPO batch.</summary>
/// <param name="Row">What the caller stored.</param>
/// <param name="GroupId">Its group (anchor + positive rollouts of one prompt; never split across ranks).</param>
/// <param name="GlobalIndex">Its position in the batch a single process would have built from the same draws.</param>
public sealed record ShardedRow<TRow>(TRow Row, string GroupId, long GlobalIndex);

/// <summary>
/// DAPO dynamic sampling (<see cref="DynamicBatchAccumulator{TRow}"/>) when every rank generates the groups of its block
/// of each draw's prompts (<see cref="DataParallelSharding.BlockOfRank"/>): the keep/drop decision of a group is local
/// (its rollouts are all on one rank); what needs the other ranks is gathered once per draw: the number of groups each
/// rank kept, for the stopping rule, the reference's "if every group of the draw is dropped, keep the whole draw", and
/// the cut to the first <c>targetGroups</c> groups. The batch is the single process's batch of the same draws (ranks'
/// blocks concatenated in rank order within each draw), each rank holding its own groups' rows with their global
/// positions, so mini-batch windows can be applied as on one process.
/// </summary>
/// <typeparam name="TRow">Whatever the caller stores per rollout row.</typeparam>
public sealed class DistributedDynamicBatch<TRow>(ICommunicator communicator, int targetGroups, int maxTries = -1, double low = 0.01, double high = 0.99)
{
    private readonly ICommunicator _comm = communicator ?? throw new ArgumentNullException(nameof(communicator));
    private readonly int _target = targetGroups > 0 ? targetGroups
        : throw new ArgumentOutOfRangeException(nameof(targetGroups), targetGroups, "The batch needs at least one group.");
    // Per draw: this rank's kept groups in first-appearance order, its kept rows in their original order, and every
    // rank's kept group count.
    private readonly List<(List<string> Groups, List<(string GroupId, TRow Row)> Rows)> _kept = [];
    private readonly List<int[]> _groupsPerRank = [];

    /// <summary>Draws added so far (the same on every rank).</summary>
    public int Tries => _kept.Count;

    /// <summary>Groups kept so far over all ranks.</summary>
    public int GroupCount { get; private set; }

    /// <summary>True once <see cref="GroupCount"/> ≥ the target.</summary>
    public bool IsComplete => GroupCount >= _target;

    /// <summary>Collective: filters this rank's groups of one draw. Returns <see cref="IsComplete"/> (same on every rank).</summary>
    /// <exception cref="InvalidOperationException">The draw limit is reached without a complete batch.</exception>
    public bool Add(IReadOnlyList<TRow> rows, IReadOnlyList<string> groupIds, IReadOnlyList<double> accuracies)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(groupIds);
        ArgumentNullException.ThrowIfNull(accuracies);
        if (rows.Count != groupIds.Count || rows.Count != accuracies.Count)
            throw new ArgumentException($"{rows.Count} rows, {groupIds.Count} group ids and {accuracies.Count} accuracies; one each per row expected.");
        var groups = groupIds.Distinct(StringComparer.Ordinal).ToList();                       // first-appearance order
        var keptIds = DynamicSampling.KeptGroupIds(groupIds, accuracies, low, high).ToHashSet(StringComparer.Ordinal);
        var counts = _comm.AllGatherScalars([keptIds.Count]).Select(c => (int)c[0]).ToArray();
        bool keepAll = counts.Sum() == 0;   // reference quirk, decided over the whole draw
        if (keepAll)
        {
            counts = _comm.AllGatherScalars([groups.Count]).Select(c => (int)c[0]).ToArray();
            keptIds = groups.ToHashSet(StringComparer.Ordinal);
        }
        _kept.Add((groups.Where(keptIds.Contains).ToList(),
            Enumerable.Range(0, rows.Count).Where(i => keptIds.Contains(groupIds[i])).Select(i => (groupIds[i], rows[i])).ToList()));
        _groupsPerRank.Add(counts);
        GroupCount += counts.Sum();
        if (!IsComplete && maxTries > 0 && Tries >= maxTries)
            throw new InvalidOperationException(
                $"Dynamic sampling made {Tries} draws (limit {maxTries}) but kept only {GroupCount} of {_target} groups over all ranks; too few groups are neither all-correct nor all-wrong.");
        return IsComplete;
    }

    /// <summary>
    /// Collective: this rank's rows of the first <c>targetGroups</c> groups (order: draw, then rank, then group), with
    /// their global indices, and the global row count.
    /// </summary>
    /// <example>Target 3, one draw, rank 0 kept groups a (2 rows), b (2 rows), rank 1 kept c, d: the batch is a, b, c; rank 0
    /// returns rows 0–3, rank 1 returns c's rows with global indices 4, 5; 6 rows in all.</example>
    /// <exception cref="InvalidOperationException">The batch is not complete yet.</exception>
    public (IReadOnlyList<ShardedRow<TRow>> Rows, long GlobalRows) TakeBatch()
    {
        if (!IsComplete) throw new InvalidOperationException($"Only {GroupCount} of {_target} groups collected.");
        int rank = _comm.Rank;
        var mine = new List<(int Draw, string GroupId, TRow Row)>();
        var rowCounts = new double[Tries];
        int before = 0;
        for (int d = 0; d < Tries; d++)
        {
            int earlierRanks = _groupsPerRank[d].Take(rank).Sum();
            int allowed = Math.Clamp(_target - before - earlierRanks, 0, _groupsPerRank[d][rank]);
            var first = _kept[d].Groups.Take(allowed).ToHashSet(StringComparer.Ordinal);
            var taken = _kept[d].Rows.Where(r => first.Contains(r.GroupId)).ToList();
            foreach (var (id, row) in taken) mine.Add((d, id, row));
            rowCounts[d] = taken.Count;
            before += _groupsPerRank[d].Sum();
        }
        var all = _comm.AllGatherScalars(rowCounts);              // [rank][draw] rows in the batch
        var start = new long[Tries];
        long offset = 0;
        for (int d = 0; d < Tries; d++)
        {
            start[d] = offset + (long)Enumerable.Range(0, rank).Sum(q => all[q][d]);
            offset += (long)Enumerable.Range(0, _comm.WorldSize).Sum(q => all[q][d]);
        }
        var result = new List<ShardedRow<TRow>>(mine.Count);
        var next = (long[])start.Clone();
        foreach (var (d, id, row) in mine) result.Add(new ShardedRow<TRow>(row, id, next[d]++));
        return (result, offset);
    }
}
