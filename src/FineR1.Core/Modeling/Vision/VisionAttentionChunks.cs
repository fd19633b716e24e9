using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Vision;

/// <summary>
/// The segments one attention pass is restricted to (HF <c>cu_seqlens</c>: per frame for full-attention blocks, per
/// window for the others), arranged so that attention runs as a few batched SDPA calls instead of one per segment.
/// </summary>
/// <remarks>
/// Segments are grouped by length, in order of first appearance. Rows are gathered so that each group is contiguous,
/// each group is viewed as <c>[segments, length, …]</c> and attended in one call, and the result is scattered back.
/// Every row still attends exactly to the rows of its own segment, so this is the HF computation, not an
/// approximation. Index tensors are created in the caller's dispose scope (one forward), and built once per forward
/// for all blocks that share the segmentation.
/// <example>
/// <c>cu_seqlens = [0, 16, 32, 40, 48]</c> (lengths 16, 16, 8, 8) gives groups (2 × 16) and (2 × 8); since those
/// happen to be in order already, no gather is needed. <c>[0, 16, 24, 40]</c> (16, 8, 16) gives groups (2 × 16) over
/// rows 0–15 and 24–39, then (1 × 8) over rows 16–23, with a gather and a scatter.
/// </example>
/// </remarks>
public sealed class VisionAttentionChunks
{
    /// <summary>Segment boundaries, starting at 0 and ending at the sequence length.</summary>
    public IReadOnlyList<long> CuSeqlens { get; }
    /// <summary>Groups of equal-length segments: how many segments, and their common length, in gather order.</summary>
    public IReadOnlyList<(long Count, long Length)> Groups { get; }
    /// <summary>Rows in grouped order (<c>[S]</c> int64 on the model device), or null when already in that order.</summary>
    public Tensor? Gather { get; }
    /// <summary>Inverse of <see cref="Gather"/>, or null.</summary>
    public Tensor? Scatter { get; }
    /// <summary>Total rows covered.</summary>
    public long SequenceLength => CuSeqlens[^1];

    /// <summary>Plans the segments of <paramref name="cuSeqlens"/> (non-decreasing, starting at 0).</summary>
    /// <exception cref="ArgumentException">Boundaries do not start at 0 or decrease.</exception>
    public VisionAttentionChunks(IReadOnlyList<long> cuSeqlens, Device device)
    {
        if (cuSeqlens.Count == 0 || cuSeqlens[0] != 0)
            throw new ArgumentException("cu_seqlens must start at 0.", nameof(cuSeqlens));
        CuSeqlens = cuSeqlens.ToArray();
        var byLength = new Dictionary<long, List<long>>();   // length -> segment starts
        var order = new List<long>();
        for (int i = 1; i < cuSeqlens.Count; i++)
        {
            long length = cuSeqlens[i] - cuSeqlens[i - 1];
            if (length < 0) throw new ArgumentException($"cu_seqlens decreases at {i}.", nameof(cuSeqlens));
            if (length == 0) continue;
            if (!byLength.TryGetValue(length, out var starts))
            {
                byLength[length] = starts = [];
                order.Add(length);
            }
            starts.Add(cuSeqlens[i - 1]);
        }
        Groups = order.Select(l => ((long)byLength[l].Count, l)).ToArray();

        var rows = new long[SequenceLength];
        long k = 0;
        foreach (var length in order)
            foreach (var start in byLength[length])
                for (long r = 0; r < length; r++) rows[k++] = start + r;
        bool identity = true;
        for (long i = 0; i < rows.LongLength && identity; i++) identity = rows[i] == i;
        if (!identity)
        {
            Gather = tensor(rows, dtype: ScalarType.Int64, device: device);
            Scatter = tensor(Qwen2_5_VisionIndexing.Inverse(rows), dtype: ScalarType.Int64, device: device);
        }
    }
}
