using static TorchSharp.torch;

namespace FineR1.Training.Optimization;

/// <summary>
/// Gradient accumulation over micro-batches (docs/method.md §5.3 step 5: a mini-batch of rows processed 4 rows at a time; each
/// micro-batch loss is divided by the number of micro-batches before <c>backward</c>, so gradients are their average).
/// </summary>
public static class GradientAccumulation
{
    /// <summary>Consecutive row ranges of at most <paramref name="microBatchSize"/> rows covering <paramref name="rows"/>.</summary>
    /// <example>rows 10, micro 4 → [0..4), [4..8), [8..10).</example>
    public static IReadOnlyList<Range> MicroBatches(int rows, int microBatchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(microBatchSize);
        var ranges = new List<Range>();
        for (int start = 0; start < rows; start += microBatchSize)
            ranges.Add(start..Math.Min(rows, start + microBatchSize));
        return ranges;
    }

    /// <summary>
    /// Runs <paramref name="lossOf"/> on every micro-batch of <paramref name="rows"/> rows and back-propagates
    /// <c>loss / count</c> (the reference's <c>loss / gradient_accumulation</c>). Each micro-batch runs in its own dispose
    /// scope, so activations are freed before the next. Returns the mean of the unscaled micro-batch losses.
    /// </summary>
    public static double Accumulate(int rows, int microBatchSize, Func<Range, Tensor> lossOf)
    {
        ArgumentNullException.ThrowIfNull(lossOf);
        var batches = MicroBatches(rows, microBatchSize);
        double total = 0;
        foreach (var range in batches)
        {
            using var scope = NewDisposeScope();
            var loss = lossOf(range);
            (loss / batches.Count).backward();
            total += loss.detach().cpu().to_type(ScalarType.Float64).item<double>();
        }
        return batches.Count == 0 ? 0 : total / batches.Count;
    }
}
