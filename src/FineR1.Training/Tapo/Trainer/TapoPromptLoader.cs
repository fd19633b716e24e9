namespace FineR1.Training.Tapo.Trainer;

/// <summary>
/// The reference's prompt dataloader (docs/method.md §5.3): batches of <c>PromptsPerDraw</c> sample indices, shuffled per epoch
/// with a seeded permutation, <c>drop_last</c>, wrapping to a new epoch when exhausted. The permutation of epoch e uses
/// <c>new Random(seed + e)</c> (not torch's generator, so the order differs from the reference's).
/// </summary>
public sealed class TapoPromptLoader
{
    private readonly int _count;
    private readonly int _batch;
    private readonly int _seed;
    private int[] _order;

    /// <summary>Creates the loader over <paramref name="count"/> samples.</summary>
    /// <exception cref="ArgumentException">Fewer samples than one batch.</exception>
    public TapoPromptLoader(int count, int batchSize, int seed, int epoch = 0, int position = 0)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be ≥ 1.");
        if (count < batchSize) throw new ArgumentException($"{count} samples cannot fill one draw of {batchSize} prompts (drop_last).", nameof(count));
        _count = count; _batch = batchSize; _seed = seed;
        Epoch = epoch; Position = position;
        _order = Permutation(epoch);
    }

    /// <summary>Current epoch (0-based).</summary>
    public int Epoch { get; private set; }

    /// <summary>Index of the next batch within the epoch.</summary>
    public int Position { get; private set; }

    /// <summary>Batches per epoch (<c>floor(count / batch)</c>).</summary>
    public int BatchesPerEpoch => _count / _batch;

    /// <summary>The next batch of sample indices.</summary>
    public IReadOnlyList<int> Next()
    {
        if (Position >= BatchesPerEpoch)
        {
            Epoch++;
            Position = 0;
            _order = Permutation(Epoch);
        }
        var batch = _order.AsSpan(Position * _batch, _batch).ToArray();
        Position++;
        return batch;
    }

    private int[] Permutation(int epoch)
    {
        var order = Enumerable.Range(0, _count).ToArray();
        new Random(unchecked(_seed + epoch)).Shuffle(order);
        return order;
    }
}
