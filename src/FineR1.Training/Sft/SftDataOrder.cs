namespace FineR1.Training.Sft;

/// <summary>
/// The order examples are visited in: a seeded shuffle per epoch (<c>Random(seed + epoch)</c>, Fisher–Yates), so any
/// epoch's order can be recomputed on resume without storing it. .NET's seeded <see cref="Random"/> is stable across
/// runtime versions.
/// </summary>
public static class SftDataOrder
{
    /// <summary>A permutation of <c>0 .. count-1</c> for <paramref name="epoch"/>.</summary>
    /// <example>The same (count, seed, epoch) always gives the same permutation; epochs differ from each other.</example>
    public static int[] ForEpoch(int count, int seed, int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var order = Enumerable.Range(0, count).ToArray();
        var rng = new Random(unchecked(seed * 1_000_003 + epoch));
        for (int i = count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>Optimizer steps per epoch: <c>ceil(ceil(count / micro) / accumulation)</c> (the last step of an epoch
    /// may have fewer micro-batches, as HF Trainer's).</summary>
    public static int StepsPerEpoch(int count, int microBatchSize, int accumulationSteps)
    {
        int micro = (count + microBatchSize - 1) / microBatchSize;
        return (micro + accumulationSteps - 1) / accumulationSteps;
    }
}
