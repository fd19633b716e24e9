namespace FineR1.Training.Distributed.Zero;

/// <summary>One parameter's place in the flat buffer.</summary>
/// <param name="Name">State-dict name.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Offset">First element in the flat buffer.</param>
/// <param name="Count">Elements.</param>
public sealed record FlatSlot(string Name, long[] Shape, long Offset, long Count);

/// <summary>
/// How parameters are laid out in one flat buffer and cut into equal per-rank shards: parameters that get weight decay
/// first, then those that do not (so a rank's shard is at most two contiguous runs with one AdamW setting each), then
/// zero padding up to a multiple of the world size.
/// </summary>
/// <example>Parameters a (6 elements, decay), b (3, no decay), world 4: a at [0, 6), b at [6, 9), 9 elements padded to 12,
/// shard 3: rank 0 [0, 3) decay, rank 1 [3, 6) decay, rank 2 [6, 9) no decay, rank 3 [9, 12) padding only.</example>
public sealed class FlatLayout
{
    /// <summary>Lays out <paramref name="parameters"/> (name, shape, decays?) for <paramref name="worldSize"/> ranks.</summary>
    public FlatLayout(IReadOnlyList<(string Name, long[] Shape, bool Decay)> parameters, int worldSize)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        var slots = new List<FlatSlot>();
        long offset = 0;
        foreach (var decay in new[] { true, false })
            foreach (var p in parameters.Where(p => p.Decay == decay))
            {
                long count = p.Shape.Aggregate(1L, (a, b) => a * b);
                slots.Add(new FlatSlot(p.Name, p.Shape, offset, count));
                offset += count;
                if (decay) DecayCount = offset;
            }
        Slots = slots;
        Total = offset;
        WorldSize = worldSize;
        ShardSize = Math.Max(1, (Total + worldSize - 1) / worldSize);
        Padded = ShardSize * worldSize;
    }

    /// <summary>Parameters in buffer order.</summary>
    public IReadOnlyList<FlatSlot> Slots { get; }

    /// <summary>Elements of all parameters.</summary>
    public long Total { get; }

    /// <summary>Elements of the weight-decayed parameters (they occupy [0, DecayCount)).</summary>
    public long DecayCount { get; }

    /// <summary>Ranks.</summary>
    public int WorldSize { get; }

    /// <summary>Elements per rank's shard.</summary>
    public long ShardSize { get; }

    /// <summary>Buffer length (Total rounded up to a multiple of the world size).</summary>
    public long Padded { get; }

    /// <summary>The decayed and non-decayed runs of <paramref name="rank"/>'s shard, as (start in the shard, length); empty runs omitted.</summary>
    public IReadOnlyList<(long Start, long Length, bool Decay)> Runs(int rank)
    {
        long begin = rank * ShardSize, end = begin + ShardSize;
        var runs = new List<(long, long, bool)>();
        long decayEnd = Math.Min(end, DecayCount);
        if (decayEnd > begin) runs.Add((0, decayEnd - begin, true));
        long restBegin = Math.Max(begin, DecayCount);
        if (end > restBegin) runs.Add((restBegin - begin, end - restBegin, false));
        return runs;
    }

    /// <summary>A fingerprint of names and sizes (not world size), stored with checkpoint shards to refuse another model.</summary>
    public string Signature => string.Join(";", Slots.Select(s => $"{s.Name}:{s.Count}"));
}
